//! The NVR's pictures and picture events: snapshots on
//! `Streaming/channels/<ch><stream>/picture` and on the
//! `ContentMgmt/StreamingProxy` path, and the `Event/notification/
//! alertStream` that pushes tamper, video loss, defocus and scene change.
//!
//! Sources: the ISAPI Developer Guide 2.0 (2019) `XML_ResponseStatus` and
//! `XML_EventNotificationAlert`; stream ids in hundreds (`101` main, `102`
//! sub) and `videoResolutionWidth/Height` on NVRs as the hikvision_client
//! library documents them; the proxy-only NVR firmware (DS-7616NI-Q2,
//! HTTP 400 `badXmlContent` on the Streaming path) as Home Assistant's
//! `hikvision_next` tests it; the alertStream framing and the
//! `videoloss`/`inactive` heartbeat as captured in mezz64/pyHik.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use minijinja::context;
use tokio_util::sync::CancellationToken;

use super::{status_answer, time};
use crate::fixture::render;
use crate::state::{lock, Shared};
use crate::view::serve::{active, jpeg, jpeg_response};
use crate::view::{DeviceEvent, PictureFirmware, Size};

const ALERT: &str = include_str!("../../templates/hikvision/event_alert.xml");
/// Each active event is pushed again this often while it lasts.
const REPEAT: Duration = Duration::from_secs(1);
/// With nothing active, a heartbeat every this many repeats.
const HEARTBEAT_EVERY: u32 = 5;

#[derive(Clone)]
struct Nvr {
    dev: Shared,
    stop: CancellationToken,
}

pub fn router(dev: Shared, stop: CancellationToken) -> Router {
    Router::new()
        .route("/ISAPI/Streaming/channels/{id}/picture", get(streaming))
        .route(
            "/ISAPI/ContentMgmt/StreamingProxy/channels/{id}/picture",
            get(proxy),
        )
        .route("/ISAPI/Event/notification/alertStream", get(alert_stream))
        .with_state(Nvr { dev, stop })
}

type Q = HashMap<String, String>;

/// The stream id from the path; one that is not even text (`%ff`) is a
/// stream the device does not have.
type Id = Result<Path<String>, PathRejection>;

async fn streaming(State(n): State<Nvr>, id: Id, q: Query<Q>, uri: Uri) -> Response {
    if lock(&n.dev).picture_firmware == PictureFirmware::ProxyOnly {
        return status_answer(StatusCode::BAD_REQUEST, uri.path());
    }
    picture(&n.dev, id, &q, &uri).await
}

async fn proxy(State(n): State<Nvr>, id: Id, q: Query<Q>, uri: Uri) -> Response {
    picture(&n.dev, id, &q, &uri).await
}

/// Stream `id` is channel × 100 + stream: 1 the main stream, 2 the sub.
/// On an NVR the size may be asked with `videoResolutionWidth/Height`.
async fn picture(dev: &Shared, id: Id, q: &Q, uri: &Uri) -> Response {
    let Some((channel, mut size)) = id.ok().and_then(|Path(id)| stream(&id)) else {
        return status_answer(StatusCode::NOT_FOUND, uri.path());
    };
    let asked = |k: &str| q.get(k).and_then(|v| v.parse::<u32>().ok());
    if let (Some(w), Some(h)) = (
        asked("videoResolutionWidth"),
        asked("videoResolutionHeight"),
    ) {
        match Size::new(w, h) {
            Some(s) => size = s,
            None => return status_answer(StatusCode::BAD_REQUEST, uri.path()),
        }
    }
    match jpeg(dev, &channel, size).await {
        Some(body) => jpeg_response(body),
        None => status_answer(StatusCode::NOT_FOUND, uri.path()),
    }
}

fn stream(id: &str) -> Option<(String, Size)> {
    let n: u32 = id.parse().ok()?;
    let size = match n % 100 {
        1 => Size::FULL_HD,
        2 => Size::SUB,
        _ => return None,
    };
    (n >= 100).then(|| ((n / 100).to_string(), size))
}

/// `multipart/mixed` parts for as long as the client listens: every
/// active event once a second, the first at once; with none, the
/// heartbeat at once and every five seconds.
async fn alert_stream(State(n): State<Nvr>) -> Response {
    let parts = futures_util::stream::unfold((n, 0u32), |(n, tick)| async move {
        let mut tick = tick;
        loop {
            if tick > 0 {
                tokio::select! {
                    _ = tokio::time::sleep(REPEAT) => {}
                    _ = n.stop.cancelled() => return None,
                }
            }
            tick += 1;
            let body = alerts(&n.dev, tick);
            if !body.is_empty() {
                return Some((Ok::<_, std::io::Error>(body), (n, tick)));
            }
        }
    });
    let mixed = [("content-type", "multipart/mixed; boundary=boundary")];
    (mixed, Body::from_stream(parts)).into_response()
}

/// The parts due at `tick` (1, 2, …): empty when there is nothing to say.
fn alerts(dev: &Shared, tick: u32) -> String {
    let now = time::current_device_time(&lock(dev));
    let events = active(dev);
    if events.is_empty() {
        if tick % HEARTBEAT_EVERY != 1 {
            return String::new();
        }
        return part("0", &now, "videoloss", "inactive", "videoloss alarm", tick);
    }
    events
        .iter()
        .filter_map(|(ch, e)| {
            let (kind, text) = words(*e)?;
            Some(part(ch, &now, kind, "active", text, tick))
        })
        .collect()
}

/// The firmware's `eventType` and description; ONVIF's too-dark has none.
fn words(e: DeviceEvent) -> Option<(&'static str, &'static str)> {
    Some(match e {
        DeviceEvent::Tamper => ("tamperdetection", "Tamper Detection"),
        DeviceEvent::VideoLoss => ("videoloss", "videoloss alarm"),
        DeviceEvent::Defocus => ("defocus", "Defocus Detection"),
        DeviceEvent::SceneChange => ("scenechangedetection", "Scene Change Detection"),
        DeviceEvent::TooDark => return None,
    })
}

fn part(channel: &str, now: &str, kind: &str, state: &str, text: &str, count: u32) -> String {
    let xml = render(
        "event_alert",
        ALERT,
        context! { channel, now, event_type => kind, state, description => text, count },
    )
    .replace('\n', "\r\n");
    format!(
        "--boundary\r\nContent-Type: application/xml; charset=\"UTF-8\"\r\nContent-Length: {}\r\n\r\n{xml}",
        xml.len()
    )
}
