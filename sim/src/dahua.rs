//! Simulated Dahua recorder speaking the Dahua HTTP API: `key=value` text
//! answers from `/cgi-bin/…`, and `mediaFileFind.cgi` finders that must be
//! closed and destroyed (the state counts the ones left open). Its clock is
//! local time without an offset, in this machine's time zone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use minijinja::context;

use crate::fixture::render;
use crate::state::{lock, Shared};

const SYSTEM_INFO: &str = include_str!("../templates/dahua/system_info.txt");
const SOFTWARE: &str = include_str!("../templates/dahua/software_version.txt");
const TIME: &str = include_str!("../templates/dahua/current_time.txt");
const STORAGE: &str = include_str!("../templates/dahua/storage.txt");
const RECORD_MODE: &str = include_str!("../templates/dahua/record_mode.txt");
const FIND_NEXT: &str = include_str!("../templates/dahua/find_next.txt");

#[derive(Clone, Default)]
struct Finder {
    /// Channel (from 1) and window, once findFile has run.
    search: Option<(String, Timestamp, Timestamp)>,
    handed_out: bool,
}

#[derive(Clone)]
struct Dvr {
    dev: Shared,
    finders: Arc<Mutex<HashMap<u32, Finder>>>,
}

type Q = Query<HashMap<String, String>>;

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

fn text(body: String) -> Response {
    (
        [("content-type", "text/plain;charset=utf-8")],
        body.replace('\n', "\r\n"),
    )
        .into_response()
}

fn bad_request() -> Response {
    (
        StatusCode::BAD_REQUEST,
        text("Error\nBad Request!\n".into()),
    )
        .into_response()
}

fn local(t: Timestamp) -> String {
    t.to_zoned(TimeZone::system())
        .strftime("%Y-%-m-%-d %-H:%M:%S")
        .to_string()
}

fn parse_local(s: &str) -> Option<Timestamp> {
    let civil: jiff::civil::DateTime = jiff::fmt::strtime::parse("%Y-%m-%d %H:%M:%S", s)
        .ok()?
        .to_datetime()
        .ok()?;
    civil
        .to_zoned(TimeZone::system())
        .ok()
        .map(|z| z.timestamp())
}

async fn magic_box(State(d): State<Dvr>, Query(q): Q) -> Response {
    let s = lock(&d.dev).clone();
    match q.get("action").map(String::as_str) {
        Some("getSystemInfo") => text(render(
            "system_info",
            SYSTEM_INFO,
            context! { model => s.model, serial => s.serial },
        )),
        Some("getSoftwareVersion") => text(render(
            "software_version",
            SOFTWARE,
            context! { firmware => s.firmware },
        )),
        _ => bad_request(),
    }
}

async fn global(Query(q): Q) -> Response {
    match q.get("action").map(String::as_str) {
        Some("getCurrentTime") => text(render(
            "current_time",
            TIME,
            context! { now => local(Timestamp::now()) },
        )),
        _ => bad_request(),
    }
}

async fn storage(State(d): State<Dvr>, Query(q): Q) -> Response {
    match q.get("action").map(String::as_str) {
        Some("getDeviceAllInfo") => text(render(
            "storage",
            STORAGE,
            context! { disks => lock(&d.dev).disks.clone() },
        )),
        _ => bad_request(),
    }
}

async fn config(State(d): State<Dvr>, Query(q): Q) -> Response {
    match (
        q.get("action").map(String::as_str),
        q.get("name").map(String::as_str),
    ) {
        (Some("getConfig"), Some("RecordMode")) => text(render(
            "record_mode",
            RECORD_MODE,
            context! { channels => lock(&d.dev).channels.clone() },
        )),
        _ => bad_request(),
    }
}

async fn find(State(d): State<Dvr>, Query(q): Q) -> Response {
    let object = q.get("object").and_then(|o| o.parse::<u32>().ok());
    let mut finders = d.finders.lock().unwrap_or_else(|e| e.into_inner());
    match (q.get("action").map(String::as_str), object) {
        (Some("factory.create"), _) => {
            let id = fastrand::u32(1000..99_999);
            finders.insert(id, Finder::default());
            lock(&d.dev).open_finders += 1;
            text(format!("result={id:05}\n"))
        }
        (Some("findFile"), Some(id)) if finders.contains_key(&id) => {
            let (Some(ch), Some(from), Some(to)) = (
                q.get("condition.Channel"),
                q.get("condition.StartTime").and_then(|s| parse_local(s)),
                q.get("condition.EndTime").and_then(|s| parse_local(s)),
            ) else {
                return bad_request();
            };
            if !lock(&d.dev).channels.iter().any(|c| &c.id == ch) {
                return bad_request();
            }
            finders.insert(
                id,
                Finder {
                    search: Some((ch.clone(), from, to)),
                    handed_out: false,
                },
            );
            text("OK\n".into())
        }
        (Some("findNextFile"), Some(id)) => match finders.get_mut(&id) {
            Some(f) => {
                let items = if f.handed_out {
                    Vec::new()
                } else {
                    files(&d, f)
                };
                f.handed_out = true;
                let channel = f.search.as_ref().map(|s| s.0.clone()).unwrap_or_default();
                text(render("find_next", FIND_NEXT, context! { items, channel }))
            }
            None => bad_request(),
        },
        (Some("close"), Some(id)) if finders.contains_key(&id) => text("OK\n".into()),
        (Some("destroy"), Some(id)) if finders.remove(&id).is_some() => {
            let mut s = lock(&d.dev);
            s.open_finders = s.open_finders.saturating_sub(1);
            text("OK\n".into())
        }
        _ => bad_request(),
    }
}

/// The channel's newest ten-minute file, if it ends inside the window.
fn files(d: &Dvr, f: &Finder) -> Vec<minijinja::Value> {
    let Some((ch, from, to)) = &f.search else {
        return Vec::new();
    };
    let now = Timestamp::now();
    let end = lock(&d.dev)
        .channels
        .iter()
        .find(|c| &c.id == ch)
        .and_then(|c| c.last_segment_end(now));
    end.filter(|e| e >= from && e <= to)
        .map(|end| {
            let start = end - SignedDuration::from_mins(10);
            let z = start.to_zoned(TimeZone::system());
            context! {
                start => local(start), end => local(end),
                day => z.strftime("%Y-%m-%d").to_string(), hour => z.strftime("%H").to_string(),
                name => format!("{}-{}[R][0@0][0]", z.strftime("%H.%M.%S"), end.to_zoned(TimeZone::system()).strftime("%H.%M.%S")),
            }
        })
        .into_iter()
        .collect()
}
