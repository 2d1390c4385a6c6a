//! Simulated ONVIF recorder: the device service (ONVIF Core) and the
//! Profile G Recording Search service, SOAP 1.2 over HTTP. The caller's
//! WS-Security UsernameToken is checked as a UsernameToken-only device does
//! (ONVIF Core 5.9.1, 5.9.5): the digest against the device's user and
//! password, a `Created` close to the device clock, a nonce not seen before.
//! The PRE_AUTH operations answer anyone. Every answer comes from a template
//! under `templates/onvif/`, by the device's own clock (`DeviceState::now`,
//! skew included). With `get_services` off it is an ONVIF 1.x device: it
//! refuses `GetServices` with the generic `ter:ActionNotSupported` fault
//! (Core 5.8.2.2) and names its services through `GetCapabilities` alone.
//! The Media service and the snapshots: [`media`]. No event service: the
//! picture events (`tns1:VideoSource/…`) need a PullPoint subscription,
//! which the agent does not read.

mod media;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use minijinja::context;
use ronda_agent::xml;
use sha1::{Digest, Sha1};

use crate::fixture::render;
use crate::state::{lock, DeviceState, Shared};

const TIME: &str = include_str!("../../templates/onvif/get_system_date_and_time.xml");
const INFO: &str = include_str!("../../templates/onvif/get_device_information.xml");
const SERVICES: &str = include_str!("../../templates/onvif/get_services.xml");
const SUMMARY: &str = include_str!("../../templates/onvif/get_recording_summary.xml");
const FAULT: &str = include_str!("../../templates/onvif/fault.xml");
const CAPABILITIES: &str = include_str!("../../templates/onvif/get_capabilities.xml");

const PASSWORD_DIGEST: &str = "#PasswordDigest";
/// How far `Created` may be from the device clock. The Core names no
/// window; clients assume a few seconds, devices allow more.
const CREATED_WINDOW: SignedDuration = SignedDuration::from_secs(30);
/// Nonces remembered against replay.
const NONCES_KEPT: usize = 256;

/// The device, and the nonces its tokens have used.
#[derive(Clone)]
struct Onvif {
    dev: Shared,
    nonces: Arc<Mutex<VecDeque<String>>>,
}

#[derive(Clone, Copy, PartialEq)]
enum Service {
    Device,
    Search,
    Media,
}

pub fn router(dev: Shared) -> Router {
    let state = Onvif {
        dev: dev.clone(),
        nonces: Arc::default(),
    };
    Router::new()
        .route("/onvif/device_service", post(device_service))
        .route("/onvif/search_service", post(search_service))
        .route("/onvif/media_service", post(media_service))
        .with_state(state)
        .merge(
            Router::new()
                .route("/onvif/snapshot", get(media::snapshot))
                .with_state(dev),
        )
}

async fn device_service(State(o): State<Onvif>, body: String) -> Response {
    o.serve(Service::Device, &body, "")
}

async fn search_service(State(o): State<Onvif>, body: String) -> Response {
    o.serve(Service::Search, &body, "")
}

async fn media_service(State(o): State<Onvif>, headers: HeaderMap, body: String) -> Response {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    o.serve(Service::Media, &body, host)
}

/// A SOAP request: its operation and its UsernameToken, if any.
struct Request {
    op: String,
    token: Option<Token>,
}

struct Token {
    username: String,
    password: String,
    password_type: String,
    nonce: String,
    created: String,
}

impl Onvif {
    /// Answer one SOAP request; `host` is where it came to (for URIs).
    fn serve(&self, service: Service, body: &str, host: &str) -> Response {
        let d = lock(&self.dev).clone();
        let Some(req) = parse_request(body) else {
            return fault("Sender", "WellFormed", "Well-formed Error");
        };
        let op = (service, req.op.as_str());
        // Core 5.9.4.3, access class PRE_AUTH: answered without a login, so
        // that a client can learn the clock it must date its token with.
        let pre_auth = matches!(
            op,
            (
                Service::Device,
                "GetSystemDateAndTime" | "GetServices" | "GetCapabilities"
            )
        );
        if !pre_auth && !req.token.as_ref().is_some_and(|t| self.token_ok(&d, t)) {
            return fault("Sender", "NotAuthorized", "Sender not Authorized");
        }
        let answer = match op {
            (Service::Device, "GetSystemDateAndTime") => time(&d),
            (Service::Device, "GetDeviceInformation") => render(
                "info",
                INFO,
                context! { model => d.model, firmware => d.firmware, serial => d.serial },
            ),
            (Service::Device, "GetServices") if d.get_services => render("services", SERVICES, ()),
            (Service::Device, "GetCapabilities") => render("capabilities", CAPABILITIES, ()),
            (Service::Search, "GetRecordingSummary") => summary(&d),
            (Service::Media, "GetProfiles") => media::profiles(&d),
            (Service::Media, "GetSnapshotUri") => match media::snapshot_uri(&d, body, host) {
                Some(answer) => answer,
                None => return fault("Sender", "NoProfile", "The profile does not exist"),
            },
            _ => {
                let reason = "Optional Action Not Implemented";
                return fault("Receiver", "ActionNotSupported", reason);
            }
        };
        reply(StatusCode::OK, answer)
    }

    /// A fresh, well-dated token with the right digest. The nonce is
    /// remembered whether or not the rest checks out.
    fn token_ok(&self, d: &DeviceState, t: &Token) -> bool {
        let fresh = {
            let mut seen = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
            let fresh = !seen.contains(&t.nonce);
            if seen.len() >= NONCES_KEPT {
                seen.pop_front();
            }
            seen.push_back(t.nonce.clone());
            fresh
        };
        fresh && timely(&t.created, d.now()) && digest_ok(d, t)
    }
}

fn reply(status: StatusCode, body: String) -> Response {
    let soap = [("content-type", "application/soap+xml; charset=utf-8")];
    (status, soap, body).into_response()
}

/// A fault: HTTP 400 for the sender's, 500 for the device's own, as SOAP
/// 1.2's HTTP binding answers them.
fn fault(code: &str, subcode: &str, reason: &str) -> Response {
    let status = match code {
        "Sender" => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    reply(
        status,
        render("fault", FAULT, context! { code, subcode, reason }),
    )
}

fn parse_request(body: &str) -> Option<Request> {
    let doc = xml::parse(body).ok()?;
    let root = doc.root_element();
    let op = xml::find(root, "Body")?
        .children()
        .find(|n| n.is_element())?
        .tag_name()
        .name()
        .to_owned();
    let token = xml::find(root, "UsernameToken").map(|t| {
        let text = |name: &str| xml::text(t, name).unwrap_or("").to_owned();
        Token {
            username: text("Username"),
            password: text("Password"),
            password_type: xml::find(t, "Password")
                .and_then(|p| p.attribute("Type"))
                .unwrap_or("")
                .to_owned(),
            nonce: text("Nonce"),
            created: text("Created"),
        }
    });
    Some(Request { op, token })
}

/// `Created` is UTC with its `Z`, within [`CREATED_WINDOW`] of `now`.
fn timely(created: &str, now: Timestamp) -> bool {
    created.ends_with('Z')
        && created
            .parse::<Timestamp>()
            .is_ok_and(|t| t.duration_since(now).abs() <= CREATED_WINDOW)
}

/// The password digest must be Base64(SHA-1(nonce + created + password)),
/// over the decoded nonce, for the device's own user.
fn digest_ok(d: &DeviceState, t: &Token) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    let Ok(nonce) = b64.decode(&t.nonce) else {
        return false;
    };
    let mut h = Sha1::new();
    h.update(&nonce);
    h.update(t.created.as_bytes());
    h.update(d.auth.password.as_bytes());
    t.username == d.auth.username
        && t.password_type.ends_with(PASSWORD_DIGEST)
        && b64.encode(h.finalize()) == t.password
}

fn parts(t: Timestamp, offset: jiff::tz::Offset) -> minijinja::Value {
    let z = t.to_zoned(jiff::tz::TimeZone::fixed(offset));
    context! { year => z.year(), month => z.month(), day => z.day(), hour => z.hour(), minute => z.minute(), second => z.second() }
}

/// The device clock in UTC, and on its wall clock as the local time with
/// its POSIX zone (`WIB-7` is UTC+7: POSIX counts west).
fn time(d: &DeviceState) -> String {
    let (now, offset) = (d.now(), d.offset());
    let hours = -offset.seconds() / 3600;
    let tz = if hours == -7 {
        "WIB-7".to_owned()
    } else {
        format!("UTC{hours}")
    };
    render(
        "time",
        TIME,
        context! { u => parts(now, jiff::tz::Offset::UTC), l => parts(now, offset), tz },
    )
}

/// One recording per channel. `DataUntil` is the newest segment end over all
/// of them: the summary is device-wide.
fn summary(d: &DeviceState) -> String {
    let now = d.now();
    let until = d
        .channels
        .iter()
        .filter_map(|c| c.last_segment_end(now))
        .max();
    let fmt = |t: Timestamp| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let (from, until, count) = match until {
        Some(until) => (
            fmt(now - SignedDuration::from_hours(24 * 14)),
            fmt(until),
            d.channels.len(),
        ),
        // Nothing recorded at all: no recordings, and the epoch for the
        // times, as devices write them.
        None => (fmt(Timestamp::UNIX_EPOCH), fmt(Timestamp::UNIX_EPOCH), 0),
    };
    render("summary", SUMMARY, context! { from, until, count })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!("{}/fixtures/onvif/{name}", env!("CARGO_MANIFEST_DIR"));
        crate::fixture::body(&std::fs::read_to_string(path).unwrap()).to_owned()
    }

    fn aula() -> DeviceState {
        crate::layout::default_office()
            .into_iter()
            .find(|d| d.id == "nvr-aula")
            .unwrap()
    }

    #[test]
    fn the_spec_requests_parse_and_their_token_checks() {
        let r = parse_request(&fixture("get_system_date_and_time_request.xml")).unwrap();
        assert_eq!(
            (r.op.as_str(), r.token.is_none()),
            ("GetSystemDateAndTime", true)
        );
        let r = parse_request(&fixture("get_services_request.xml")).unwrap();
        assert_eq!(r.op, "GetServices");
        let r = parse_request(&fixture("get_recording_summary_request.xml")).unwrap();
        assert_eq!(r.op, "GetRecordingSummary");
        let r = parse_request(&fixture("get_device_information_request.xml")).unwrap();
        assert_eq!(r.op, "GetDeviceInformation");
        // The worked example's digest is right for operator / Aula2018 ...
        let t = r.token.unwrap();
        let mut d = aula();
        assert!(digest_ok(&d, &t));
        d.auth.password = "changed".into();
        assert!(!digest_ok(&d, &t));
        // ... and its Created of 2018 is far too old for today's device.
        let then: Timestamp = "2018-06-11T01:00:10Z".parse().unwrap();
        assert!(timely(&t.created, then));
        assert!(!timely(&t.created, Timestamp::now()));
        assert!(parse_request("<s:Envelope").is_none());
    }

    #[test]
    fn a_nonce_is_good_once() {
        let o = Onvif {
            dev: Arc::new(Mutex::new(aula())),
            nonces: Arc::default(),
        };
        let d = aula();
        let t = parse_request(&fixture("get_device_information_request.xml"))
            .unwrap()
            .token
            .unwrap();
        // Re-date the worked example's token to now, with a fresh digest.
        let created = Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let nonce: Vec<u8> = (0..16).collect();
        let password = ronda_agent::recorders::onvif::password_digest(&nonce, &created, "Aula2018");
        let t = Token {
            created,
            password,
            ..t
        };
        assert!(o.token_ok(&d, &t));
        assert!(!o.token_ok(&d, &t), "a replayed nonce is refused");
    }
}
