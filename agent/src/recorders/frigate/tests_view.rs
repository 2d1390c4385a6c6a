//! The Frigate viewer against a stand-in Frigate over real HTTP (no login,
//! as on Frigate's internal port), serving `sim/fixtures/frigate/stats.json`
//! (Frigate v0.14.1 source) and pictures as /root/i23/VENDOR.md lays out
//! from the Frigate HTTP API document.

use std::sync::{Arc, Mutex};

use ronda_wire::ViewEvent;

use crate::probe::ProbeError;
use crate::recorders::picture::rig::{self, fixture, jpeg, secs, Login, Reply, CAP};
use crate::recorders::picture::tests::sample;
use crate::recorders::RecorderKind::Frigate;

#[tokio::test]
async fn the_latest_frame_is_asked_360_rows_high() {
    let (server, viewer) = rig::start(Frigate, Login::Open, secs(5), |r| {
        if r.target == "/api/depan/latest.jpg?h=360" {
            jpeg(200, sample(5))
        } else {
            Reply::status(404, "")
        }
    })
    .await;
    assert_eq!(viewer.snapshot("depan", CAP).await.unwrap(), sample(5));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn an_unknown_camera_says_what_frigate_said() {
    let (_server, viewer) = rig::start(Frigate, Login::Open, secs(5), |_| Reply::Body {
        status: 404,
        content_type: "application/json",
        body: r#"{"success": false, "message": "Camera not found"}"#.into(),
    })
    .await;
    let e = viewer.snapshot("belakang", CAP).await.unwrap_err();
    assert_eq!(e.to_string(), "Frigate says: Camera not found");
}

#[tokio::test]
async fn a_camera_name_cannot_leave_its_path_segment() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&seen);
    let (_server, viewer) = rig::start(Frigate, Login::Open, secs(5), move |r| {
        log.lock().unwrap().push(r.target.clone());
        Reply::status(404, "")
    })
    .await;
    let _ = viewer.snapshot("../stats?x=", CAP).await;
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        ["/api/..%2Fstats%3Fx%3D/latest.jpg?h=360"]
    );
}

#[tokio::test]
async fn a_frame_past_the_cap_or_a_hang_is_no_picture() {
    let (_server, viewer) =
        rig::start(Frigate, Login::Open, secs(5), |_| Reply::Huge(3 << 20)).await;
    assert_eq!(
        viewer.snapshot("depan", CAP).await,
        Err(ProbeError::TooLarge(CAP))
    );
    let (_server, viewer) = rig::start(Frigate, Login::Open, secs(1), |_| Reply::Hang).await;
    let e = viewer.snapshot("depan", CAP).await.unwrap_err();
    assert!(matches!(e, ProbeError::Timeout(_)), "{e:?}");
}

#[tokio::test]
async fn a_camera_at_zero_fps_has_lost_its_video_and_one_stats_read_serves_all() {
    let (server, viewer) = rig::start(Frigate, Login::Open, secs(5), |r| {
        if r.target == "/api/stats" {
            Reply::json(fixture("frigate", "stats.json"))
        } else {
            Reply::status(404, "")
        }
    })
    .await;
    assert_eq!(
        viewer.events("halaman").await.unwrap(),
        [ViewEvent::VideoLoss]
    );
    assert_eq!(viewer.events("depan").await.unwrap(), []);
    let e = viewer.events("belakang").await.unwrap_err();
    assert_eq!(e.to_string(), "camera `belakang` is not in Frigate's stats");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn the_clock_is_frigates_stats_time() {
    let (_server, viewer) = rig::start(Frigate, Login::Open, secs(5), |_| {
        Reply::json(fixture("frigate", "stats.json"))
    })
    .await;
    let t = viewer.clock().await.unwrap();
    assert!(t >= "2018-06-11T01:00:00Z".parse().unwrap(), "{t}");
}
