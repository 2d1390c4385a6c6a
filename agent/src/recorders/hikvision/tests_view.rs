//! The Hikvision viewer against a stand-in device over real HTTP, serving
//! the ISAPI answers of `sim/fixtures/hikvision/` (each names the ISAPI
//! document it follows) as /root/i23/VENDOR.md lays them out.

use ronda_wire::ViewEvent;

use crate::probe::ProbeError;
use crate::recorders::picture::rig::{self, fixture, jpeg, secs, Login, Reply, CAP};
use crate::recorders::picture::tests::sample;
use crate::recorders::RecorderKind::Hikvision;

const SUB: &str = "/ISAPI/Streaming/channels/102/picture";
const PROXY_SUB: &str = "/ISAPI/ContentMgmt/StreamingProxy/channels/102/picture";

fn refused() -> Reply {
    Reply::Body {
        status: 400,
        content_type: "application/xml",
        body: fixture("hikvision", "picture_refused.xml"),
    }
}

#[tokio::test]
async fn the_sub_stream_picture_is_asked_first_and_comes_back_whole() {
    let (server, viewer) = rig::start(Hikvision, Login::Digest, secs(5), |r| {
        if r.target == SUB {
            jpeg(200, sample(1))
        } else {
            Reply::status(404, "")
        }
    })
    .await;
    assert_eq!(viewer.snapshot("1", CAP).await.unwrap(), sample(1));
    let pictures: Vec<_> = server
        .asked("/ISAPI")
        .into_iter()
        .map(|r| r.target)
        .collect();
    // The login's 401, then the answer: the same path twice, nothing else.
    assert_eq!(pictures, [SUB, SUB]);
}

#[tokio::test]
async fn an_nvr_that_refuses_the_streaming_path_is_asked_through_its_proxy_from_then_on() {
    let (server, viewer) = rig::start(Hikvision, Login::Digest, secs(5), |r| {
        if r.target.starts_with("/ISAPI/Streaming/") {
            refused()
        } else if r.target == PROXY_SUB {
            jpeg(200, sample(2))
        } else {
            Reply::status(404, "")
        }
    })
    .await;
    assert_eq!(viewer.snapshot("1", CAP).await.unwrap(), sample(2));
    let before = server.asked("/ISAPI/Streaming/").len();
    assert_eq!(viewer.snapshot("1", CAP).await.unwrap(), sample(2));
    assert_eq!(
        server.asked("/ISAPI/Streaming/").len(),
        before,
        "the refused path is not asked again"
    );
}

#[tokio::test]
async fn every_path_refused_says_what_the_recorder_said() {
    let (_server, viewer) = rig::start(Hikvision, Login::Digest, secs(5), |_| refused()).await;
    let e = viewer.snapshot("1", CAP).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "recorder refused: 6 Invalid XML Content (badXmlContent)"
    );
}

#[tokio::test]
async fn a_device_error_is_not_worked_around() {
    let body = fixture("hikvision", "picture_refused.xml")
        .replace("<statusCode>6</statusCode>", "<statusCode>3</statusCode>")
        .replace("Invalid XML Content", "Device Error")
        .replace("badXmlContent", "deviceError");
    let (server, viewer) = rig::start(Hikvision, Login::Digest, secs(5), move |_| Reply::Body {
        status: 500,
        content_type: "application/xml",
        body: body.clone(),
    })
    .await;
    let e = viewer.snapshot("1", CAP).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "recorder refused: 3 Device Error (deviceError)"
    );
    assert!(server.asked("/ISAPI/ContentMgmt").is_empty());
}

#[tokio::test]
async fn a_picture_past_the_cap_is_refused_and_no_other_path_tried() {
    let (server, viewer) =
        rig::start(Hikvision, Login::Digest, secs(5), |_| Reply::Huge(4 << 20)).await;
    assert_eq!(
        viewer.snapshot("1", CAP).await,
        Err(ProbeError::TooLarge(CAP))
    );
    assert!(server.asked("/ISAPI/ContentMgmt").is_empty());
}

#[tokio::test]
async fn an_html_page_with_200_is_no_picture() {
    let (_server, viewer) = rig::start(Hikvision, Login::Digest, secs(5), |_| Reply::Body {
        status: 200,
        content_type: "text/html",
        body: "<html><body>Please log in</body></html>".into(),
    })
    .await;
    let e = viewer.snapshot("1", CAP).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "HTTP 200 but text/html: <html><body>Please log in</body></html>"
    );
}

#[tokio::test]
async fn a_device_that_hangs_is_left_at_its_deadline() {
    let (_server, viewer) = rig::start(Hikvision, Login::Digest, secs(1), |_| Reply::Hang).await;
    let e = viewer.snapshot("1", CAP).await.unwrap_err();
    assert!(matches!(e, ProbeError::Timeout(_)), "{e:?}");
}

#[tokio::test]
async fn a_wrong_password_is_tried_once_not_on_every_path() {
    let (server, viewer) = rig::start(Hikvision, Login::Refuse(String::new()), secs(5), |_| {
        jpeg(200, sample(1))
    })
    .await;
    assert_eq!(
        viewer.snapshot("1", CAP).await,
        Err(ProbeError::Unauthorized)
    );
    assert_eq!(server.requests().len(), 2, "one challenge, one answer");
}

#[tokio::test]
async fn a_locked_account_is_told_as_locked() {
    let locked = fixture("hikvision", "user_check_locked.xml");
    let (_server, viewer) = rig::start(Hikvision, Login::Refuse(locked), secs(5), |_| {
        jpeg(200, sample(1))
    })
    .await;
    let e = viewer.snapshot("1", CAP).await.unwrap_err();
    assert!(matches!(e, ProbeError::Locked(_)), "{e:?}");
}

#[tokio::test]
async fn a_channel_that_is_not_a_number_never_reaches_a_path() {
    let (server, viewer) =
        rig::start(Hikvision, Login::Digest, secs(5), |_| jpeg(200, sample(1))).await;
    for bad in ["../1", "1/../../System/reboot", "0", "1000", "", "1%2F"] {
        assert!(viewer.snapshot(bad, CAP).await.is_err(), "{bad}");
        assert!(viewer.events(bad).await.is_err(), "{bad}");
    }
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn active_view_alerts_are_read_once_for_all_channels() {
    let stream = fixture("hikvision", "alert_stream_active.txt");
    let (server, viewer) = rig::start(Hikvision, Login::Digest, secs(5), move |_| Reply::Endless {
        content_type: "multipart/mixed; boundary=boundary",
        start: stream.clone().into_bytes(),
    })
    .await;
    assert_eq!(viewer.events("1").await.unwrap(), [ViewEvent::Tamper]);
    assert_eq!(viewer.events("2").await.unwrap(), []);
    assert_eq!(viewer.events("3").await.unwrap(), [ViewEvent::Defocus]);
    let streams = server.asked("/ISAPI/Event/notification/alertStream");
    assert_eq!(streams.len(), 2, "one look (a challenge and its answer)");
}

#[tokio::test]
async fn an_idle_alert_stream_is_no_event() {
    let idle = fixture("hikvision", "alert_stream_idle.txt");
    let (_server, viewer) =
        rig::start(Hikvision, Login::Digest, secs(5), move |_| Reply::Endless {
            content_type: "multipart/mixed; boundary=boundary",
            start: idle.clone().into_bytes(),
        })
        .await;
    assert_eq!(viewer.events("1").await.unwrap(), []);
}

#[tokio::test]
async fn a_device_without_an_alert_stream_gives_no_events_rather_than_wrong_ones() {
    let (_server, viewer) = rig::start(Hikvision, Login::Digest, secs(5), |_| Reply::Body {
        status: 403,
        content_type: "application/xml",
        body: fixture("hikvision", "response_status_not_found.xml"),
    })
    .await;
    let e = viewer.events("1").await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "recorder refused: 4 Invalid Operation (notSupport)"
    );
}

#[test]
fn alerts_cut_off_or_hostile_are_left_out() {
    let full = fixture("hikvision", "alert_stream_active.txt");
    let cut = &full[..full.find("Defocus Detection").unwrap()];
    assert_eq!(super::parse_alerts(cut), [(1, ViewEvent::Tamper)]);
    let hostile = "<EventNotificationAlert><channelID>99999999999</channelID>\
        <eventType>videoloss</eventType><eventState>active</eventState></EventNotificationAlert>\
        <EventNotificationAlert><channelID>2</channelID><eventType>VIDEOLOSS</eventType>\
        <eventState>active</eventState></EventNotificationAlert><EventNotificationAlert>";
    assert_eq!(super::parse_alerts(hostile), [(2, ViewEvent::VideoLoss)]);
}

#[tokio::test]
async fn the_clock_is_the_devices_own() {
    let (_server, viewer) = rig::start(Hikvision, Login::Digest, secs(5), |r| {
        if r.target == "/ISAPI/System/status" {
            Reply::xml(fixture("hikvision", "status.xml"))
        } else {
            Reply::status(404, "")
        }
    })
    .await;
    assert_eq!(
        viewer.clock().await,
        Some("2018-06-11T01:00:00Z".parse().unwrap())
    );
}
