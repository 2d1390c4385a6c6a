//! Simulated Frigate NVR: `/api/stats`, `/api/version` and per-camera
//! `/api/<camera>/recordings`, answered from the simulated channels.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use jiff::Timestamp;
use minijinja::context;

use crate::fixture::render;
use crate::state::{lock, Shared};

const STATS: &str = include_str!("../templates/frigate/stats.json");
const RECORDINGS: &str = include_str!("../templates/frigate/recordings.json");

/// The recordings disk of the simulated Frigate host, in MiB.
const TOTAL_MIB: u64 = 953_869;

pub fn router(dev: Shared) -> Router {
    Router::new()
        .route("/api/stats", get(stats))
        .route("/api/version", get(version))
        .route("/api/{camera}/recordings", get(recordings))
        .with_state(dev)
}

fn json(body: String) -> Response {
    ([("content-type", "application/json")], body).into_response()
}

async fn stats(State(dev): State<Shared>) -> Response {
    let d = lock(&dev).clone();
    let free = d.disks.first().map_or(412_345, |x| x.free_mb);
    let ctx = context! { channels => d.channels, firmware => d.firmware, now => Timestamp::now().as_second(), total => TOTAL_MIB, free };
    json(render("stats", STATS, ctx))
}

async fn version(State(dev): State<Shared>) -> String {
    format!("{}-f4f3cfa", lock(&dev).firmware)
}

async fn recordings(
    State(dev): State<Shared>,
    Path(camera): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let now = Timestamp::now();
    let d = lock(&dev).clone();
    let Some(ch) = d.channels.iter().find(|c| c.id == camera) else {
        return (
            StatusCode::NOT_FOUND,
            json(r#"{"success":false,"message":"Camera not found"}"#.into()),
        )
            .into_response();
    };
    let after = q
        .get("after")
        .and_then(|a| a.parse::<f64>().ok())
        .unwrap_or(0.0);
    let segments: Vec<_> = ch
        .last_segment_end(now)
        .map(|e| e.as_second() as f64)
        .filter(|end| *end >= after)
        .map(|end| context! { start => format!("{:.1}", end - 10.0), end => format!("{end:.1}") })
        .into_iter()
        .collect();
    json(render("recordings", RECORDINGS, context! { segments }))
}
