//! Simulated Frigate NVR (0.14): `/api/stats`, `/api/version` and per-camera
//! `/api/<camera>/recordings`, each rendered from the simulated channels
//! through a template under `templates/frigate/`. No auth, as on Frigate's
//! internal port 5000.
//!
//! Each camera records ten-second segments; the newest ends where the
//! channel's newest segment ends. Everything follows the device's own clock
//! (`DeviceState::now`, skew included). As in 0.13/0.14, the stats are the
//! emitter's latest snapshot, taken every `stats_interval` (60 s): their
//! `last_updated` lags the clock by up to a minute. The recordings mount comes from the
//! device's first disk (953 869 MiB, 412 345 free when it has none); a disk
//! whose status is not `ok` is a mount Frigate cannot measure, listed `{}`.
//!
//! Pictures (Frigate HTTP API `/api/<camera>/latest.jpg[?h=…]`, the
//! detect-size frame scaled to `h` pixels high, aspect kept; an unknown
//! camera is 404 `Camera not found`, as v0.14.1 `frigate/api/media.py`
//! answers): a channel in `no_signal` sends the no-video picture (standing
//! in for Frigate's camera-error image) and counts 0 `camera_fps` in the
//! stats, as a lost stream does.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use jiff::{SignedDuration, Timestamp};
use minijinja::context;

use crate::fixture::render;
use crate::state::{lock, DeviceState, Shared};
use crate::view::serve::{jpeg, jpeg_response};
use crate::view::Size;

const STATS: &str = include_str!("../templates/frigate/stats.json");
const RECORDINGS: &str = include_str!("../templates/frigate/recordings.json");
const VERSION: &str = include_str!("../templates/frigate/version.txt");

/// The build Frigate appends to its version.
const COMMIT: &str = "f4f3cfa";
/// The recordings mount when the device has no disk, in MiB.
const DEFAULT_MIB: (u64, u64) = (953_869, 412_345);
/// Frigate's record segment length.
const SEGMENT: SignedDuration = SignedDuration::from_secs(10);
/// The stats emitter's interval (`mqtt.stats_interval`, 60 s by default).
const STATS_INTERVAL_S: i64 = 60;
/// The most segments one answer lists (a day's worth), so a silly window
/// cannot make the simulator build an endless list.
const MAX_SEGMENTS: usize = 8640;

pub fn router(dev: Shared) -> Router {
    Router::new()
        .route("/api/stats", get(stats))
        .route("/api/version", get(version))
        .route("/api/{camera}/recordings", get(recordings))
        .route("/api/{camera}/latest.jpg", get(latest))
        .with_state(dev)
}

/// Flask's `jsonify`: compact, with a trailing newline.
fn json(body: String) -> Response {
    ([("content-type", "application/json")], format!("{body}\n")).into_response()
}

fn full_version(d: &DeviceState) -> String {
    format!("{}-{COMMIT}", d.firmware)
}

async fn stats(State(dev): State<Shared>) -> Response {
    let d = lock(&dev).clone();
    let disk = match d.disks.first() {
        Some(x) if !x.status.eq_ignore_ascii_case("ok") => None,
        Some(x) => Some((x.capacity_mb, x.free_mb)),
        None => Some(DEFAULT_MIB),
    };
    let disk = disk.map(|(total, free)| {
        let mib = |v: u64| format!("{v}.0");
        context! { total => mib(total), free => mib(free), used => mib(total.saturating_sub(free)) }
    });
    let ctx = context! {
        channels => d.channels,
        firmware => d.firmware,
        version => full_version(&d),
        now => snapshot_time(d.now()),
        disk,
    };
    json(render("stats", STATS, ctx))
}

/// The detect stream's size, which `latest.jpg` sends without `h`.
const DETECT: Size = Size { w: 1280, h: 720 };

/// The camera's latest frame, `h` pixels high when asked (within what the
/// sim draws).
async fn latest(
    State(dev): State<Shared>,
    Path(camera): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let h = q.get("h").and_then(|v| v.parse::<u32>().ok());
    let size = h
        .map(|h| h.clamp(16, u32::from(Size::MAX.h)))
        .and_then(|h| DETECT.with_height(h))
        .unwrap_or(DETECT);
    match jpeg(&dev, &camera, size).await {
        Some(body) => jpeg_response(body),
        None => {
            let body = r#"{"message":"Camera not found","success":false}"#.to_owned();
            (StatusCode::NOT_FOUND, json(body)).into_response()
        }
    }
}

/// When the latest stats snapshot was taken: the last whole interval.
fn snapshot_time(now: Timestamp) -> i64 {
    now.as_second().div_euclid(STATS_INTERVAL_S) * STATS_INTERVAL_S
}

/// Plain text, as Flask sends a returned string.
async fn version(State(dev): State<Shared>) -> Response {
    let v = full_version(&lock(&dev));
    let body = render("version", VERSION, context! { version => v });
    ([("content-type", "text/html; charset=utf-8")], body).into_response()
}

/// Segments overlapping `after..before` (Frigate's defaults: the last
/// hour), oldest first. An unknown camera gets `[]`, as from Frigate,
/// which does not check the name.
async fn recordings(
    State(dev): State<Shared>,
    Path(camera): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let now = lock(&dev).now();
    let secs = |k: &str| q.get(k).and_then(|v| v.parse::<f64>().ok());
    let after = secs("after").unwrap_or((now - SignedDuration::from_hours(1)).as_second() as f64);
    let before = secs("before").unwrap_or(now.as_second() as f64);
    let newest = lock(&dev)
        .channels
        .iter()
        .find(|c| c.id == camera)
        .and_then(|c| c.last_segment_end(now));
    let segments: Vec<_> = newest
        .map(|end| segments(end, after, before))
        .unwrap_or_default()
        .into_iter()
        .map(|(start, end)| {
            context! {
                start => format!("{start:.1}"),
                end => format!("{end:.1}"),
                tag => tag(start),
            }
        })
        .collect();
    json(render("recordings", RECORDINGS, context! { segments }))
}

/// Ten-second segments ending at `newest` and going back, those that
/// overlap the window, oldest first, as (start, end) Unix seconds.
fn segments(newest: Timestamp, after: f64, before: f64) -> Vec<(f64, f64)> {
    let step = SEGMENT.as_secs_f64();
    let mut end = newest.as_millisecond() as f64 / 1000.0;
    let mut out = Vec::new();
    while end >= after && out.len() < MAX_SEGMENTS {
        if end - step <= before {
            out.push((end - step, end));
        }
        end -= step;
    }
    out.reverse();
    out
}

/// Six characters after the start time in a segment id, as Frigate's
/// random suffix; derived from the time so the answer is stable.
fn tag(start: f64) -> String {
    let mut n = start as u64;
    (0..6)
        .map(|_| {
            let c = b"abcdefghijklmnopqrstuvwxyz0123456789"[(n % 36) as usize];
            n /= 36;
            char::from(c)
        })
        .collect()
}
