//! ONVIF device and recording-search services (SOAP 1.2 over HTTP).
//!
//! `GetSystemDateAndTime` needs no credentials: it proves the device answers
//! and gives its clock. `GetDeviceInformation`, `GetServices` and the
//! Profile G `GetRecordingSummary` carry a WS-Security UsernameToken with a
//! password digest, Base64(SHA-1(nonce + created + password)).
//!
//! `GetRecordingSummary` is device-wide: its `DataUntil` (the end of the
//! newest recorded data) stands for every configured channel.

use base64::Engine;
use jiff::civil::DateTime;
use jiff::Timestamp;
use sha1::{Digest, Sha1};

use super::{Adapter, BoxFuture, ChannelReading, Reading, RecorderConfig};
use crate::http::{Clients, Creds, Device};
use crate::probe::ProbeError;
use crate::xml;

const DEVICE_NS: &str = "http://www.onvif.org/ver10/device/wsdl";
const SEARCH_NS: &str = "http://www.onvif.org/ver10/search/wsdl";
const SOAP: &str = "application/soap+xml; charset=utf-8";

pub struct Onvif {
    device: Device,
    /// The device service's path (the configured URL's path).
    path: String,
    creds: Option<Creds>,
    channels: Vec<String>,
}

impl Onvif {
    pub fn new(cfg: &RecorderConfig, clients: &Clients) -> Self {
        let (base, path) = split_url(&cfg.url);
        Onvif {
            // No HTTP auth: ONVIF carries its credentials in the SOAP header.
            device: Device::new(clients.pick(cfg.insecure_tls), &base, None, cfg.timeout),
            path,
            creds: cfg.creds.clone(),
            channels: cfg.channels.iter().map(|c| c.id.clone()).collect(),
        }
    }

    async fn call(&self, path: &str, body: &str, secured: bool) -> Result<String, ProbeError> {
        let header = match (&self.creds, secured) {
            (Some(c), true) => security_header(
                c,
                &nonce(),
                &Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            ),
            _ => String::new(),
        };
        let envelope = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
        );
        let answer = self
            .device
            .send(reqwest::Method::POST, path, Some((SOAP, envelope)))
            .await?;
        if let Some(fault) = fault(&answer.body)? {
            return Err(fault);
        }
        if !answer.status.is_success() {
            return Err(ProbeError::Status {
                status: answer.status.as_u16(),
                detail: crate::http::snippet(&answer.body),
            });
        }
        Ok(answer.body)
    }

    async fn read_all(&self) -> Result<Reading, ProbeError> {
        let time = self
            .call(
                &self.path,
                &format!("<GetSystemDateAndTime xmlns=\"{DEVICE_NS}\"/>"),
                false,
            )
            .await?;
        let device_time = parse_system_time(&time)?;
        let info = self
            .call(
                &self.path,
                &format!("<GetDeviceInformation xmlns=\"{DEVICE_NS}\"/>"),
                true,
            )
            .await?;
        let (model, firmware) = parse_device_information(&info)?;
        let services = self
            .call(&self.path, &format!("<GetServices xmlns=\"{DEVICE_NS}\"><IncludeCapability>false</IncludeCapability></GetServices>"), true)
            .await?;
        let (until, missing) = match search_path(&services)? {
            Some(path) => {
                let summary = self
                    .call(
                        &path,
                        &format!("<GetRecordingSummary xmlns=\"{SEARCH_NS}\"/>"),
                        true,
                    )
                    .await?;
                (parse_data_until(&summary)?, None)
            }
            None => (
                None,
                Some("the device offers no recording search (ONVIF Profile G)".to_owned()),
            ),
        };
        let channels = self
            .channels
            .iter()
            .map(|id| ChannelReading {
                online: Some(true),
                last_segment_end: until,
                error: missing.clone(),
                ..ChannelReading::new(id)
            })
            .collect();
        Ok(Reading {
            model: Some(model),
            firmware: Some(firmware),
            device_time: Some(device_time),
            channels,
            ..Reading::default()
        })
    }
}

impl Adapter for Onvif {
    fn read(&self, _now: Timestamp) -> BoxFuture<'_, Result<Reading, ProbeError>> {
        Box::pin(self.read_all())
    }
}

/// `http://host:port/onvif/device_service` into base and path.
fn split_url(url: &str) -> (String, String) {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let base = format!("{}://{}", u.scheme(), u.host_str().unwrap_or(""));
            let base = u.port().map_or(base.clone(), |p| format!("{base}:{p}"));
            (base, u.path().to_owned())
        }
        Err(_) => (url.to_owned(), "/onvif/device_service".to_owned()),
    }
}

fn nonce() -> Vec<u8> {
    (0..16).map(|_| fastrand::u8(..)).collect()
}

/// Base64(SHA-1(nonce + created + password)), as WS-Security's
/// UsernameToken profile defines the password digest.
pub fn password_digest(nonce: &[u8], created: &str, password: &str) -> String {
    let mut h = Sha1::new();
    h.update(nonce);
    h.update(created.as_bytes());
    h.update(password.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

pub fn security_header(c: &Creds, nonce: &[u8], created: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        "<Security s:mustUnderstand=\"1\" xmlns=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\">\
<UsernameToken><Username>{user}</Username>\
<Password Type=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest\">{digest}</Password>\
<Nonce EncodingType=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary\">{nonce}</Nonce>\
<Created xmlns=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\">{created}</Created>\
</UsernameToken></Security>",
        user = escape(&c.username),
        digest = password_digest(nonce, created, c.password.expose()),
        nonce = b64.encode(nonce),
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A SOAP fault as a probe error; `NotAuthorized` is a wrong password.
pub fn fault(body: &str) -> Result<Option<ProbeError>, ProbeError> {
    if !body.contains("Fault") {
        return Ok(None);
    }
    let doc = xml::parse(body)?;
    let Some(f) = xml::find(doc.root_element(), "Fault") else {
        return Ok(None);
    };
    let codes: Vec<&str> = xml::all(f, "Value").filter_map(|n| n.text()).collect();
    if codes.iter().any(|c| c.ends_with("NotAuthorized")) {
        return Ok(Some(ProbeError::Unauthorized));
    }
    let reason = xml::text(f, "Text").unwrap_or("no reason given");
    Ok(Some(ProbeError::Device(format!(
        "SOAP fault {}: {reason}",
        codes.last().unwrap_or(&"?")
    ))))
}

pub fn parse_system_time(body: &str) -> Result<Timestamp, ProbeError> {
    let doc = xml::parse(body)?;
    let utc = xml::find(doc.root_element(), "UTCDateTime")
        .ok_or_else(|| ProbeError::Parse("no UTCDateTime".into()))?;
    let n = |name: &str| -> Result<i16, ProbeError> {
        xml::need(utc, name)?
            .parse()
            .map_err(|_| ProbeError::Parse(format!("<{name}> is not a number")))
    };
    let small =
        |v: i16| i8::try_from(v).map_err(|_| ProbeError::Parse("time field out of range".into()));
    let civil = DateTime::new(
        n("Year")?,
        small(n("Month")?)?,
        small(n("Day")?)?,
        small(n("Hour")?)?,
        small(n("Minute")?)?,
        small(n("Second")?)?,
        0,
    )
    .map_err(|e| ProbeError::Parse(format!("UTCDateTime: {e}")))?;
    jiff::tz::Offset::UTC
        .to_timestamp(civil)
        .map_err(|e| ProbeError::Parse(e.to_string()))
}

pub fn parse_device_information(body: &str) -> Result<(String, String), ProbeError> {
    let doc = xml::parse(body)?;
    let root = doc.root_element();
    let maker = xml::text(root, "Manufacturer").unwrap_or("");
    let model = xml::need(root, "Model")?;
    let model = if maker.is_empty() {
        model.to_owned()
    } else {
        format!("{maker} {model}")
    };
    Ok((model, xml::need(root, "FirmwareVersion")?.to_owned()))
}

/// The path of the search service, if the device has one. Devices often
/// write their own LAN address into XAddr; only its path is used, with the
/// configured host, which is the address the agent can actually reach.
pub fn search_path(body: &str) -> Result<Option<String>, ProbeError> {
    let doc = xml::parse(body)?;
    let path = xml::all(doc.root_element(), "Service")
        .find(|s| xml::child_text(*s, "Namespace") == Some(SEARCH_NS))
        .and_then(|s| xml::child_text(s, "XAddr"))
        .map(|x| reqwest::Url::parse(x).map_or_else(|_| x.to_owned(), |u| u.path().to_owned()));
    Ok(path)
}

pub fn parse_data_until(body: &str) -> Result<Option<Timestamp>, ProbeError> {
    let doc = xml::parse(body)?;
    match xml::text(doc.root_element(), "DataUntil") {
        None => Ok(None),
        Some(t) => t
            .parse()
            .map(Some)
            .map_err(|e| ProbeError::Parse(format!("DataUntil `{t}`: {e}"))),
    }
}

#[cfg(test)]
#[path = "onvif_tests.rs"]
mod tests;
