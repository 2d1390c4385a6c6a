//! Made-up readings of a plausible office, without devices behind them: the
//! fault tests run real agents on these when the devices are not the point
//! (the demo runs real agents against the simulated devices instead).

use jiff::{SignedDuration, Timestamp};
use ronda_agent::{Sections, Source};
use ronda_wire::{Channel, Disk, Host, Memory, Plug, Recorder, Service, Temperature};

pub struct MadeUpOffice {
    office: String,
    boot: Timestamp,
    rng: fastrand::Rng,
}

impl MadeUpOffice {
    pub fn new(office: &str) -> Self {
        MadeUpOffice {
            office: office.to_owned(),
            boot: Timestamp::now() - SignedDuration::from_hours(9 * 24),
            rng: fastrand::Rng::new(),
        }
    }

    fn host(&mut self, now: Timestamp) -> Host {
        let gib = 1u64 << 30;
        Host {
            hostname: format!("{}-gw", self.office),
            os: "Debian GNU/Linux 12 (simulated)".into(),
            kernel: "6.1.0".into(),
            uptime_s: u64::try_from(now.duration_since(self.boot).as_secs()).unwrap_or(0),
            boot_time: self.boot,
            load: [self.rng.f64() * 0.5, 0.2, 0.1],
            cpu_percent: 2.0 + self.rng.f32() * 10.0,
            cpu_count: 4,
            memory: Memory {
                total_bytes: 8 * gib,
                available_bytes: 5 * gib + self.rng.u64(0..gib),
                swap_total_bytes: 2 * gib,
                swap_used_bytes: 0,
            },
            disks: vec![Disk {
                mount: "/".into(),
                fs: "ext4".into(),
                total_bytes: 240 * gib,
                available_bytes: 180 * gib,
            }],
            temperatures: vec![Temperature {
                label: "coretemp Package id 0".into(),
                celsius: 45.0 + self.rng.f32() * 5.0,
                critical_celsius: Some(100.0),
            }],
        }
    }

    fn channel(&mut self, id: &str, zone: &str, now: Timestamp) -> Channel {
        let age = SignedDuration::from_secs(self.rng.i64(1..20));
        Channel {
            id: id.into(),
            zone: zone.into(),
            online: Some(true),
            last_segment_end: Some(now - age),
            // As an agent reports it: the age on the recorder's own clock.
            segment_age_s: Some(age.as_secs().unsigned_abs()),
            ..Channel::default()
        }
    }

    fn plug(&mut self, id: &str, class: &str, on: bool, watts: f32) -> Plug {
        let power = if on {
            watts * (0.9 + self.rng.f32() * 0.2)
        } else {
            0.0
        };
        Plug {
            id: id.into(),
            kind: "tasmota".into(),
            class: class.into(),
            reachable: true,
            error: None,
            relay_on: Some(on),
            power_w: Some(power),
            voltage_v: Some(220.0 + self.rng.f32() * 4.0),
            current_a: Some(power / 220.0),
            temperature_c: None,
            faults: Vec::new(),
            ..Plug::default()
        }
    }
}

impl Source for MadeUpOffice {
    async fn collect(&mut self) -> Sections {
        let now = Timestamp::now();
        let channels = vec![
            self.channel("1", "front-road", now),
            self.channel("2", "interior", now),
        ];
        Sections {
            host: Some(self.host(now)),
            recorders: vec![Recorder {
                id: "nvr-1".into(),
                kind: "hikvision".into(),
                reachable: true,
                error: None,
                channels,
                ..Recorder::default()
            }],
            plugs: vec![
                self.plug("server-rack", "server", true, 210.0),
                self.plug("cctv-monitor", "cctv-monitor", true, 25.0),
                self.plug("dispenser", "dispenser", false, 90.0),
            ],
            services: vec![Service {
                id: "public-portal".into(),
                url: format!("https://{}.example.go.id/", self.office),
                reachable: true,
                error: None,
                status: Some(200),
                latency_ms: Some(40 + self.rng.u32(0..60)),
                body_matched: Some(true),
                tls_days_left: Some(64),
                ..Service::default()
            }],
        }
    }
}
