//! The Media service answers the ONVIF viewer reads (ONVIF Media Service
//! Specification, github.com/onvif/specs doc/Media.xml: GetProfiles,
//! GetSnapshotUri; the service found through GetServices or
//! GetCapabilities), matched by local name like the adapter's others.

use super::parse::{child, path_of};
use super::Op;
use crate::probe::ProbeError;
use crate::xml;

/// The Media service's namespace, as GetServices lists it.
pub const MEDIA_NS: &str = "http://www.onvif.org/ver10/media/wsdl";

pub const GET_PROFILES: Op = Op::new(MEDIA_NS, "GetProfiles", "");

/// The Media service's path from `GetServices`; `None` when it lists none.
pub fn media_path(body: &str) -> Result<Option<String>, ProbeError> {
    let doc = xml::parse(body)?;
    if xml::find(doc.root_element(), "GetServicesResponse").is_none() {
        return Err(ProbeError::Parse("no GetServicesResponse".into()));
    }
    let xaddr = xml::all(doc.root_element(), "Service")
        .find(|s| xml::child_text(*s, "Namespace") == Some(MEDIA_NS))
        .and_then(|s| xml::child_text(s, "XAddr"));
    Ok(xaddr.map(path_of))
}

/// The Media service's path from `GetCapabilities` (`Capabilities/Media/XAddr`).
pub fn capabilities_media_path(body: &str) -> Result<Option<String>, ProbeError> {
    let doc = xml::parse(body)?;
    let Some(answer) = xml::find(doc.root_element(), "GetCapabilitiesResponse") else {
        return Err(ProbeError::Parse("no GetCapabilitiesResponse".into()));
    };
    let xaddr = child(answer, "Capabilities")
        .and_then(|c| child(c, "Media"))
        .and_then(|m| xml::child_text(m, "XAddr"))
        .filter(|x| !x.is_empty());
    Ok(xaddr.map(path_of))
}

/// A media profile as far as a snapshot needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub token: String,
    /// The video source it encodes: a camera.
    pub source: Option<String>,
    /// Its encoder's width × height, when it says.
    pub pixels: Option<u64>,
}

/// Most profiles read from one answer: a recorder has a few per camera.
const MAX_PROFILES: usize = 512;

/// `GetProfiles`: every profile with its token, source and size.
pub fn parse_profiles(body: &str) -> Result<Vec<Profile>, ProbeError> {
    let doc = xml::parse(body)?;
    let Some(answer) = xml::find(doc.root_element(), "GetProfilesResponse") else {
        return Err(ProbeError::Parse("no GetProfilesResponse".into()));
    };
    Ok(answer
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == "Profiles")
        .take(MAX_PROFILES)
        .filter_map(|p| {
            let token = p.attribute("token")?.to_owned();
            let source = child(p, "VideoSourceConfiguration")
                .and_then(|v| xml::child_text(v, "SourceToken"))
                .map(str::to_owned);
            let size = child(p, "VideoEncoderConfiguration").and_then(|e| child(e, "Resolution"));
            let dim =
                |name| size.and_then(|r| xml::child_text(r, name)?.trim().parse::<u64>().ok());
            let pixels = dim("Width").zip(dim("Height")).map(|(w, h)| w * h);
            Some(Profile {
                token,
                source,
                pixels,
            })
        })
        .collect())
}

/// The profile of a configured channel: the profile with that token, or
/// for a number N, the smallest profile of the N-th video source in the
/// answer's order (its sub-stream: the smallest picture the device gives).
pub fn profile_for<'a>(profiles: &'a [Profile], channel: &str) -> Option<&'a Profile> {
    if let Some(p) = profiles.iter().find(|p| p.token == channel) {
        return Some(p);
    }
    let n: usize = channel.parse().ok().filter(|n| *n >= 1)?;
    let mut sources: Vec<&str> = Vec::new();
    for p in profiles {
        if let Some(s) = p.source.as_deref() {
            if !sources.contains(&s) {
                sources.push(s);
            }
        }
    }
    let source = *sources.get(n - 1)?;
    profiles
        .iter()
        .filter(|p| p.source.as_deref() == Some(source))
        .min_by_key(|p| p.pixels.unwrap_or(u64::MAX))
}

/// `GetSnapshotUri` of one profile, its token escaped for XML.
pub fn snapshot_uri_request(token: &str) -> String {
    let escaped = token
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!("<GetSnapshotUri xmlns=\"{MEDIA_NS}\"><ProfileToken>{escaped}</ProfileToken></GetSnapshotUri>")
}

/// The path and query of the URI a `GetSnapshotUri` answer gives. Only the
/// path is kept: the picture is asked of the configured scheme, host and
/// port, so the credentials never go to a host the device names.
pub fn parse_snapshot_uri(body: &str) -> Result<String, ProbeError> {
    let doc = xml::parse(body)?;
    let uri = xml::find(doc.root_element(), "MediaUri")
        .and_then(|m| xml::child_text(m, "Uri"))
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ProbeError::Parse("no MediaUri/Uri in GetSnapshotUriResponse".into()))?;
    Ok(path_of(uri))
}
