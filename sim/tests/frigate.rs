//! The agent's Frigate adapter against a simulated Frigate.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_cameras_storage_and_the_newest_segments() {
    let one = common::start(&["frigate-pos"]).await;
    let frigate = one.recorder("frigate-pos", Duration::from_secs(3));
    let r = frigate.probe().await;
    assert!(r.reachable, "{r:?}");
    assert_eq!(r.firmware.as_deref(), Some("0.14.1-f4f3cfa"));
    assert_eq!(r.disks[0].capacity_bytes, Some(953_869 * 1_048_576));
    for ch in &r.channels {
        assert_eq!(ch.online, Some(true));
        assert!(ch.segment_age_s.unwrap() < 30, "{ch:?}");
    }
    {
        let mut s = one.state("frigate-pos");
        s.channels[0].online = false;
        s.channels[0].recording = false;
        s.channels[0].stopped_at = None;
    }
    let r = frigate.probe().await;
    assert_eq!(r.channels[0].online, Some(false));
    assert_eq!(
        r.channels[0].last_segment_end, None,
        "nothing recorded within the lookback"
    );
    one.state("frigate-pos").hang = true;
    let r = one
        .recorder("frigate-pos", Duration::from_millis(300))
        .probe()
        .await;
    assert_eq!(r.error.as_deref(), Some("no answer within 300ms"));
}
