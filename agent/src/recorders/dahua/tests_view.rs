//! The Dahua viewer against a stand-in device over real HTTP, serving the
//! HTTP API answers of `sim/fixtures/dahua/` (each names the Dahua document
//! it follows) as /root/i23/VENDOR.md lays them out.

use std::sync::{Arc, Mutex};

use ronda_wire::ViewEvent;

use super::parse_indexes;
use super::view::refusal;
use crate::probe::ProbeError;
use crate::recorders::picture::rig::{self, fixture, jpeg, secs, Login, Reply, CAP};
use crate::recorders::picture::tests::sample;
use crate::recorders::RecorderKind::Dahua;

const EVENTS: &str = "/cgi-bin/eventManager.cgi?action=getEventIndexes&code=";

#[tokio::test]
async fn the_sub_stream_snapshot_of_channel_n_counted_from_one() {
    let (server, viewer) = rig::start(Dahua, Login::Digest, secs(5), |r| {
        if r.target == "/cgi-bin/snapshot.cgi?channel=2&subtype=1" {
            jpeg(200, sample(2))
        } else {
            Reply::status(404, "")
        }
    })
    .await;
    assert_eq!(viewer.snapshot("2", CAP).await.unwrap(), sample(2));
    assert_eq!(server.requests().len(), 2, "a challenge and its answer");
}

#[tokio::test]
async fn bytes_after_the_jpeg_end_are_cut_so_a_frozen_picture_hashes_alike() {
    let (_server, viewer) = rig::start(Dahua, Login::Digest, secs(5), |_| {
        let mut body = sample(3);
        body.extend_from_slice(&[0u8; 1024]);
        body.extend_from_slice(b"\r\n");
        jpeg(200, body)
    })
    .await;
    assert_eq!(viewer.snapshot("1", CAP).await.unwrap(), sample(3));
}

#[tokio::test]
async fn firmware_that_refuses_subtype_is_asked_without_it_from_then_on() {
    let (server, viewer) = rig::start(Dahua, Login::Digest, secs(5), |r| {
        if r.target.contains("subtype") {
            Reply::status(400, fixture("dahua", "error_bad_request.txt"))
        } else {
            jpeg(200, sample(4))
        }
    })
    .await;
    assert_eq!(viewer.snapshot("1", CAP).await.unwrap(), sample(4));
    let asked = server.asked("/cgi-bin/snapshot.cgi").len();
    assert_eq!(viewer.snapshot("1", CAP).await.unwrap(), sample(4));
    let plain = server.asked("/cgi-bin/snapshot.cgi?channel=1");
    assert_eq!(plain.len(), asked + 1);
    assert_eq!(
        plain.last().unwrap().target,
        "/cgi-bin/snapshot.cgi?channel=1"
    );
}

#[tokio::test]
async fn an_error_body_is_the_recorders_words() {
    let (_server, viewer) = rig::start(Dahua, Login::Digest, secs(5), |_| {
        Reply::status(500, "Error\r\nInternal Error\r\n")
    })
    .await;
    let e = viewer.snapshot("1", CAP).await.unwrap_err();
    assert_eq!(e.to_string(), "recorder says Error: Internal Error");
}

#[tokio::test]
async fn a_snapshot_past_the_cap_is_refused_while_read() {
    let (_server, viewer) =
        rig::start(Dahua, Login::Digest, secs(5), |_| Reply::Huge(3 << 20)).await;
    assert_eq!(
        viewer.snapshot("1", 1 << 20).await,
        Err(ProbeError::TooLarge(1 << 20))
    );
}

#[tokio::test]
async fn a_wrong_password_is_one_refused_login() {
    let (server, viewer) = rig::start(Dahua, Login::Refuse(String::new()), secs(5), |_| {
        jpeg(200, sample(1))
    })
    .await;
    assert_eq!(
        viewer.snapshot("1", CAP).await,
        Err(ProbeError::Unauthorized)
    );
    assert_eq!(server.requests().len(), 2);
    assert_eq!(viewer.events("1").await, Err(ProbeError::Unauthorized));
}

#[tokio::test]
async fn a_hung_snapshot_ends_at_the_deadline() {
    let (_server, viewer) = rig::start(Dahua, Login::Digest, secs(1), |_| Reply::Hang).await;
    let e = viewer.snapshot("1", CAP).await.unwrap_err();
    assert!(matches!(e, ProbeError::Timeout(_)), "{e:?}");
}

/// A device where `VideoBlind` is active on channels 1 and 3, nothing else,
/// and `VideoUnFocus` unknown (older firmware).
fn events_device(seen: Arc<Mutex<Vec<String>>>) -> impl Fn(&rig::Request) -> Reply {
    move |r| {
        seen.lock().unwrap().push(r.target.clone());
        let code = r.target.strip_prefix(EVENTS).unwrap_or("");
        match code {
            "VideoBlind" => Reply::text(fixture("dahua", "event_indexes.txt")),
            "VideoUnFocus" => {
                Reply::status(400, fixture("dahua", "event_indexes_unknown_code.txt"))
            }
            _ => Reply::text(fixture("dahua", "event_indexes_none.txt")),
        }
    }
}

#[tokio::test]
async fn event_indexes_count_from_zero_and_serve_every_channel() {
    let seen = Arc::default();
    let (_server, viewer) = rig::start(
        Dahua,
        Login::Digest,
        secs(5),
        events_device(Arc::clone(&seen)),
    )
    .await;
    assert_eq!(viewer.events("1").await.unwrap(), [ViewEvent::Tamper]);
    assert_eq!(viewer.events("2").await.unwrap(), []);
    assert_eq!(viewer.events("3").await.unwrap(), [ViewEvent::Tamper]);
    let asked: Vec<String> = seen.lock().unwrap().clone();
    let codes: Vec<&str> = asked
        .iter()
        .filter_map(|t| t.strip_prefix(EVENTS))
        .collect();
    assert_eq!(
        codes,
        [
            "VideoBlind",
            "VideoLoss",
            "VideoAbnormalDetection",
            "VideoUnFocus"
        ],
        "one reading of four codes for all channels"
    );
}

#[tokio::test]
async fn a_recorder_that_knows_no_view_event_says_so() {
    let (_server, viewer) = rig::start(Dahua, Login::Digest, secs(5), |_| {
        Reply::status(400, fixture("dahua", "event_indexes_unknown_code.txt"))
    })
    .await;
    let e = viewer.events("1").await.unwrap_err();
    assert_eq!(e.to_string(), "the recorder refused every view event code");
}

#[test]
fn index_answers_as_firmware_writes_them() {
    assert_eq!(
        parse_indexes(200, &fixture("dahua", "event_indexes.txt")),
        Some(vec![0, 2])
    );
    let none = fixture("dahua", "event_indexes_none.txt");
    assert_eq!(parse_indexes(200, &none), Some(vec![]));
    assert_eq!(parse_indexes(400, "Error\r\nNo Events\r\n"), Some(vec![]));
    let unknown = fixture("dahua", "event_indexes_unknown_code.txt");
    assert_eq!(parse_indexes(400, &unknown), None);
    assert_eq!(parse_indexes(500, "channels[0]=1"), None);
    // Hostile: huge, negative, repeated and junk indexes.
    let junk = "channels[0]=4294967295\nchannels[1]=-1\nchannels[2]=1\nchannels[3]=1\nx=2\n";
    assert_eq!(parse_indexes(200, junk), Some(vec![1]));
}

#[test]
fn error_bodies_in_words() {
    assert_eq!(
        refusal("Error\r\nBad Request!\r\n").as_deref(),
        Some("recorder says Error: Bad Request!")
    );
    assert_eq!(
        refusal("Error: No Events\r\n").as_deref(),
        Some("recorder says Error: No Events")
    );
    assert_eq!(refusal("Error").as_deref(), Some("recorder says Error"));
    assert_eq!(refusal("OK"), None);
}

#[tokio::test]
async fn the_clock_is_the_devices_wall_clock() {
    let (_server, viewer) = rig::start(Dahua, Login::Digest, secs(5), |r| {
        if r.target == "/cgi-bin/global.cgi?action=getCurrentTime" {
            Reply::text(fixture("dahua", "current_time.txt"))
        } else {
            Reply::status(404, "")
        }
    })
    .await;
    assert!(viewer.clock().await.is_some());
}
