//! Simulated Tasmota plug: the HTTP command API (`/cm?cmnd=…`) and the MQTT
//! topics (`cmnd/`, `stat/`, `tele/`), both answering from the same state.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use minijinja::context;
use serde::Deserialize;

use crate::fixture::render;
use crate::mqtt_device::{Behaviour, Out};
use crate::state::{lock, DeviceState, Shared};

const STATUS0: &str = include_str!("../templates/tasmota/status0.json");
const STATE: &str = include_str!("../templates/tasmota/state.json");
const ENERGY: &str = include_str!("../templates/tasmota/energy.json");

fn local_time(minutes_only: bool) -> (String, String) {
    let now = jiff::Timestamp::now();
    let wib = now.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(7)));
    let fmt = if minutes_only {
        "%Y-%m-%dT%H:%M:00"
    } else {
        "%Y-%m-%dT%H:%M:%S"
    };
    (
        now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        wib.strftime(fmt).to_string(),
    )
}

fn power_on_state(d: &DeviceState) -> u8 {
    match d.power_on.as_str() {
        "off" => 0,
        "on" => 1,
        _ => 3,
    }
}

/// One number, or an array with one entry per relay on a multi-channel meter.
fn per_relay(d: &DeviceState, f: impl Fn(usize) -> f32) -> String {
    let values: Vec<String> = (0..d.relays.len())
        .map(|i| format!("{:.3}", f(i)))
        .collect();
    match values.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(",")),
    }
}

fn energy(d: &DeviceState) -> String {
    let factor = per_relay(d, |i| if d.relays[i] { 0.93 } else { 0.0 });
    let ctx = context! {
        power => per_relay(d, |i| d.power_w(i)),
        current => per_relay(d, |i| d.current_a(i)),
        voltage => d.voltage_v,
        factor,
    };
    render("energy", ENERGY, ctx)
}

fn state(d: &DeviceState, minutes_only: bool) -> String {
    let (_, local) = local_time(minutes_only);
    render("state", STATE, context! { relays => d.relays, local })
}

fn status0(d: &DeviceState) -> String {
    let (utc, local) = local_time(false);
    let bits: String = d
        .relays
        .iter()
        .rev()
        .map(|on| if *on { '1' } else { '0' })
        .collect();
    let ctx = context! {
        name => d.id, topic => d.topic, relays => d.relays, bits, utc, local,
        power_on_state => power_on_state(d), energy => energy(d), sts => state(d, false),
    };
    render("status0", STATUS0, ctx)
}

fn power_key(d: &DeviceState, i: usize) -> String {
    if d.relays.len() > 1 {
        format!("POWER{}", i + 1)
    } else {
        "POWER".into()
    }
}

/// Run one command; the answer is `(stat/ topic suffix, JSON)`.
fn command(d: &mut DeviceState, cmnd: &str, arg: &str) -> (String, String) {
    let cmnd = cmnd.to_ascii_uppercase();
    let unknown = ("RESULT".to_owned(), r#"{"Command":"Unknown"}"#.to_owned());
    match (cmnd.as_str(), arg.trim()) {
        ("STATUS", "0") => ("STATUS0".into(), status0(d)),
        ("STATUS", "8" | "10") => {
            let (_, local) = local_time(false);
            (
                "STATUS8".into(),
                format!(
                    r#"{{"StatusSNS":{{"Time":"{local}","ENERGY":{}}}}}"#,
                    energy(d)
                ),
            )
        }
        ("STATE", _) => ("RESULT".into(), state(d, false)),
        ("POWERONSTATE", _) => (
            "RESULT".into(),
            format!(r#"{{"PowerOnState":{}}}"#, power_on_state(d)),
        ),
        (c, arg) if c.starts_with("POWER") => {
            let i = c[5..].parse::<usize>().unwrap_or(1).saturating_sub(1);
            let Some(relay) = d.relays.get(i).copied() else {
                return unknown;
            };
            let new = match arg.to_ascii_uppercase().as_str() {
                "" => relay,
                "ON" | "1" => true,
                "OFF" | "0" => false,
                "TOGGLE" | "2" => !relay,
                _ => return unknown,
            };
            d.relays[i] = new;
            let word = if new { "ON" } else { "OFF" };
            (
                "RESULT".into(),
                format!(r#"{{"{}":"{word}"}}"#, power_key(d, i)),
            )
        }
        _ => unknown,
    }
}

#[derive(Deserialize)]
struct Cm {
    cmnd: String,
    user: Option<String>,
    password: Option<String>,
}

pub fn router(dev: Shared) -> Router {
    Router::new().route("/cm", get(cm)).with_state(dev)
}

async fn cm(State(dev): State<Shared>, Query(q): Query<Cm>) -> Response {
    let mut d = lock(&dev);
    let json = [("content-type", "application/json")];
    if !d.auth.password.is_empty()
        && (q.user.as_deref() != Some(d.auth.username.as_str())
            || q.password.as_deref() != Some(d.auth.password.as_str()))
    {
        let body = r#"{"WARNING":"Need user=<username>&password=<password>"}"#;
        return (StatusCode::UNAUTHORIZED, json, body).into_response();
    }
    let (cmnd, arg) = q.cmnd.split_once(' ').unwrap_or((q.cmnd.as_str(), ""));
    (json, command(&mut d, cmnd, arg).1).into_response()
}

pub fn mqtt_behaviour(dev: &Shared) -> Behaviour {
    let topic = lock(dev).topic.clone();
    Behaviour {
        client_id: format!("DVES_{topic}"),
        will: (format!("tele/{topic}/LWT"), "Offline".into()),
        subscribe: vec![format!("cmnd/{topic}/#")],
        hello: |d| vec![(format!("tele/{}/LWT", d.topic), "Online".into(), true)],
        answer: answer_mqtt,
        telemetry,
        every: Duration::from_secs(10),
    }
}

fn answer_mqtt(d: &mut DeviceState, topic: &str, payload: &str) -> Vec<Out> {
    let Some(cmnd) = topic.rsplit('/').next() else {
        return Vec::new();
    };
    let (suffix, json) = command(d, cmnd, payload);
    let t = &d.topic;
    let mut out = vec![(format!("stat/{t}/{suffix}"), json.clone(), false)];
    // Tasmota also says a relay's new state in plain text on stat/<t>/POWERn.
    if let Ok(serde_json::Value::Object(m)) = serde_json::from_str::<serde_json::Value>(&json) {
        for (k, v) in m.iter().filter(|(k, _)| k.starts_with("POWER")) {
            out.push((
                format!("stat/{t}/{k}"),
                v.as_str().unwrap_or("").to_owned(),
                false,
            ));
        }
    }
    out
}

fn telemetry(d: &DeviceState) -> Vec<Out> {
    let (_, local) = local_time(true);
    let t = &d.topic;
    vec![
        (format!("tele/{t}/STATE"), state(d, true), false),
        (
            format!("tele/{t}/SENSOR"),
            format!(r#"{{"Time":"{local}","ENERGY":{}}}"#, energy(d)),
            false,
        ),
    ]
}
