//! Simulated Hikvision NVR speaking ISAPI: device info and status, storage,
//! recording tracks, IP channel status and the recording search.
//! Its clock runs in WIB (UTC+7), and like the real firmware it writes search
//! times in that wall clock with a `Z` suffix.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};
use minijinja::context;

use crate::fixture::render;
use crate::state::{lock, Shared};

const DEVICE_INFO: &str = include_str!("../templates/hikvision/deviceInfo.xml");
const STATUS: &str = include_str!("../templates/hikvision/status.xml");
const STORAGE: &str = include_str!("../templates/hikvision/storage.xml");
const TRACKS: &str = include_str!("../templates/hikvision/tracks.xml");
const CHANNELS: &str = include_str!("../templates/hikvision/channels_status.xml");
const SEARCH: &str = include_str!("../templates/hikvision/search_result.xml");
const RESPONSE_STATUS: &str = include_str!("../templates/hikvision/response_status.xml");

/// Asia/Jakarta has no daylight saving: a fixed offset is exact.
const WIB: i8 = 7;

pub fn router(dev: Shared) -> Router {
    Router::new()
        .route("/ISAPI/System/deviceInfo", get(device_info))
        .route("/ISAPI/System/status", get(status))
        .route("/ISAPI/ContentMgmt/Storage", get(storage))
        .route("/ISAPI/ContentMgmt/record/tracks", get(tracks))
        .route(
            "/ISAPI/ContentMgmt/InputProxy/channels/status",
            get(channels),
        )
        .route("/ISAPI/ContentMgmt/search", post(search))
        .fallback(not_supported)
        .with_state(dev)
}

fn xml(body: String) -> Response {
    (
        [("content-type", "application/xml; charset=\"UTF-8\"")],
        body,
    )
        .into_response()
}

async fn device_info(State(dev): State<Shared>) -> Response {
    let d = lock(&dev).clone();
    xml(render(
        "deviceInfo",
        DEVICE_INFO,
        context! { model => d.model, firmware => d.firmware, serial => d.serial },
    ))
}

async fn status(State(_dev): State<Shared>) -> Response {
    let now = Timestamp::now().to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(WIB)));
    let now = now.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
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

/// The text between `<tag>` and `</tag>`: enough for the simulator to read
/// the few fields of a search request.
fn between<'a>(body: &'a str, tag: &str) -> Option<&'a str> {
    let start = body.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    Some(body[start..end].trim())
}

fn wall(t: Timestamp, fmt: &str) -> String {
    Offset::constant(WIB)
        .to_datetime(t)
        .strftime(fmt)
        .to_string()
}

async fn search(State(dev): State<Shared>, body: String) -> Response {
    let Some(track) = between(&body, "trackID").and_then(|t| t.parse::<u32>().ok()) else {
        return bad_request("/ISAPI/ContentMgmt/search");
    };
    let search_id = between(&body, "searchID").unwrap_or("").to_owned();
    let channel = (track / 100).to_string();
    let now = Timestamp::now();
    let end = lock(&dev)
        .channels
        .iter()
        .find(|c| c.id == channel)
        .and_then(|c| c.last_segment_end(now));
    let window_start = between(&body, "startTime").and_then(read_wall);
    let segments: Vec<_> = end
        .filter(|e| window_start.is_none_or(|s| *e >= s))
        .map(|end| {
            let start = end - SignedDuration::from_mins(10);
            context! {
                start => format!("{}Z", wall(start, "%Y-%m-%dT%H:%M:%S")),
                end => format!("{}Z", wall(end, "%Y-%m-%dT%H:%M:%S")),
                start_compact => format!("{}Z", wall(start, "%Y%m%dT%H%M%S")),
                end_compact => format!("{}Z", wall(end, "%Y%m%dT%H%M%S")),
            }
        })
        .into_iter()
        .collect();
    xml(render(
        "search_result",
        SEARCH,
        context! { search_id, track, segments },
    ))
}

fn read_wall(text: &str) -> Option<Timestamp> {
    let civil: jiff::civil::DateTime = text.trim_end_matches('Z').parse().ok()?;
    Offset::constant(WIB).to_timestamp(civil).ok()
}

fn bad_request(url: &str) -> Response {
    let body = render("response_status", RESPONSE_STATUS, context! { url });
    (StatusCode::BAD_REQUEST, xml(body)).into_response()
}

async fn not_supported(uri: Uri) -> Response {
    let body = render(
        "response_status",
        RESPONSE_STATUS,
        context! { url => uri.path() },
    );
    (StatusCode::NOT_FOUND, xml(body)).into_response()
}
