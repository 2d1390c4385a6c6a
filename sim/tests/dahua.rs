//! The agent's Dahua adapter against the simulated recorder, over real HTTP
//! with digest auth; every file finder it opens is destroyed again.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

const T: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_the_recorder_and_sees_it_change() {
    let one = common::start(&["dvr-gudang"]).await;
    let dvr = one.recorder("dvr-gudang", T);
    let r = dvr.probe().await;
    assert!(r.reachable, "{r:?}");
    assert_eq!(r.model.as_deref(), Some("DH-XVR5108HS-4KL-I2"));
    assert!(r
        .firmware
        .as_deref()
        .unwrap()
        .starts_with("4.001.0000000.3.R"));
    assert!(r.clock_skew_s.unwrap().abs() <= 2, "{r:?}");
    assert_eq!((r.disks.len(), r.disks[0].healthy), (1, true));
    assert_eq!(r.disks[0].free_bytes, Some(120_000 * 1_048_576));
    for ch in &r.channels {
        assert_eq!(ch.recording, Some(true), "{ch:?}");
        assert!(ch.segment_age_s.unwrap() < 30, "{ch:?}");
    }
    assert_eq!(
        one.state("dvr-gudang").open_finders,
        0,
        "every finder destroyed"
    );

    {
        let mut s = one.state("dvr-gudang");
        s.channels[1].recording = false;
        s.channels[1].stopped_at =
            Some(jiff::Timestamp::now() - jiff::SignedDuration::from_mins(30));
        s.disks[0].status = "Error".into();
    }
    let r = dvr.probe().await;
    assert_eq!(r.channels[1].recording, Some(false));
    let age = r.channels[1].segment_age_s.unwrap();
    assert!((1790..1900).contains(&age), "{age}");
    assert!(!r.disks[0].healthy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_search_still_closes_its_finder() {
    let one = common::start(&["dvr-gudang"]).await;
    let mut cfg = one.config.devices.recorders[0].clone();
    cfg.channels[0].id = "9".into();
    let r = ronda_agent::recorders::Watched::new(cfg, &ronda_agent::http::Clients::new().unwrap())
        .probe()
        .await;
    let err = r.channels[0].error.as_deref().unwrap();
    assert!(err.contains("Bad Request"), "{err}");
    assert_eq!(one.state("dvr-gudang").open_finders, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_a_hung_recorder_are_reported() {
    let one = common::start(&["dvr-gudang"]).await;
    one.state("dvr-gudang").auth.password = "changed".into();
    let r = one.recorder("dvr-gudang", T).probe().await;
    assert_eq!(r.error.as_deref(), Some("wrong username or password"));
    one.state("dvr-gudang").hang = true;
    let r = one
        .recorder("dvr-gudang", Duration::from_millis(300))
        .probe()
        .await;
    assert_eq!(r.error.as_deref(), Some("no answer within 300ms"));
}
