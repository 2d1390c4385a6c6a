//! SOAP 1.2 envelopes, the WS-Security UsernameToken that ONVIF devices
//! take as their login, and SOAP faults turned into probe errors.

use base64::Engine;
use sha1::{Digest, Sha1};

use crate::http::Creds;
use crate::probe::ProbeError;
use crate::xml;

const WSSE: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
const WSU: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
const DIGEST_TYPE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest";
const BASE64_TYPE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary";

/// One ONVIF operation: its service namespace, name and arguments (XML in
/// the operation's namespace).
#[derive(Debug, Clone, Copy)]
pub struct Op {
    pub ns: &'static str,
    pub name: &'static str,
    pub args: &'static str,
}

impl Op {
    pub const fn new(ns: &'static str, name: &'static str, args: &'static str) -> Op {
        Op { ns, name, args }
    }

    /// The Body's one element.
    pub fn body(&self) -> String {
        let (ns, name, args) = (self.ns, self.name, self.args);
        if args.is_empty() {
            format!("<{name} xmlns=\"{ns}\"/>")
        } else {
            format!("<{name} xmlns=\"{ns}\">{args}</{name}>")
        }
    }

    /// SOAP 1.2 names the action in the Content-Type (there is no
    /// SOAPAction header); devices dispatch on the Body, but it costs nothing.
    pub fn content_type(&self) -> String {
        format!(
            "application/soap+xml; charset=utf-8; action=\"{}/{}\"",
            self.ns, self.name
        )
    }
}

/// The whole request for `op`, with a UsernameToken when given
/// `(credentials, nonce, created)`.
pub fn request(op: &Op, token: Option<(&Creds, &[u8], &str)>) -> String {
    let header = token.map_or(String::new(), |(c, nonce, created)| {
        security_header(c, nonce, created)
    });
    envelope(&header, &op.body())
}

/// A SOAP 1.2 envelope around one operation, with an optional header.
pub fn envelope(header: &str, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\">\
<s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )
}

/// A fresh nonce for every request: a device may refuse one it has seen.
pub fn nonce() -> Vec<u8> {
    (0..16).map(|_| fastrand::u8(..)).collect()
}

/// Base64(SHA-1(nonce + created + password)): the UsernameToken profile's
/// password digest, over the raw nonce bytes (not their Base64 text).
pub fn password_digest(nonce: &[u8], created: &str, password: &str) -> String {
    let mut h = Sha1::new();
    h.update(nonce);
    h.update(created.as_bytes());
    h.update(password.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// The `wsse:Security` header carrying a UsernameToken with a password
/// digest; the password itself never leaves the agent.
pub fn security_header(c: &Creds, nonce: &[u8], created: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        "<wsse:Security s:mustUnderstand=\"1\" xmlns:wsse=\"{WSSE}\" xmlns:wsu=\"{WSU}\">\
<wsse:UsernameToken><wsse:Username>{user}</wsse:Username>\
<wsse:Password Type=\"{DIGEST_TYPE}\">{digest}</wsse:Password>\
<wsse:Nonce EncodingType=\"{BASE64_TYPE}\">{nonce}</wsse:Nonce>\
<wsu:Created>{created}</wsu:Created>\
</wsse:UsernameToken></wsse:Security>",
        user = escape(&c.username),
        digest = password_digest(nonce, created, c.password.expose()),
        nonce = b64.encode(nonce),
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A SOAP fault as a probe error, `None` for an ordinary answer.
/// `ter:NotAuthorized` (ONVIF) and `wsse:FailedAuthentication` (WS-Security)
/// both mean the UsernameToken was refused.
pub fn fault(body: &str) -> Result<Option<ProbeError>, ProbeError> {
    if !body.contains("Fault") {
        return Ok(None);
    }
    let doc = xml::parse(body)?;
    let Some(f) = xml::find(doc.root_element(), "Fault") else {
        return Ok(None);
    };
    // Code/Value, then Subcode/Value, most specific last.
    let codes: Vec<&str> = xml::all(f, "Value")
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    let local = |c: &&str| c.rsplit(':').next().unwrap_or(c).to_owned();
    if codes
        .iter()
        .map(local)
        .any(|c| c == "NotAuthorized" || c == "FailedAuthentication")
    {
        return Ok(Some(ProbeError::Unauthorized));
    }
    let reason = xml::text(f, "Text").unwrap_or("no reason given");
    let code = codes.last().copied().unwrap_or("?");
    Ok(Some(ProbeError::Device(format!(
        "SOAP fault {code}: {reason}"
    ))))
}
