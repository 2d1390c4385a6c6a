//! The agent's ONVIF adapter against the simulated Profile G recorder.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_the_device_and_its_newest_recording() {
    let one = common::start(&["nvr-aula"]).await;
    let nvr = one.recorder("nvr-aula", Duration::from_secs(3));
    let r = nvr.probe().await;
    assert!(r.reachable, "{r:?}");
    assert_eq!(r.model.as_deref(), Some("Ronda Sim NVR-ONVIF-4"));
    assert!(r.clock_skew_s.unwrap().abs() <= 2);
    assert!(r.channels[0].segment_age_s.unwrap() < 30, "{r:?}");

    {
        let mut s = one.state("nvr-aula");
        s.channels[0].recording = false;
        s.channels[0].stopped_at =
            Some(jiff::Timestamp::now() - jiff::SignedDuration::from_mins(45));
    }
    let age = nvr.probe().await.channels[0].segment_age_s.unwrap();
    assert!(
        (2690..2800).contains(&age),
        "DataUntil stopped advancing: {age}s"
    );

    one.state("nvr-aula").auth.password = "changed".into();
    assert_eq!(
        nvr.probe().await.error.as_deref(),
        Some("wrong username or password")
    );
    one.state("nvr-aula").hang = true;
    let r = one
        .recorder("nvr-aula", Duration::from_millis(300))
        .probe()
        .await;
    assert_eq!(r.error.as_deref(), Some("no answer within 300ms"));
}
