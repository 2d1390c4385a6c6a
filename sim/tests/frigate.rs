//! The agent's Frigate adapter against the simulated Frigate `frigate-pos`,
//! over real HTTP: the report a user depends on, and how it changes when
//! Frigate's cameras and disk do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use ronda_agent::http::Clients;
use ronda_agent::probe::{with_deadline, ProbeError};
use ronda_agent::recorders::frigate::Frigate;
use ronda_agent::recorders::{Adapter, ChannelConfig, RecorderConfig, Watched};
use ronda_sim::state::{lock, DeviceState, Patch, SimDisk};

const MIB: u64 = 1024 * 1024;
const ID: &str = "frigate-pos";
const HOUR: Duration = Duration::from_secs(3600);

struct Nvr {
    one: common::One,
    cfg: RecorderConfig,
}

impl Nvr {
    async fn start(timeout: Duration, lookback: Duration, cams: &[&str], disk: bool) -> Nvr {
        let mut device = common::device(ID);
        if disk {
            device.disks = vec![SimDisk {
                id: "0".into(),
                status: "ok".into(),
                capacity_mb: 476_940,
                free_mb: 100_000,
            }];
        }
        let one = common::start_devices(vec![device]).await;
        let mut cfg = one.recorder_config(ID);
        (cfg.timeout, cfg.lookback) = (timeout, lookback);
        cfg.channels = cams
            .iter()
            .map(|id| ChannelConfig {
                id: (*id).into(),
                name: None,
                zone: "perimeter".into(),
                url: None,
                path: None,
            })
            .collect();
        Nvr { one, cfg }
    }

    async fn default() -> Nvr {
        Nvr::start(Duration::from_secs(3), HOUR, &["depan", "halaman"], false).await
    }

    fn change(&self, f: impl FnOnce(&mut DeviceState)) {
        f(&mut lock(&self.one.sim.device(ID).unwrap().state));
    }

    async fn report(&self) -> ronda_wire::Recorder {
        Watched::new(self.cfg.clone(), &Clients::new().unwrap())
            .probe()
            .await
    }
}

/// A whole second: the simulated segments end on one.
fn whole_second(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap()
}

fn stop(cam: &str, at: Timestamp) -> impl FnOnce(&mut DeviceState) + '_ {
    move |s| {
        let p = Patch {
            channel: Some(cam.into()),
            recording: Some(false),
            ..Patch::default()
        };
        p.apply(s, at).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_cameras_storage_and_the_newest_segments() {
    let nvr = Nvr::default().await;
    let r = nvr.report().await;
    assert!(r.reachable, "{r:?}");
    assert_eq!(r.kind, "frigate");
    assert_eq!(r.model.as_deref(), Some("Frigate"));
    assert_eq!(r.firmware.as_deref(), Some("0.14.1-f4f3cfa"));
    // Frigate's clock is its stats' time, a snapshot up to a minute old.
    assert!(r.clock_skew_s.unwrap().abs() <= 61, "{r:?}");
    assert!(r
        .detected
        .contains(&"clock: /api/stats service.last_updated".to_owned()));
    let disks: Vec<_> = r
        .disks
        .iter()
        .map(|d| (d.id.as_str(), d.status.as_str(), d.healthy))
        .collect();
    assert_eq!(disks, [("/media/frigate/recordings", "ext4", true)]);
    assert_eq!(r.disks[0].capacity_bytes, Some(953_869 * MIB));
    assert_eq!(r.disks[0].free_bytes, Some(412_345 * MIB));
    for ch in &r.channels {
        assert_eq!(
            (ch.online, ch.recording, &ch.error),
            (Some(true), None, &None),
            "{ch:?}"
        );
        assert!(ch.segment_age_s.unwrap() < 30, "{ch:?}");
    }

    // Camera "depan" loses its stream and stops recording half an hour ago.
    let stopped = whole_second(Timestamp::now()) - SignedDuration::from_mins(30);
    nvr.change(|s| {
        stop("depan", stopped)(s);
        s.channels[0].online = false;
    });
    let r = nvr.report().await;
    let depan = &r.channels[0];
    assert_eq!(depan.online, Some(false), "0 fps is offline: {depan:?}");
    assert_eq!(depan.last_segment_end, Some(stopped), "{depan:?}");
    // Measured against Frigate's newest sign of time (halaman's segment,
    // 4 s old), a few seconds short at most.
    assert!(
        (1790..1830).contains(&depan.segment_age_s.unwrap()),
        "{depan:?}"
    );
    assert_eq!(r.channels[1].online, Some(true), "halaman unaffected");
    assert!(r.channels[1].segment_age_s.unwrap() < 30);

    // A minute passes on Frigate's clock (its segments move on with it),
    // without the test waiting for it: the stopped camera's age grows.
    nvr.change(|s| s.clock_skew_s += 60);
    let later = nvr.report().await;
    assert_eq!(later.channels[0].last_segment_end, Some(stopped));
    let (before, after) = (
        depan.segment_age_s.unwrap(),
        later.channels[0].segment_age_s.unwrap(),
    );
    assert!(
        (before + 55..before + 65).contains(&after),
        "{before} s, then {after} s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_silent_for_hours_is_found_in_an_older_window() {
    let day = Duration::from_secs(86_400);
    let nvr = Nvr::start(Duration::from_secs(3), day, &["depan", "halaman"], false).await;
    let stopped = whole_second(Timestamp::now()) - SignedDuration::from_mins(200);
    nvr.change(stop("halaman", stopped));
    let r = nvr.report().await;
    assert_eq!(r.channels[1].last_segment_end, Some(stopped), "{r:?}");
    assert!(r.channels[0].segment_age_s.unwrap() < 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_recorded_within_the_lookback_is_no_segment() {
    let nvr = Nvr::default().await;
    nvr.change(stop(
        "halaman",
        Timestamp::now() - SignedDuration::from_hours(2),
    ));
    let r = nvr.report().await;
    let halaman = &r.channels[1];
    assert_eq!(
        (halaman.online, halaman.last_segment_end, &halaman.error),
        (Some(true), None, &None),
        "{halaman:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_frigate_does_not_know_is_offline_with_no_segment() {
    let nvr = Nvr::start(Duration::from_secs(3), HOUR, &["depan", "gudang"], false).await;
    let r = nvr.report().await;
    let gudang = &r.channels[1];
    assert_eq!(
        (gudang.online, gudang.last_segment_end, &gudang.error),
        (Some(false), None, &None),
        "{gudang:?}"
    );
    assert_eq!(r.channels[0].online, Some(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_recordings_disk_is_unhealthy() {
    let nvr = Nvr::start(Duration::from_secs(3), HOUR, &["depan"], true).await;
    let r = nvr.report().await;
    assert_eq!(
        (
            r.disks[0].healthy,
            r.disks[0].capacity_bytes,
            r.disks[0].free_bytes
        ),
        (true, Some(476_940 * MIB), Some(100_000 * MIB))
    );
    nvr.change(|s| s.disks[0].status = "error".into());
    let r = nvr.report().await;
    assert!(r.reachable, "{r:?}");
    assert_eq!(
        (r.disks[0].status.as_str(), r.disks[0].healthy),
        ("missing", false)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_frigate_times_out_within_the_configured_timeout() {
    let timeout = Duration::from_millis(300);
    let nvr = Nvr::start(timeout, HOUR, &["depan"], false).await;
    nvr.change(|s| s.hang = true);
    let frigate = Frigate::new(&nvr.cfg, &Clients::new().unwrap());
    let start = Instant::now();
    let got = with_deadline(timeout, frigate.read(Timestamp::now())).await;
    assert_eq!(got, Err(ProbeError::Timeout(timeout)));
    let took = start.elapsed();
    assert!(
        took >= timeout && took < Duration::from_millis(800),
        "{took:?}"
    );
    let r = nvr.report().await;
    assert!(!r.reachable);
    assert_eq!(r.error.as_deref(), Some("no answer within 300ms"));
}

/// Issue 17 point 8: the age is Frigate's own (its stats' time against its
/// segments), so a clock hours or a day off changes nothing; the windows
/// follow Frigate's clock too, or a skewed one would miss the segments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ages_come_from_frigates_own_clock_however_far_off_it_is() {
    for skew_h in [7, -24, 2, -7] {
        let nvr = Nvr::start(
            Duration::from_secs(3),
            3 * HOUR,
            &["depan", "halaman"],
            false,
        )
        .await;
        nvr.change(|s| {
            let p = Patch {
                clock_skew_s: Some(skew_h * 3600),
                channel: Some("halaman".into()),
                recording: Some(false),
                ..Patch::default()
            };
            p.apply(s, Timestamp::now() - SignedDuration::from_hours(2))
                .unwrap();
        });
        let r = nvr.report().await;
        let ages: Vec<_> = r.channels.iter().map(|c| c.segment_age_s).collect();
        assert!(ages[0].unwrap() < 30, "skew {skew_h} h: {r:?}");
        assert!(
            (7130..7230).contains(&ages[1].unwrap()),
            "skew {skew_h} h: {r:?}"
        );
    }
}
