//! Simulated Shelly plugs: Gen1 HTTP (`/status`, `/settings`, `/relay/N`),
//! Gen2 RPC over HTTP (`/rpc/Switch.*`) and over MQTT RPC frames. An
//! overpower fault switches the output off, as the real devices do.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use minijinja::context;
use serde_json::{json, Value};

use crate::fixture::render;
use crate::mqtt_device::{Behaviour, Out};
use crate::state::{lock, DeviceState, Shared};

const GEN1_STATUS: &str = include_str!("../templates/shelly1/status.json");
const GEN1_SETTINGS: &str = include_str!("../templates/shelly1/settings.json");
const SWITCH_STATUS: &str = include_str!("../templates/shelly2/switch_status.json");
const SWITCH_CONFIG: &str = include_str!("../templates/shelly2/switch_config.json");

fn unixtime() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Overpower trips the relay off and keeps it off while the fault lasts.
fn trip(d: &mut DeviceState) {
    if d.faults.iter().any(|f| f == "overpower") {
        d.relays.iter_mut().for_each(|r| *r = false);
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [("content-type", "application/json")], body).into_response()
}

pub fn gen1_router(dev: Shared) -> Router {
    Router::new()
        .route("/status", get(gen1_status))
        .route("/settings", get(gen1_settings))
        .route("/relay/{n}", get(gen1_relay))
        .with_state(dev)
}

fn gen1_relays(d: &DeviceState) -> Vec<Value> {
    (0..d.relays.len())
        .map(|i| json!({ "on": d.relays[i], "power": d.power_w(i) }))
        .collect()
}

async fn gen1_status(State(dev): State<Shared>) -> Response {
    let mut d = lock(&dev);
    trip(&mut d);
    let ctx = context! {
        relays => gen1_relays(&d), unixtime => unixtime(), time => "08:00",
        temperature => d.temperature_c,
        overpower => d.faults.iter().any(|f| f == "overpower"),
        overtemp => d.faults.iter().any(|f| f == "overtemp"),
    };
    json_response(StatusCode::OK, render("status", GEN1_STATUS, ctx))
}

async fn gen1_settings(State(dev): State<Shared>) -> Response {
    let d = lock(&dev);
    let default_state = match d.power_on.as_str() {
        "off" | "on" => d.power_on.as_str(),
        _ => "last",
    };
    let ctx = context! { relays => gen1_relays(&d), name => d.id, default_state };
    json_response(StatusCode::OK, render("settings", GEN1_SETTINGS, ctx))
}

async fn gen1_relay(
    State(dev): State<Shared>,
    Path(n): Path<usize>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut d = lock(&dev);
    let Some(current) = d.relays.get(n).copied() else {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    let new = match q.get("turn").map(String::as_str) {
        Some("on") => true,
        Some("off") => false,
        Some("toggle") => !current,
        _ => current,
    };
    d.relays[n] = new;
    trip(&mut d);
    let body = json!({ "ison": d.relays[n], "has_timer": false, "timer_started": 0, "timer_duration": 0,
        "timer_remaining": 0, "overpower": d.faults.iter().any(|f| f == "overpower"), "source": "http" });
    json_response(StatusCode::OK, body.to_string())
}

pub fn rpc_router(dev: Shared) -> Router {
    Router::new()
        .route("/rpc/{method}", get(rpc_get))
        .with_state(dev)
}

async fn rpc_get(
    State(dev): State<Shared>,
    Path(method): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut params = json!({});
    if let Some(id) = q.get("id").and_then(|i| i.parse::<u64>().ok()) {
        params["id"] = json!(id);
    }
    if let Some(on) = q.get("on") {
        params["on"] = json!(on == "true");
    }
    match rpc(&mut lock(&dev), &method, &params, "http") {
        Ok(v) => json_response(StatusCode::OK, v.to_string()),
        Err(e) => json_response(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// One RPC call: the result, or the error object (`code`, `message`).
fn rpc(d: &mut DeviceState, method: &str, params: &Value, source: &str) -> Result<Value, Value> {
    let id = params.get("id").and_then(Value::as_u64).unwrap_or(0) as usize;
    if id >= d.relays.len() {
        return Err(
            json!({ "code": -105, "message": format!("Argument 'id', value {id} not found!") }),
        );
    }
    trip(d);
    match method {
        "Switch.GetStatus" => {
            let ctx = context! {
                id, source, on => d.relays[id], power => d.power_w(id), voltage => d.voltage_v,
                current => format!("{:.3}", d.current_a(id)), temperature => d.temperature_c,
                unixtime => unixtime(), errors => d.faults,
            };
            serde_json::from_str(&render("switch_status", SWITCH_STATUS, ctx))
                .map_err(|e| json!({"code": -1, "message": e.to_string()}))
        }
        "Switch.GetConfig" => {
            let initial_state = match d.power_on.as_str() {
                "off" | "on" => d.power_on.as_str(),
                _ => "restore_last",
            };
            let ctx = context! { id, name => d.id, initial_state };
            serde_json::from_str(&render("switch_config", SWITCH_CONFIG, ctx))
                .map_err(|e| json!({"code": -1, "message": e.to_string()}))
        }
        "Switch.Set" => {
            let was_on = d.relays[id];
            d.relays[id] = params.get("on").and_then(Value::as_bool).unwrap_or(was_on);
            trip(d);
            Ok(json!({ "was_on": was_on }))
        }
        _ => Err(
            json!({ "code": -114, "message": format!("Method {method} failed: Method not found!") }),
        ),
    }
}

pub fn mqtt_behaviour(dev: &Shared) -> Behaviour {
    let prefix = lock(dev).topic.clone();
    Behaviour {
        client_id: prefix.clone(),
        will: (format!("{prefix}/online"), "false".into()),
        subscribe: vec![format!("{prefix}/rpc")],
        hello: |d| vec![(format!("{}/online", d.topic), "true".into(), true)],
        answer: answer_frame,
        telemetry: |_| Vec::new(),
        every: Duration::from_secs(60),
    }
}

fn answer_frame(d: &mut DeviceState, _topic: &str, payload: &str) -> Vec<Out> {
    let Ok(frame) = serde_json::from_str::<Value>(payload) else {
        return Vec::new();
    };
    let (Some(src), Some(method)) = (
        frame.get("src").and_then(Value::as_str),
        frame.get("method").and_then(Value::as_str),
    ) else {
        return Vec::new();
    };
    let params = frame.get("params").cloned().unwrap_or(json!({}));
    let mut reply = json!({ "id": frame.get("id").cloned().unwrap_or(Value::Null), "src": d.topic, "dst": src });
    match rpc(d, method, &params, "MQTT") {
        Ok(result) => reply["result"] = result,
        Err(error) => reply["error"] = error,
    }
    vec![(format!("{src}/rpc"), reply.to_string(), false)]
}
