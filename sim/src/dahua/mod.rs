//! Simulated Dahua DVR speaking the Dahua HTTP API: `key=value` text answers
//! (CRLF line ends) from `/cgi-bin/…`, each rendered from the live device
//! state through a template under `templates/dahua/`, and
//! `mediaFileFind.cgi` finders that remember their objects (see [`find`]).
//!
//! Every answer follows the device's own clock (`DeviceState::now`, skew
//! included) in its wall-clock zone (`utc_offset_s`, WIB by default),
//! written without an offset as Dahua does; the zone shows only as its
//! index in the `NTP` config. A refused request answers `Error` and
//! `Bad Request!` with HTTP 400, as is a config name the firmware does not
//! know (`StorageGroup` while `overwrite_readable` is off). A login while
//! the account is locked gets Dahua's locked answer ([`locked`]). Pictures
//! and picture events: [`view`].

mod find;
mod view;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, Zoned};
use minijinja::context;

use crate::fixture::render;
use crate::state::{lock, Shared};
pub use find::{Finder, Finders};

const SYSTEM_INFO: &str = include_str!("../../templates/dahua/system_info.txt");
const SOFTWARE: &str = include_str!("../../templates/dahua/software_version.txt");
const TIME: &str = include_str!("../../templates/dahua/current_time.txt");
const STORAGE: &str = include_str!("../../templates/dahua/storage.txt");
const RECORD_MODE: &str = include_str!("../../templates/dahua/record_mode.txt");
const FIND_NEXT: &str = include_str!("../../templates/dahua/find_next.txt");
const DEVICE_TYPE: &str = include_str!("../../templates/dahua/device_type.txt");
const NTP: &str = include_str!("../../templates/dahua/ntp_config.txt");
const STORAGE_GROUP: &str = include_str!("../../templates/dahua/storage_group.txt");
const FIND_CREATE: &str = include_str!("../../templates/dahua/find_create.txt");
const OK: &str = include_str!("../../templates/dahua/ok.txt");
const ERROR: &str = include_str!("../../templates/dahua/error.txt");
const LOCKED: &str = include_str!("../../templates/dahua/login_locked.json");

/// Asia/Jakarta has no daylight saving: a fixed offset is exact.
pub const WIB: Offset = Offset::constant(7);
/// Dahua's time-zone table (NetSDK `dhconfigsdk.h` `EM_CFG_TIME_ZONE_TYPE`),
/// minutes east of UTC by index: `table.NTP.TimeZone` is an index, 12 for
/// WIB.
const ZONES_MIN: [i32; 40] = [
    0, 60, 120, 180, 210, 240, 270, 300, 330, 345, 360, 390, 420, 480, 540, 570, 600, 660, 720,
    780, -60, -120, -180, -210, -240, -300, -360, -420, -480, -540, -600, -660, -720, -270, 630,
    840, -570, 510, 525, 765,
];

/// The device and its finder objects.
#[derive(Clone)]
pub struct Dvr {
    dev: Shared,
    finders: Arc<Mutex<Finders>>,
}

type Q = HashMap<String, String>;

pub fn router(dev: Shared) -> Router {
    let dvr = Dvr {
        dev,
        finders: Arc::default(),
    };
    Router::new()
        .route("/cgi-bin/magicBox.cgi", get(magic_box))
        .route("/cgi-bin/global.cgi", get(global))
        .route("/cgi-bin/storageDevice.cgi", get(storage))
        .route("/cgi-bin/configManager.cgi", get(config))
        .route("/cgi-bin/mediaFileFind.cgi", get(find))
        .route("/cgi-bin/snapshot.cgi", get(snapshot))
        .route("/cgi-bin/eventManager.cgi", get(event_manager))
        .with_state(dvr)
}

/// A `key=value` answer; the templates use `\n`, the device ends every
/// line with CRLF.
fn text(body: String) -> Response {
    let mut body = body.replace('\n', "\r\n");
    if !body.ends_with('\n') {
        body.push_str("\r\n");
    }
    ([("content-type", "text/plain;charset=utf-8")], body).into_response()
}

fn ok() -> Response {
    text(render("ok", OK, ()))
}

/// `Error` with HTTP 400, with a reason line or (`None`) bare.
fn error(reason: Option<&str>) -> Response {
    let body = render("error", ERROR, context! { reason });
    (StatusCode::BAD_REQUEST, text(body)).into_response()
}

fn bad_request() -> Response {
    error(Some("Bad Request!"))
}

/// An instant of the device's clock on its wall clock.
fn zoned(t: Timestamp, offset: Offset) -> Zoned {
    t.to_zoned(TimeZone::fixed(offset))
}

/// `2018-6-11 8:00:00`: the device's wall clock, without leading zeros in
/// the date and hour as Dahua writes it.
fn local(t: Timestamp, offset: Offset) -> String {
    zoned(t, offset)
        .strftime("%Y-%-m-%-d %-H:%M:%S")
        .to_string()
}

/// A wall-clock time from a request, with or without leading zeros, as an
/// instant of the device's clock.
fn parse_local(s: &str, offset: Offset) -> Option<Timestamp> {
    let (date, time) = s.trim().split_once(' ')?;
    let num = |p: &str| p.parse::<i16>().ok();
    let d: Vec<i16> = date.split('-').map(num).collect::<Option<_>>()?;
    let t: Vec<i16> = time.split(':').map(num).collect::<Option<_>>()?;
    let (&[y, mo, day], &[h, mi, sec]) = (d.as_slice(), t.as_slice()) else {
        return None;
    };
    let small = |v: i16| i8::try_from(v).ok();
    jiff::civil::DateTime::new(
        y,
        small(mo)?,
        small(day)?,
        small(h)?,
        small(mi)?,
        small(sec)?,
        0,
    )
    .ok()?
    .to_zoned(TimeZone::fixed(offset))
    .ok()
    .map(|z| z.timestamp())
}

fn action(q: &Q) -> Option<&str> {
    q.get("action").map(String::as_str)
}

async fn magic_box(State(d): State<Dvr>, Query(q): Query<Q>) -> Response {
    let s = lock(&d.dev).clone();
    match action(&q) {
        Some("getSystemInfo") => text(render(
            "system_info",
            SYSTEM_INFO,
            context! { model => s.model, serial => s.serial },
        )),
        Some("getDeviceType") => text(render(
            "device_type",
            DEVICE_TYPE,
            context! { model => s.model },
        )),
        Some("getSoftwareVersion") => text(render(
            "software_version",
            SOFTWARE,
            context! { firmware => s.firmware },
        )),
        _ => bad_request(),
    }
}

async fn global(State(d): State<Dvr>, Query(q): Query<Q>) -> Response {
    let (now, offset) = {
        let s = lock(&d.dev);
        (s.now(), s.offset())
    };
    match action(&q) {
        Some("getCurrentTime") => text(render(
            "current_time",
            TIME,
            context! { now => zoned(now, offset).strftime("%Y-%m-%d %H:%M:%S").to_string() },
        )),
        _ => bad_request(),
    }
}

async fn storage(State(d): State<Dvr>, Query(q): Query<Q>) -> Response {
    match action(&q) {
        Some("getDeviceAllInfo") => text(render(
            "storage",
            STORAGE,
            context! { disks => lock(&d.dev).disks.clone() },
        )),
        _ => bad_request(),
    }
}

async fn config(State(d): State<Dvr>, Query(q): Query<Q>) -> Response {
    let s = lock(&d.dev).clone();
    match (action(&q), q.get("name").map(String::as_str)) {
        (Some("getConfig"), Some("RecordMode")) => text(render(
            "record_mode",
            RECORD_MODE,
            context! { channels => s.channels },
        )),
        (Some("getConfig"), Some("NTP")) => {
            let minutes = s.utc_offset_s / 60;
            let zone = ZONES_MIN.iter().position(|m| *m == minutes);
            let zone_desc = if minutes == 420 { "Jakarta" } else { "" };
            text(render("ntp_config", NTP, context! { zone, zone_desc }))
        }
        // Firmware that does not know a config name refuses it.
        (Some("getConfig"), Some("StorageGroup")) if !s.overwrite_readable => bad_request(),
        (Some("getConfig"), Some("StorageGroup")) => text(render(
            "storage_group",
            STORAGE_GROUP,
            context! { overwrite => s.overwrite },
        )),
        _ => bad_request(),
    }
}

async fn find(State(d): State<Dvr>, Query(q): Query<Q>) -> Response {
    find::handle(&d, &q)
}

async fn snapshot(State(d): State<Dvr>, Query(q): Query<Q>) -> Response {
    view::snapshot(&d, &q).await
}

async fn event_manager(State(d): State<Dvr>, Query(q): Query<Q>) -> Response {
    match action(&q) {
        Some("getEventIndexes") => view::event_indexes(&d, &q),
        _ => bad_request(),
    }
}

/// The answer to a login while the account is locked for `left` more
/// seconds: Dahua's locked-account answer (error 268632081 with
/// `remainLockSecond`, fixture `login_locked.json`), with HTTP 403 as field
/// reports describe. The right password is refused the same way.
pub fn locked(left: u64) -> Response {
    let body = render("login_locked", LOCKED, context! { left });
    let json = [("content-type", "application/json")];
    (StatusCode::FORBIDDEN, json, body).into_response()
}
