//! Simulated ONVIF recorder (Profile S device service, Profile G search):
//! SOAP 1.2 over HTTP, with the WS-Security UsernameToken checked against
//! the device's user and password. `GetSystemDateAndTime` needs no login.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use minijinja::context;
use sha1::{Digest, Sha1};

use crate::fixture::render;
use crate::state::{lock, DeviceState, Shared};

const TIME: &str = include_str!("../templates/onvif/get_system_date_and_time.xml");
const INFO: &str = include_str!("../templates/onvif/get_device_information.xml");
const SERVICES: &str = include_str!("../templates/onvif/get_services.xml");
const SUMMARY: &str = include_str!("../templates/onvif/get_recording_summary.xml");
const FAULT: &str = include_str!("../templates/onvif/fault_not_authorized.xml");

pub fn router(dev: Shared) -> Router {
    Router::new()
        .route("/onvif/device_service", post(soap))
        .route("/onvif/search_service", post(soap))
        .with_state(dev)
}

fn reply(status: StatusCode, body: String) -> Response {
    (
        status,
        [("content-type", "application/soap+xml; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn soap(State(dev): State<Shared>, body: String) -> Response {
    let d = lock(&dev).clone();
    if body.contains("GetSystemDateAndTime") {
        return reply(StatusCode::OK, time());
    }
    if !authorized(&d, &body) {
        return reply(StatusCode::BAD_REQUEST, render("fault", FAULT, ()));
    }
    let answer = if body.contains("GetDeviceInformation") {
        render(
            "info",
            INFO,
            context! { model => d.model, firmware => d.firmware, serial => d.serial },
        )
    } else if body.contains("GetServices") {
        render("services", SERVICES, ())
    } else if body.contains("GetRecordingSummary") {
        summary(&d)
    } else {
        return reply(
            StatusCode::BAD_REQUEST,
            render("fault", FAULT, ()).replace("ter:NotAuthorized", "ter:ActionNotSupported"),
        );
    };
    reply(StatusCode::OK, answer)
}

fn parts(t: Timestamp, offset: i8) -> minijinja::Value {
    let z = t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(offset)));
    context! { year => z.year(), month => z.month(), day => z.day(), hour => z.hour(), minute => z.minute(), second => z.second() }
}

fn time() -> String {
    let now = Timestamp::now();
    render(
        "time",
        TIME,
        context! { u => parts(now, 0), l => parts(now, 7) },
    )
}

fn summary(d: &DeviceState) -> String {
    let now = Timestamp::now();
    let until = d
        .channels
        .iter()
        .filter_map(|c| c.last_segment_end(now))
        .max();
    let fmt = |t: Timestamp| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let from = fmt(now - SignedDuration::from_hours(24 * 14));
    render(
        "summary",
        SUMMARY,
        context! { from, until => until.map(fmt).unwrap_or_else(|| from.clone()), count => d.channels.len() },
    )
}

/// The text inside `<tag …>…</tag>`, attributes ignored.
fn element<'a>(body: &'a str, tag: &str) -> Option<&'a str> {
    let open = [format!("<{tag}>"), format!("<{tag} ")]
        .iter()
        .filter_map(|t| body.find(t.as_str()))
        .min()?;
    let start = open + body[open..].find('>')? + 1;
    let end = start + body[start..].find(&format!("</{tag}>"))?;
    Some(body[start..end].trim())
}

/// Check the UsernameToken's password digest: Base64(SHA-1(nonce + created + password)).
fn authorized(d: &DeviceState, body: &str) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    let (Some(user), Some(digest), Some(nonce), Some(created)) = (
        element(body, "Username"),
        element(body, "Password"),
        element(body, "Nonce"),
        element(body, "Created"),
    ) else {
        return false;
    };
    let Ok(nonce) = b64.decode(nonce) else {
        return false;
    };
    let mut h = Sha1::new();
    h.update(&nonce);
    h.update(created.as_bytes());
    h.update(d.auth.password.as_bytes());
    user == d.auth.username && b64.encode(h.finalize()) == digest
}
