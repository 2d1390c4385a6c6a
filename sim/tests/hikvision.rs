//! The agent's Hikvision adapter against the simulated NVR, over real HTTP
//! with digest auth.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

const T: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_the_nvr_and_sees_it_change() {
    let one = common::start(&["nvr-depan"]).await;
    let nvr = one.recorder("nvr-depan", T);
    let r = nvr.probe().await;
    assert!(r.reachable, "{r:?}");
    assert_eq!(r.model.as_deref(), Some("DS-7608NI-K2/8P"));
    assert_eq!(r.overwrite, Some(true));
    assert!(r.clock_skew_s.unwrap().abs() <= 2, "{r:?}");
    assert_eq!(r.disks.len(), 2);
    assert!(r.disks.iter().all(|d| d.healthy && d.free_bytes == Some(0)));
    for ch in &r.channels {
        assert_eq!(
            (ch.online, ch.recording),
            (Some(true), Some(true)),
            "{ch:?}"
        );
        assert!(ch.segment_age_s.unwrap() < 30, "{ch:?}");
    }

    {
        let mut s = one.state("nvr-depan");
        s.channels[0].recording = false;
        s.channels[0].stopped_at =
            Some(jiff::Timestamp::now() - jiff::SignedDuration::from_mins(20));
        s.channels[1].online = false;
        s.disks[1].status = "error".into();
    }
    let r = nvr.probe().await;
    assert_eq!(r.channels[0].recording, Some(false));
    let age = r.channels[0].segment_age_s.unwrap();
    assert!(
        (1190..1300).contains(&age),
        "the newest segment ended 20 minutes ago: {age}s"
    );
    assert_eq!(r.channels[1].online, Some(false));
    assert!(!r.disks[1].healthy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_a_hung_nvr_are_reported() {
    let one = common::start(&["nvr-depan"]).await;
    one.state("nvr-depan").auth.password = "changed".into();
    let r = one.recorder("nvr-depan", T).probe().await;
    assert_eq!(r.error.as_deref(), Some("wrong username or password"));
    one.state("nvr-depan").hang = true;
    let r = one
        .recorder("nvr-depan", Duration::from_millis(300))
        .probe()
        .await;
    assert!(!r.reachable);
    assert_eq!(r.error.as_deref(), Some("no answer within 300ms"));
}
