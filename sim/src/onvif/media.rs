//! The recorder's Media service (ONVIF Media Service Specification,
//! `trt:` http://www.onvif.org/ver10/media/wsdl): `GetProfiles`, a main
//! 1920×1080 and a sub 640×360 profile per channel, and `GetSnapshotUri`,
//! a URI on the device itself; and that URI's route, which answers the
//! JPEG behind HTTP Digest (ONVIF Core 5.9.1: requests outside SOAP use
//! HTTP authentication).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use ronda_agent::xml;

use crate::auth::{challenge, check, login, Login};
use crate::fixture::render;
use crate::state::{lock, DeviceState, Shared};
use crate::view::serve::{jpeg, jpeg_response};
use crate::view::Size;

const PROFILES: &str = include_str!("../../templates/onvif/get_profiles.xml");
const SNAPSHOT_URI: &str = include_str!("../../templates/onvif/get_snapshot_uri.xml");

/// The streams of every channel: token suffix, name, size.
const STREAMS: [(&str, &str, Size); 2] = [
    ("main", "MainStream", Size::FULL_HD),
    ("sub", "SubStream", Size::SUB),
];

pub fn profiles(d: &DeviceState) -> String {
    let streams: Vec<_> = STREAMS
        .iter()
        .map(|(name, title, s)| context! { name, title, w => s.w, h => s.h })
        .collect();
    render(
        "profiles",
        PROFILES,
        context! { channels => d.channels, streams },
    )
}

/// The channel and size of a profile token `Profile_<channel>_<stream>`.
fn profile(d: &DeviceState, token: &str) -> Option<(String, Size)> {
    let (channel, stream) = token.strip_prefix("Profile_")?.rsplit_once('_')?;
    let size = STREAMS.iter().find(|s| s.0 == stream)?.2;
    d.channels
        .iter()
        .any(|c| c.id == channel)
        .then(|| (channel.to_owned(), size))
}

/// The snapshot URI of the profile named in `body`, on `host` (the
/// request's own `Host`); `None` for no such profile.
pub fn snapshot_uri(d: &DeviceState, body: &str, host: &str) -> Option<String> {
    let doc = xml::parse(body).ok()?;
    let token = xml::text(doc.root_element(), "ProfileToken")?
        .trim()
        .to_owned();
    profile(d, &token)?;
    let uri = format!("http://{host}/onvif/snapshot?token={token}");
    Some(render("snapshot_uri", SNAPSHOT_URI, context! { uri }))
}

/// `GET /onvif/snapshot?token=…`: the profile's picture, for the device's
/// own user with HTTP Digest.
pub async fn snapshot(
    State(dev): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let auth = lock(&dev).auth.clone();
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    let ok = check(&auth, "GET", header);
    if login(&dev, ok, header.is_some()) != Login::Ok {
        return challenge(&auth);
    }
    let asked = q.get("token").map(String::as_str).unwrap_or("");
    let Some((channel, size)) = profile(&lock(&dev), asked) else {
        return (StatusCode::NOT_FOUND, "no such profile\n").into_response();
    };
    match jpeg(&dev, &channel, size).await {
        Some(body) => jpeg_response(body),
        None => (StatusCode::NOT_FOUND, "no such profile\n").into_response(),
    }
}
