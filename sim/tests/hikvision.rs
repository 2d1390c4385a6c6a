//! The agent's Hikvision adapter against the simulated NVR `nvr-depan`, over
//! real HTTP with digest MD5: the report a user depends on, and how it
//! changes when the NVR does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use ronda_agent::conffile::Secret;
use ronda_agent::http::{Clients, Creds};
use ronda_agent::probe::{with_deadline, ProbeError};
use ronda_agent::recorders::hikvision::Hikvision;
use ronda_agent::recorders::{Adapter, RecorderConfig, Watched};
use ronda_sim::state::{lock, DeviceState, Patch};

const MIB: u64 = 1024 * 1024;

struct Nvr {
    one: common::One,
    cfg: RecorderConfig,
}

impl Nvr {
    async fn start(password: &str, timeout: Duration, lookback: Duration) -> Nvr {
        let one = common::start(&["nvr-depan"]).await;
        let mut cfg = one.recorder_config("nvr-depan");
        cfg.creds = Some(Creds {
            username: "admin".into(),
            password: Secret::new(password),
        });
        (cfg.timeout, cfg.lookback) = (timeout, lookback);
        Nvr { one, cfg }
    }

    fn change(&self, f: impl FnOnce(&mut DeviceState)) {
        f(&mut lock(&self.one.sim.device("nvr-depan").unwrap().state));
    }

    async fn report(&self) -> ronda_wire::Recorder {
        Watched::new(self.cfg.clone(), &clients()).probe().await
    }
}

/// The agent's shared HTTP clients, made in one place.
fn clients() -> Clients {
    Clients::new().unwrap()
}

/// A whole second: the NVR writes times to the second.
fn whole_second(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_the_nvr_and_sees_it_change() {
    let nvr = Nvr::start(
        "Kantor2018",
        Duration::from_secs(3),
        Duration::from_secs(3600),
    )
    .await;
    let r = nvr.report().await;
    assert!(r.reachable, "{r:?}");
    assert_eq!(r.kind, "hikvision");
    assert_eq!(r.model.as_deref(), Some("DS-7608NI-K2/8P"));
    assert_eq!(r.firmware.as_deref(), Some("V4.22.005 build 191206"));
    assert!(r.clock_skew_s.unwrap().abs() <= 2, "{r:?}");
    assert_eq!(r.overwrite, Some(true));
    let disks: Vec<_> = r
        .disks
        .iter()
        .map(|d| (d.id.as_str(), d.status.as_str(), d.healthy))
        .collect();
    assert_eq!(disks, [("1", "ok", true), ("2", "ok", true)]);
    assert_eq!(r.disks[0].capacity_bytes, Some(1_907_729 * MIB));
    assert_eq!(r.disks[0].free_bytes, Some(0));
    let zones: Vec<_> = r
        .channels
        .iter()
        .map(|c| (c.id.as_str(), c.zone.as_str()))
        .collect();
    assert_eq!(
        zones,
        [
            ("1", "front-road"),
            ("2", "interior"),
            ("3", "interior"),
            ("4", "perimeter")
        ]
    );
    for ch in &r.channels {
        assert_eq!(
            (ch.online, ch.recording, &ch.error),
            (Some(true), Some(true), &None),
            "{ch:?}"
        );
        assert!(ch.segment_age_s.unwrap() < 30, "{ch:?}");
    }

    // Channel 1 stops recording 20 minutes ago; channel 3 stopped before the
    // lookback; channel 2's camera goes offline; disk 2 fails; overwrite off.
    let stopped = whole_second(Timestamp::now()) - SignedDuration::from_mins(20);
    nvr.change(|s| {
        let stop = |id: &str| Patch {
            channel: Some(id.into()),
            recording: Some(false),
            ..Patch::default()
        };
        stop("1").apply(s, stopped).unwrap();
        stop("3")
            .apply(s, stopped - SignedDuration::from_hours(2))
            .unwrap();
        s.channels[1].online = false;
        s.disks[1].status = "error".into();
        s.overwrite = false;
    });
    let r = nvr.report().await;
    assert!(r.reachable, "{r:?}");
    let one = &r.channels[0];
    assert_eq!(one.recording, Some(false), "{one:?}");
    assert_eq!(one.last_segment_end, Some(stopped), "{one:?}");
    assert!(
        (1200..1230).contains(&one.segment_age_s.unwrap()),
        "{one:?}"
    );
    assert_eq!(r.channels[1].online, Some(false));
    assert_eq!(r.channels[1].recording, Some(true));
    let three = &r.channels[2];
    assert_eq!(
        (three.last_segment_end, &three.error),
        (None, &None),
        "nothing in the window: {three:?}"
    );
    assert_eq!(r.channels[3].online, Some(true));
    assert_eq!((r.disks[0].healthy, r.disks[1].healthy), (true, false));
    assert_eq!(r.disks[1].status, "error");
    assert_eq!(r.overwrite, Some(false));

    // Later, channel 1's newest segment still ends where it stopped.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = nvr.report().await;
    assert_eq!(later.channels[0].last_segment_end, Some(stopped));
    assert!(
        later.channels[0].segment_age_s > one.segment_age_s,
        "{later:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_lookback_still_finds_the_newest_segment() {
    // A week of 15-minute files is ~670 matches, listed oldest first: far
    // more than the pages the adapter reads from one window.
    let week = Duration::from_secs(7 * 86_400);
    let nvr = Nvr::start("Kantor2018", Duration::from_secs(3), week).await;
    let stopped = whole_second(Timestamp::now()) - SignedDuration::from_hours(30);
    nvr.change(|s| {
        s.channels[0].recording = false;
        s.channels[0].stopped_at = Some(stopped);
    });
    let r = nvr.report().await;
    assert_eq!(
        r.channels[0].last_segment_end,
        Some(stopped),
        "{:?}",
        r.channels[0]
    );
    assert!(
        r.channels[1].segment_age_s.unwrap() < 30,
        "{:?}",
        r.channels[1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_unauthorized() {
    let nvr = Nvr::start(
        "Kantor2019",
        Duration::from_secs(3),
        Duration::from_secs(3600),
    )
    .await;
    let adapter = Hikvision::new(&nvr.cfg, &clients());
    assert_eq!(
        adapter.read(Timestamp::now()).await,
        Err(ProbeError::Unauthorized)
    );
    let r = nvr.report().await;
    assert!(!r.reachable);
    assert_eq!(r.error.as_deref(), Some("wrong username or password"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_nvr_times_out_within_the_configured_timeout() {
    let timeout = Duration::from_millis(300);
    let nvr = Nvr::start("Kantor2018", timeout, Duration::from_secs(3600)).await;
    nvr.change(|s| s.hang = true);
    let adapter = Hikvision::new(&nvr.cfg, &clients());
    let started = Instant::now();
    let result = with_deadline(timeout, adapter.read(Timestamp::now())).await;
    let took = started.elapsed();
    assert_eq!(result, Err(ProbeError::Timeout(timeout)));
    assert!(took < timeout + Duration::from_millis(400), "took {took:?}");
    let r = nvr.report().await;
    assert!(!r.reachable);
    assert_eq!(r.error.as_deref(), Some("no answer within 300ms"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nvr_answers_only_the_track_asked_and_refuses_unknown_paths() {
    use ronda_agent::http::Device;
    use ronda_agent::recorders::hikvision::{parse_search, search_request, wall};
    use ronda_sim::hikvision::WIB;

    let nvr = Nvr::start(
        "Kantor2018",
        Duration::from_secs(3),
        Duration::from_secs(3600),
    )
    .await;
    let clients = clients();
    let dev = Device::new(
        clients.pick(false),
        &nvr.cfg.url,
        nvr.cfg.creds.clone(),
        Duration::from_secs(3),
    );
    let now = Timestamp::now();
    let (from, to) = (
        wall(now - SignedDuration::from_hours(1), WIB),
        wall(now, WIB),
    );
    let search = |track: u32| {
        let body = search_request("{T}", track, &from, &to, 0);
        let dev = dev.clone();
        async move {
            dev.post("/ISAPI/ContentMgmt/search", "application/xml", body)
                .await
                .unwrap()
        }
    };
    let page = parse_search(&search(201).await, WIB).unwrap();
    assert!(page.matches > 0 && page.newest.is_some(), "{page:?}");
    for other in [102, 501] {
        let page = parse_search(&search(other).await, WIB).unwrap();
        assert_eq!((page.matches, page.newest), (0, None), "track {other}");
    }
    match dev.get("/ISAPI/System/Nothing").await {
        Err(ProbeError::Status { status, detail }) => {
            assert_eq!(status, 404);
            assert!(detail.contains("<ResponseStatus"), "{detail}");
        }
        other => panic!("expected 404, got {other:?}"),
    }
}
