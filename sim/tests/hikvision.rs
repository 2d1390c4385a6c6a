//! The agent's Hikvision adapter against the simulated NVR `nvr-depan`, over
//! real HTTP with digest MD5: the report a user depends on, and how it
//! changes when the NVR does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::nvr::*;

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use ronda_agent::probe::{with_deadline, ProbeError};
use ronda_agent::recorders::hikvision::Hikvision;
use ronda_agent::recorders::{Adapter, Watched};
use ronda_common::conf::Secret;
use ronda_sim::state::lock;
use ronda_wire::PauseReason;

const MIB: u64 = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_the_nvr_and_sees_it_change() {
    let nvr = Nvr::start(PASSWORD, Duration::from_secs(3), Duration::from_secs(3600)).await;
    let r = nvr.report().await;
    assert!(r.reachable, "{r:?}");
    assert_eq!(r.kind, "hikvision");
    assert_eq!(r.model.as_deref(), Some("DS-7608NI-K2/8P"));
    assert_eq!(r.firmware.as_deref(), Some("V4.22.005 build 191206"));
    assert!(r.clock_skew_s.unwrap().abs() <= 2, "{r:?}");
    assert_eq!(r.overwrite, Some(true));
    // The simulated NVR writes its offset and searches in its wall clock:
    // one round of recording channels tells.
    assert!(
        r.detected.contains(&"search-times: wall clock".to_owned()),
        "{:?}",
        r.detected
    );
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
        assert_eq!(ch.segment_age_other_s, None, "{ch:?}");
    }

    // Channel 1 stops recording 20 minutes ago; channel 3 stopped before the
    // lookback; channel 2's camera goes offline; disk 2 fails (and reads 0
    // free, as a failed disk does); overwrite off.
    let stopped = whole_second(Timestamp::now()) - SignedDuration::from_mins(20);
    nvr.change(|s| {
        stop(s, "1", stopped);
        stop(s, "3", stopped - SignedDuration::from_hours(2));
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
    assert_eq!(
        (r.disks[1].status.as_str(), r.disks[1].free_bytes),
        ("error", Some(0))
    );
    assert_eq!(r.overwrite, Some(false));

    // A minute later on the NVR's clock, channel 1's newest segment still
    // ends where it stopped, and is a minute older.
    nvr.change(|s| s.clock_skew_s += 60);
    let later = nvr.report().await;
    assert_eq!(later.channels[0].last_segment_end, Some(stopped));
    let grown = later.channels[0].segment_age_s.unwrap() - one.segment_age_s.unwrap();
    assert!((58..=62).contains(&grown), "{later:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_lookback_still_finds_the_newest_segment() {
    // A week of 15-minute files is ~670 matches, listed oldest first: far
    // more than the pages the adapter reads from one window.
    let week = Duration::from_secs(7 * 86_400);
    let nvr = Nvr::start(PASSWORD, Duration::from_secs(3), week).await;
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
    assert_eq!(
        nvr.adapter().read(Timestamp::now()).await,
        Err(ProbeError::Unauthorized)
    );
    // The recorder is then left alone for a while (the pause names why).
    let r = nvr.report().await;
    assert!(!r.reachable);
    let error = r.error.unwrap();
    assert!(error.starts_with("wrong username or password"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_account_is_told_from_a_wrong_password() {
    let lookback = Duration::from_secs(3600);
    let nvr = Nvr::start_with("Kantor2019", Duration::from_secs(3), lookback, |s| {
        s.lock_after = 3;
    })
    .await;
    let wrong = nvr.adapter();
    for _ in 0..2 {
        assert_eq!(
            wrong.read(Timestamp::now()).await,
            Err(ProbeError::Unauthorized)
        );
    }
    // The third failed login locks the account for 30 minutes.
    let left = |e| match e {
        Err(ProbeError::Locked(Some(left))) => left,
        other => panic!("expected a lock with its time, got {other:?}"),
    };
    assert_eq!(
        left(wrong.read(Timestamp::now()).await),
        Duration::from_secs(1800)
    );
    assert_eq!(
        lock(&nvr.one.sim.device("nvr-depan").unwrap().state).failed_logins_total,
        3
    );
    // The right password is refused too, with the time still to wait.
    let mut cfg = nvr.cfg.clone();
    cfg.creds.as_mut().unwrap().password = Secret::new(PASSWORD);
    let right = Hikvision::new(&cfg, &clients());
    let still = left(right.read(Timestamp::now()).await);
    assert!((1790..=1800).contains(&still.as_secs()), "{still:?}");
    let r = Watched::new(cfg, &clients()).probe().await;
    assert_eq!(
        r.paused.map(|p| p.reason),
        Some(PauseReason::Locked),
        "{:?}",
        r.error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overwrite_setting_the_firmware_does_not_tell_is_unknown() {
    let lookback = Duration::from_secs(3600);
    let nvr = Nvr::start_with(PASSWORD, Duration::from_secs(3), lookback, |s| {
        s.overwrite_readable = false;
    })
    .await;
    let r = nvr.report().await;
    assert!(r.reachable, "{r:?}");
    assert_eq!(
        r.overwrite, None,
        "neither Storage/extension nor the tracks say"
    );
    assert!(r.channels.iter().all(|c| c.recording == Some(true)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_nvr_times_out_within_the_configured_timeout() {
    let timeout = Duration::from_millis(300);
    let nvr = Nvr::start(PASSWORD, timeout, Duration::from_secs(3600)).await;
    nvr.change(|s| s.hang = true);
    let started = Instant::now();
    let result = with_deadline(timeout, nvr.adapter().read(Timestamp::now())).await;
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
    use ronda_agent::recorders::hikvision::{parse_search, search_request, text, SearchTimes};
    use ronda_sim::hikvision::WIB;

    let nvr = Nvr::start(PASSWORD, Duration::from_secs(3), Duration::from_secs(3600)).await;
    let clients = clients();
    let dev = Device::new(
        clients.pick(false),
        &nvr.cfg.url,
        nvr.cfg.creds.clone(),
        Duration::from_secs(3),
    );
    let now = Timestamp::now();
    let wall = |t| text(SearchTimes::Wall.digits(t, WIB));
    let (from, to) = (wall(now - SignedDuration::from_hours(1)), wall(now));
    let search = |track: u32| {
        let body = search_request("{T}", track, &from, &to, 0);
        let dev = dev.clone();
        async move {
            dev.post("/ISAPI/ContentMgmt/search", "application/xml", body)
                .await
                .unwrap()
        }
    };
    let page = parse_search(&search(201).await).unwrap();
    assert!(page.matches > 0 && page.newest.is_some(), "{page:?}");
    for other in [102, 501] {
        let page = parse_search(&search(other).await).unwrap();
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

// --- ages from the recorder's own clock, whatever its firmware's times ---
