//! Simulated Hikvision NVR speaking ISAPI: device info and status, storage,
//! recording tracks, IP channel status and the recording search, each
//! rendered from the live device state through a template under
//! `templates/hikvision/`.
//!
//! Its clock runs in WIB (UTC+7): `currentDeviceTime` carries `+07:00`, and
//! like the real firmware it reads and writes search times in that wall
//! clock with a `Z` after them.

mod search;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use jiff::tz::Offset;
use jiff::Timestamp;
use minijinja::context;

use crate::fixture::render;
use crate::state::{lock, Shared};
pub use search::{answer, Page, Query, Segment, SEGMENT};

const DEVICE_INFO: &str = include_str!("../../templates/hikvision/deviceInfo.xml");
const STATUS: &str = include_str!("../../templates/hikvision/status.xml");
const STORAGE: &str = include_str!("../../templates/hikvision/storage.xml");
const EXTENSION: &str = include_str!("../../templates/hikvision/storage_extension.xml");
const TRACKS: &str = include_str!("../../templates/hikvision/tracks.xml");
const CHANNELS: &str = include_str!("../../templates/hikvision/channels_status.xml");
const SEARCH: &str = include_str!("../../templates/hikvision/search_result.xml");
const RESPONSE_STATUS: &str = include_str!("../../templates/hikvision/response_status.xml");

/// Asia/Jakarta has no daylight saving: a fixed offset is exact.
pub const WIB: Offset = Offset::constant(7);

pub fn router(dev: Shared) -> Router {
    Router::new()
        .route("/ISAPI/System/deviceInfo", get(device_info))
        .route("/ISAPI/System/status", get(status))
        .route("/ISAPI/ContentMgmt/Storage", get(storage))
        .route("/ISAPI/ContentMgmt/Storage/extension", get(extension))
        .route("/ISAPI/ContentMgmt/record/tracks", get(tracks))
        .route(
            "/ISAPI/ContentMgmt/InputProxy/channels/status",
            get(channels),
        )
        .route("/ISAPI/ContentMgmt/search", post(search))
        .fallback(not_found)
        .with_state(dev)
}

fn xml(body: String) -> Response {
    (
        [("content-type", "application/xml; charset=\"UTF-8\"")],
        body,
    )
        .into_response()
}

/// `2018-06-11T08:00:00` on the WIB wall clock, in `fmt`.
fn wall(t: Timestamp, fmt: &str) -> String {
    WIB.to_datetime(t).strftime(fmt).to_string()
}

async fn extension(State(dev): State<Shared>) -> Response {
    let overwrite = lock(&dev).overwrite;
    xml(render(
        "storage_extension",
        EXTENSION,
        context! { overwrite },
    ))
}

async fn device_info(State(dev): State<Shared>) -> Response {
    let d = lock(&dev).clone();
    xml(render(
        "deviceInfo",
        DEVICE_INFO,
        context! { model => d.model, firmware => d.firmware, serial => d.serial },
    ))
}

async fn status() -> Response {
    let now = format!("{}+07:00", wall(Timestamp::now(), "%Y-%m-%dT%H:%M:%S"));
    xml(render(
        "status",
        STATUS,
        context! { now, uptime => 864_000 },
    ))
}

async fn storage(State(dev): State<Shared>) -> Response {
    let disks = lock(&dev).disks.clone();
    xml(render("storage", STORAGE, context! { disks }))
}

async fn tracks(State(dev): State<Shared>) -> Response {
    let d = lock(&dev).clone();
    xml(render(
        "tracks",
        TRACKS,
        context! { channels => d.channels, overwrite => d.overwrite },
    ))
}

async fn channels(State(dev): State<Shared>) -> Response {
    let channels = lock(&dev).channels.clone();
    xml(render("channels_status", CHANNELS, context! { channels }))
}

/// Answer for the requested track only: channel `track / 100`, main
/// stream `…01`. Any other track has no recordings.
async fn search(State(dev): State<Shared>, body: String) -> Response {
    let Some(q) = Query::parse(&body, WIB) else {
        return status_answer(StatusCode::BAD_REQUEST, "/ISAPI/ContentMgmt/search");
    };
    let now = Timestamp::now();
    let channel = (q.track % 100 == 1).then(|| (q.track / 100).to_string());
    let page = {
        let d = lock(&dev);
        let ch = channel.and_then(|id| d.channels.iter().find(|c| c.id == id));
        answer(&q, ch, now)
    };
    let segments: Vec<_> = page.segments.iter().map(|s| segment(*s)).collect();
    let status = match (page.more, segments.is_empty()) {
        (true, _) => "MORE",
        (false, false) => "OK",
        (false, true) => "NO MATCHES",
    };
    xml(render(
        "search_result",
        SEARCH,
        context! { search_id => q.search_id, track => q.track, status, segments },
    ))
}

fn segment(s: Segment) -> minijinja::Value {
    let long = |t| format!("{}Z", wall(t, "%Y-%m-%dT%H:%M:%S"));
    let compact = |t| format!("{}Z", wall(t, "%Y%m%dT%H%M%S"));
    context! {
        start => long(s.start),
        end => long(s.end),
        start_compact => compact(s.start),
        end_compact => compact(s.end),
    }
}

/// The device's `ResponseStatus` body for a request it cannot serve.
fn status_answer(code: StatusCode, url: &str) -> Response {
    let (status_code, status_string, sub) = match code {
        StatusCode::BAD_REQUEST => (6, "Invalid XML Content", "badXmlContent"),
        _ => (4, "Invalid Operation", "notSupport"),
    };
    let body = render(
        "response_status",
        RESPONSE_STATUS,
        context! { url, status_code, status_string, sub },
    );
    (code, xml(body)).into_response()
}

async fn not_found(uri: Uri) -> Response {
    status_answer(StatusCode::NOT_FOUND, uri.path())
}
