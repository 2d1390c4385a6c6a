//! Reports of a simulated agent: K devices of the kinds an office has
//! (recorders with front-road and interior cameras, smart plugs, a public
//! service), with the faults the fleet was asked for.
//!
//! A report is rendered once to JSON with placeholders; each publish only
//! swaps in the seq and the send time, so that the fleet spends its CPU on
//! MQTT and not on serialising, and the server's cost is what shows.

use jiff::Timestamp;
use ronda_wire::{Channel, Host, Id, Memory, Plug, Recorder, Report, Service, SCHEMA_VERSION};

/// Faults of one agent, fixed for the run.
#[derive(Debug, Clone, Copy, Default)]
pub struct AgentFaults {
    /// A plug the letter wants off (a dispenser) is on.
    pub plug_on: bool,
    /// The first recorder's front-road camera has stopped recording.
    pub not_recording: bool,
}

/// Placeholder send time, replaced on every publish.
const SENTINEL_TIME: &str = "2000-01-01T00:00:00Z";

/// A report rendered once, stamped many times.
#[derive(Debug, Clone)]
pub struct Template {
    /// JSON up to the seq value, between seq and the time, and after it.
    head: String,
    middle: String,
    tail: String,
}

impl Template {
    pub fn new(office: &Id, agent: &Id, devices: usize, faults: AgentFaults) -> Template {
        let report = report(office, agent, devices, faults);
        let json = serde_json::to_string(&report).unwrap_or_default();
        // serde writes fields in declaration order: "seq" comes before
        // "observed_at", and both come before any device text.
        let seq = "\"seq\":0";
        let time = format!("\"observed_at\":\"{SENTINEL_TIME}\"");
        let (head, rest) = json.split_once(seq).unwrap_or((&json, ""));
        let (middle, tail) = rest.split_once(&time).unwrap_or((rest, ""));
        Template {
            head: format!("{head}\"seq\":"),
            middle: format!("{middle}\"observed_at\":\""),
            tail: format!("\"{tail}"),
        }
    }

    /// The report with this seq, sent now: its `observed_at` is the send
    /// time, from which the server side can measure latency.
    pub fn stamp(&self, seq: u64, sent: Timestamp) -> String {
        let mut s =
            String::with_capacity(self.head.len() + self.middle.len() + self.tail.len() + 48);
        s.push_str(&self.head);
        s.push_str(&seq.to_string());
        s.push_str(&self.middle);
        s.push_str(&sent.to_string());
        s.push_str(&self.tail);
        s
    }
}

fn report(office: &Id, agent: &Id, devices: usize, faults: AgentFaults) -> Report {
    let (mut recorders, mut plugs) = (Vec::new(), Vec::new());
    for n in 0..devices {
        // Roughly the mix of an office: one recorder for every two plugs.
        if n % 3 == 0 {
            recorders.push(recorder(
                recorders.len(),
                faults.not_recording && recorders.is_empty(),
            ));
        } else {
            plugs.push(plug(plugs.len(), faults.plug_on));
        }
    }
    Report {
        schema: SCHEMA_VERSION,
        office: office.clone(),
        agent: agent.clone(),
        seq: 0,
        observed_at: SENTINEL_TIME.parse().unwrap_or_default(),
        host: Some(host(office)),
        recorders,
        plugs,
        services: vec![Service {
            id: "public-portal".into(),
            url: format!("https://{office}.example.go.id/"),
            reachable: true,
            status: Some(200),
            status_ok: Some(true),
            latency_ms: Some(48),
            body_matched: Some(true),
            tls_days_left: Some(64),
            ..Service::default()
        }],
        access: Vec::new(),
        delivery: None,
    }
}

fn recorder(n: usize, front_stopped: bool) -> Recorder {
    let kinds = ["hikvision", "dahua", "onvif"];
    let channel = |id: &str, zone: &str, recording: bool| Channel {
        id: id.into(),
        name: Some(format!("Kamera {id}")),
        zone: zone.into(),
        online: Some(true),
        recording: Some(recording),
        segment_age_s: Some(12),
        ..Channel::default()
    };
    Recorder {
        id: format!("nvr-{n}"),
        kind: kinds[n % kinds.len()].into(),
        reachable: true,
        model: Some("DS-7608NI-K2".into()),
        firmware: Some("V4.30.005".into()),
        clock_skew_s: Some(1),
        overwrite: Some(true),
        disks: vec![ronda_wire::RecorderDisk {
            id: "1".into(),
            status: "ok".into(),
            healthy: true,
            capacity_bytes: Some(4 << 40),
            free_bytes: Some(1 << 40),
        }],
        channels: vec![
            channel("1", "front-road", !front_stopped),
            channel("2", "interior", true),
            channel("3", "interior", true),
            channel("4", "parking", true),
        ],
        ..Recorder::default()
    }
}

fn plug(n: usize, dispenser_on: bool) -> Plug {
    // The first plug feeds the server rack, which must stay on; the others
    // are things the letter wants switched off.
    let (class, on, watts) = match n {
        0 => ("server", true, 210.0),
        1 => (
            "dispenser",
            dispenser_on,
            if dispenser_on { 85.0 } else { 0.0 },
        ),
        2 => ("cctv-monitor", true, 25.0),
        _ => ("printer", false, 0.0),
    };
    let kinds = ["tasmota", "shelly-gen1", "shelly-rpc"];
    Plug {
        id: format!("plug-{n}-{class}"),
        kind: kinds[n % kinds.len()].into(),
        class: class.into(),
        reachable: true,
        relay_on: Some(on),
        power_w: Some(watts),
        voltage_v: Some(221.5),
        current_a: Some(watts / 221.5),
        ..Plug::default()
    }
}

fn host(office: &Id) -> Host {
    let gib = 1u64 << 30;
    let boot: Timestamp = "2026-11-20T01:00:00Z".parse().unwrap_or_default();
    Host {
        hostname: format!("{office}-gw"),
        os: "Debian GNU/Linux 12".into(),
        kernel: "6.1.0-28-amd64".into(),
        uptime_s: 9 * 86_400,
        boot_time: boot,
        load: [0.12, 0.08, 0.05],
        cpu_percent: 3.5,
        cpu_count: 4,
        memory: Memory {
            total_bytes: 8 * gib,
            available_bytes: 5 * gib,
            swap_total_bytes: 2 * gib,
            swap_used_bytes: 0,
        },
        disks: vec![ronda_wire::Disk {
            mount: "/".into(),
            fs: "ext4".into(),
            total_bytes: 240 * gib,
            available_bytes: 180 * gib,
        }],
        temperatures: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamped_report_is_valid_and_carries_its_seq_and_send_time() {
        let (office, agent) = (Id::new("o1").unwrap(), Id::new("gw").unwrap());
        let faults = AgentFaults {
            plug_on: true,
            not_recording: true,
        };
        let t = Template::new(&office, &agent, 10, faults);
        let sent: Timestamp = "2026-12-06T08:00:00.123Z".parse().unwrap();
        let json = t.stamp(42, sent);
        let topic = ronda_wire::Topic::new(office, agent, ronda_wire::Kind::Report);
        let r = ronda_wire::decode_report(&topic, json.as_bytes(), 1 << 20).unwrap();
        assert_eq!((r.seq, r.observed_at), (42, sent));
        assert_eq!(r.recorders.len() + r.plugs.len(), 10);
        assert_eq!(r.recorders[0].channels[0].recording, Some(false));
        let dispenser = r.plugs.iter().find(|p| p.class == "dispenser").unwrap();
        assert_eq!(dispenser.relay_on, Some(true));
    }
}
