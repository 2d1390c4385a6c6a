//! Simulated Hikvision NVR speaking ISAPI: device info and status, storage,
//! recording tracks, IP channel status and the recording search, each
//! rendered from the live device state through a template under
//! `templates/hikvision/`.
//!
//! Every answer follows the device's own clock (`DeviceState::now`, skewed
//! as set) on its wall clock (`utc_offset_s`, WIB by default). The
//! firmware variants found in the field, each set per device:
//!
//! * `time_format`, how `System/status` writes `currentDeviceTime`:
//!   `offset` `2018-06-11T08:00:00+07:00` (ISAPI Developer Guide 4.2.4,
//!   fixture `status.xml`), `wall-z` the wall clock with a `Z`
//!   (`status_wall_z.xml`), `local` the wall clock alone (`status_local.xml`).
//!   `System/time` always answers `localTime` with its offset and the POSIX
//!   `timeZone` (`system_time.xml`), where a client learns the zone.
//! * `search_clock`, how `ContentMgmt/search` reads and writes its `Z`
//!   times: `wall` the wall clock (older NVR firmware, `search_result.xml`),
//!   `utc` true UTC as `xs:dateTime` defines it (camera firmware V5.5 on,
//!   `search_result_utc.xml`).
//! * `overwrite_readable` false: `Storage/extension` answers the firmware's
//!   403 `notSupport` (`storage_extension_not_supported.xml`) and the tracks
//!   carry no `LoopEnable` (`tracks_no_loop.xml`).
//! * `lock_after`: after that many failed logins every login, the right
//!   password too, gets 401 with a `userCheck` body saying `lock` and the
//!   seconds left (`user_check_locked.xml`).
//!
//! Pictures and picture events (snapshots, alertStream): [`view`].

mod search;
mod time;
mod view;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use jiff::tz::Offset;
use minijinja::context;

use crate::fixture::render;
use crate::state::{lock, Shared};
pub use search::{answer, Page, Query, Segment, SEGMENT};
pub use time::{numeric, posix};

const DEVICE_INFO: &str = include_str!("../../templates/hikvision/deviceInfo.xml");
const STATUS: &str = include_str!("../../templates/hikvision/status.xml");
const STORAGE: &str = include_str!("../../templates/hikvision/storage.xml");
const EXTENSION: &str = include_str!("../../templates/hikvision/storage_extension.xml");
const TRACKS: &str = include_str!("../../templates/hikvision/tracks.xml");
const CHANNELS: &str = include_str!("../../templates/hikvision/channels_status.xml");
const SEARCH: &str = include_str!("../../templates/hikvision/search_result.xml");
const RESPONSE_STATUS: &str = include_str!("../../templates/hikvision/response_status.xml");
const SYSTEM_TIME: &str = include_str!("../../templates/hikvision/system_time.xml");
const USER_CHECK: &str = include_str!("../../templates/hikvision/user_check.xml");

/// Asia/Jakarta has no daylight saving: a fixed offset is exact. The
/// default wall clock of a simulated device.
pub const WIB: Offset = Offset::constant(7);

pub fn router(dev: Shared, stop: tokio_util::sync::CancellationToken) -> Router {
    Router::new()
        .route("/ISAPI/System/deviceInfo", get(device_info))
        .route("/ISAPI/System/status", get(status))
        .route("/ISAPI/System/time", get(system_time))
        .route("/ISAPI/ContentMgmt/Storage", get(storage))
        .route("/ISAPI/ContentMgmt/Storage/extension", get(extension))
        .route("/ISAPI/ContentMgmt/record/tracks", get(tracks))
        .route(
            "/ISAPI/ContentMgmt/InputProxy/channels/status",
            get(channels),
        )
        .route("/ISAPI/ContentMgmt/search", post(search))
        .fallback(not_found)
        .with_state(dev.clone())
        .merge(view::router(dev, stop))
}

fn xml(body: String) -> Response {
    (
        [("content-type", "application/xml; charset=\"UTF-8\"")],
        body,
    )
        .into_response()
}

/// The overwrite setting, or the firmware's "not supported" where it does
/// not tell it.
async fn extension(State(dev): State<Shared>) -> Response {
    let (overwrite, readable) = {
        let d = lock(&dev);
        (d.overwrite, d.overwrite_readable)
    };
    if !readable {
        return status_answer(
            StatusCode::FORBIDDEN,
            "/ISAPI/ContentMgmt/Storage/extension",
        );
    }
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

async fn status(State(dev): State<Shared>) -> Response {
    let now = time::current_device_time(&lock(&dev));
    xml(render(
        "status",
        STATUS,
        context! { now, uptime => 864_000 },
    ))
}

async fn system_time(State(dev): State<Shared>) -> Response {
    let (local, zone) = {
        let d = lock(&dev);
        (time::local_time(&d), time::posix(d.offset()))
    };
    xml(render("system_time", SYSTEM_TIME, context! { local, zone }))
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
        context! {
            channels => d.channels,
            overwrite => d.overwrite,
            readable => d.overwrite_readable,
        },
    ))
}

async fn channels(State(dev): State<Shared>) -> Response {
    let channels = lock(&dev).channels.clone();
    xml(render("channels_status", CHANNELS, context! { channels }))
}

/// Answer for the requested track only: channel `track / 100`, main
/// stream `…01`. Any other track has no recordings. Times are read and
/// written in the clock of the device's `search_clock`, by its own clock.
async fn search(State(dev): State<Shared>, body: String) -> Response {
    let d = lock(&dev).clone();
    let offset = time::search_offset(&d);
    let Some(q) = Query::parse(&body, offset) else {
        return status_answer(StatusCode::BAD_REQUEST, "/ISAPI/ContentMgmt/search");
    };
    let channel = (q.track % 100 == 1).then(|| (q.track / 100).to_string());
    let ch = channel.and_then(|id| d.channels.iter().find(|c| c.id == id));
    let page = answer(&q, ch, d.now());
    let segments: Vec<_> = page.segments.iter().map(|s| segment(*s, offset)).collect();
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

fn segment(s: Segment, offset: Offset) -> minijinja::Value {
    let t = |t, compact| time::search_time(t, offset, compact);
    context! {
        start => t(s.start, false),
        end => t(s.end, false),
        start_compact => t(s.start, true),
        end_compact => t(s.end, true),
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

/// The answer to a login while the account is locked for `left` more
/// seconds: 401 and a `userCheck` body saying `lock`, the seconds left and
/// no logins left. The caller adds the challenge.
pub fn locked(left: u64) -> Response {
    let body = render(
        "user_check",
        USER_CHECK,
        context! { lock_status => "lock", unlock_time => left, retry => 0 },
    );
    (StatusCode::UNAUTHORIZED, xml(body)).into_response()
}
