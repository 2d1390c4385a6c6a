//! Simulated Dahua DVR speaking the Dahua HTTP API: `key=value` text answers
//! (CRLF line ends) from `/cgi-bin/…`, each rendered from the live device
//! state through a template under `templates/dahua/`, and
//! `mediaFileFind.cgi` finders that remember their objects (see [`find`]).
//!
//! Its clock runs in WIB (UTC+7), written without an offset as Dahua does;
//! the zone shows only as index 12 in the `NTP` config. A refused request
//! answers `Error` and `Bad Request!` with HTTP 400.

mod find;

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

/// Asia/Jakarta has no daylight saving: a fixed offset is exact.
pub const WIB: Offset = Offset::constant(7);
/// WIB's index in Dahua's time-zone table (NetSDK `EM_CFG_TIME_ZONE_TYPE`).
const WIB_INDEX: u8 = 12;

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

fn zoned(t: Timestamp) -> Zoned {
    t.to_zoned(TimeZone::fixed(WIB))
}

/// `2018-6-11 8:00:00`: the device's wall clock, without leading zeros in
/// the date and hour as Dahua writes it.
fn local(t: Timestamp) -> String {
    zoned(t).strftime("%Y-%-m-%-d %-H:%M:%S").to_string()
}

/// A wall-clock time from a request, with or without leading zeros.
fn parse_local(s: &str) -> Option<Timestamp> {
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
    .to_zoned(TimeZone::fixed(WIB))
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

async fn global(Query(q): Query<Q>) -> Response {
    match action(&q) {
        Some("getCurrentTime") => text(render(
            "current_time",
            TIME,
            context! { now => zoned(Timestamp::now()).strftime("%Y-%m-%d %H:%M:%S").to_string() },
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
        (Some("getConfig"), Some("NTP")) => text(render(
            "ntp_config",
            NTP,
            context! { zone => WIB_INDEX, zone_desc => "Jakarta" },
        )),
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
