//! The agent's RTSP probe against simulated cameras with digest auth.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describes_each_camera_and_tells_failures_apart() {
    let one = common::start(&["cam-gerbang"]).await;
    let cams = one.recorder("cam-gerbang", Duration::from_secs(3));
    let r = cams.probe().await;
    assert!(r.reachable, "{r:?}");
    assert!(
        r.channels
            .iter()
            .all(|c| c.online == Some(true) && c.error.is_none()),
        "{r:?}"
    );
    assert!(
        r.channels.iter().all(|c| c.last_segment_end.is_none()),
        "RTSP proves the stream, not recording"
    );

    one.state("cam-gerbang").channels[1].online = false;
    let r = cams.probe().await;
    assert_eq!(r.channels[0].online, Some(true));
    assert_eq!(r.channels[1].online, Some(false));
    assert_eq!(
        r.channels[1].error.as_deref(),
        Some("stream not found (RTSP 404)")
    );

    one.state("cam-gerbang").auth.password = "changed".into();
    let r = cams.probe().await;
    assert_eq!(r.error.as_deref(), Some("wrong username or password"));

    one.state("cam-gerbang").hang = true;
    let r = one
        .recorder("cam-gerbang", Duration::from_millis(300))
        .probe()
        .await;
    assert_eq!(r.error.as_deref(), Some("no answer within 300ms"));
}
