//! ONVIF recorders over SOAP 1.2: the device service's
//! `GetSystemDateAndTime` (no login: it proves the device answers and gives
//! its clock), `GetDeviceInformation` and `GetServices` (or, on ONVIF 1.x
//! devices that lack it, `GetCapabilities`), then the Profile G Recording
//! Search service's `GetRecordingSummary`. Every call but the first carries
//! a WS-Security UsernameToken with a password digest; a device that wants
//! HTTP Digest instead (ONVIF Core 5.9.1) gets that. A refused token
//! (`ter:NotAuthorized`) is a wrong password, which pauses the device.
//!
//! `GetRecordingSummary` is device-wide: its `DataUntil`, the end of the
//! newest recorded data anywhere on the device, stands for every configured
//! channel. ONVIF tells per-channel recording only through FindRecordings.
//!
//! Times: the device's clock is its `UTCDateTime` and `DataUntil` is UTC
//! too (Recording Search 5.2.6), so the age is measured on the device's own
//! clock; the agent's clock only dates the login tokens, shifted onto the
//! device's.

mod media;
mod parse;
mod soap;
mod view;

use jiff::{SignedDuration, Timestamp};

use super::{Adapter, BoxFuture, ChannelReading, Reading, RecorderConfig};
use crate::http::{Clients, Creds, Device};
use crate::probe::ProbeError;
pub use parse::{
    capabilities_search_path, parse_date_time, parse_device_information, parse_recording_summary,
    parse_system_time, search_path, DeviceInfo, Summary, SEARCH_NS,
};
pub use soap::{envelope, fault, password_digest, request, security_header, Op};
pub use view::OnvifViewer;

pub const DEVICE_NS: &str = "http://www.onvif.org/ver10/device/wsdl";

pub const GET_SYSTEM_DATE_AND_TIME: Op = Op::new(DEVICE_NS, "GetSystemDateAndTime", "");
pub const GET_DEVICE_INFORMATION: Op = Op::new(DEVICE_NS, "GetDeviceInformation", "");
pub const GET_SERVICES: Op = Op::new(
    DEVICE_NS,
    "GetServices",
    "<IncludeCapability>false</IncludeCapability>",
);
pub const GET_CAPABILITIES: Op = Op::new(DEVICE_NS, "GetCapabilities", "<Category>All</Category>");
pub const GET_RECORDING_SUMMARY: Op = Op::new(SEARCH_NS, "GetRecordingSummary", "");

/// Said in the report when the device lacks `GetServices`.
pub const VIA_CAPABILITIES: &str = "services: GetCapabilities (no GetServices)";

/// The newest recording's end, or why there is none (a channel error).
/// The device-wide newest recording: its end (`None`: the search found
/// nothing), or why it is not known.
enum Newest {
    End(Option<Timestamp>),
    /// The device offers no recording search at all.
    NoSearch(String),
    /// The search failed.
    Failed(String),
}

pub struct Onvif {
    /// The configured scheme, host and port.
    device: Device,
    /// The device service's path, from the configured URL.
    path: String,
    creds: Option<Creds>,
    channels: Vec<String>,
}

impl Onvif {
    pub fn new(cfg: &RecorderConfig, clients: &Clients) -> Self {
        let (base, path) = split_url(&cfg.url);
        Onvif {
            // The credentials go into the SOAP header; the HTTP client has
            // them too, to answer a device that challenges with HTTP Digest.
            device: cfg.device(clients, &base),
            path,
            creds: cfg.creds.clone(),
            channels: cfg.channel_ids(),
        }
    }

    async fn read_all(&self) -> Result<Reading, ProbeError> {
        let (device_time, offset) = self.clock().await?;
        let mut detected = vec![match device_time {
            Some(_) => "clock: UTCDateTime".to_owned(),
            None => "clock: no UTCDateTime; no age claimed".to_owned(),
        }];
        let info = self
            .call(&self.path, &GET_DEVICE_INFORMATION, Some(offset))
            .await?;
        let info = parse_device_information(&info)?;
        let newest = self.newest_recording(offset, &mut detected).await?;
        let channels = self
            .channels
            .iter()
            .map(|id| {
                // The device answered; ONVIF says nothing per channel here,
                // and the summary is device-wide: one end for every channel.
                let mut c = ChannelReading {
                    online: Some(true),
                    ..ChannelReading::new(id)
                };
                match &newest {
                    Newest::End(end) => c.last_segment_end = *end,
                    Newest::NoSearch(why) => {
                        c.error = Some(why.clone());
                        c.no_recordings = true;
                    }
                    Newest::Failed(why) => c.error = Some(why.clone()),
                }
                c
            })
            .collect();
        Ok(Reading {
            model: info.model,
            firmware: info.firmware,
            device_time,
            channels,
            detected,
            ..Reading::default()
        })
    }

    /// The device clock, and how far it is ahead of ours. The device checks
    /// `Created` against its own clock, so tokens are dated in device time:
    /// a recorder whose clock is off still lets us in, and its skew is
    /// reported rather than mistaken for a wrong password.
    async fn clock(&self) -> Result<(Option<Timestamp>, SignedDuration), ProbeError> {
        let path = &self.path;
        let answer = match self.call(path, &GET_SYSTEM_DATE_AND_TIME, None).await {
            // Some cameras want a login even for this PRE_AUTH call: ask
            // again with a token dated by our own clock.
            Err(ProbeError::Unauthorized) if self.creds.is_some() => {
                let zero = Some(SignedDuration::ZERO);
                self.call(path, &GET_SYSTEM_DATE_AND_TIME, zero).await?
            }
            other => other?,
        };
        let device_time = parse_system_time(&answer)?;
        let offset =
            device_time.map_or(SignedDuration::ZERO, |t| t.duration_since(Timestamp::now()));
        Ok((device_time, offset))
    }

    /// The end of the newest recording, or why there is none as a channel
    /// error. Only a failure that stops the whole device is an `Err`.
    async fn newest_recording(
        &self,
        offset: SignedDuration,
        detected: &mut Vec<String>,
    ) -> Result<Newest, ProbeError> {
        let search = match self.search_service(offset, detected).await? {
            Ok(Some(path)) => path,
            Ok(None) => {
                let why = "the device offers no recording search (ONVIF Profile G)";
                return Ok(Newest::NoSearch(why.into()));
            }
            Err(why) => return Ok(Newest::Failed(why)),
        };
        let summary = self
            .call(&search, &GET_RECORDING_SUMMARY, Some(offset))
            .await;
        match summary.and_then(|s| parse_recording_summary(&s)) {
            // No `DataUntil`: the search ran and the recorder has nothing.
            Ok(Summary { data_until, .. }) => Ok(Newest::End(data_until)),
            Err(e) => Ok(Newest::Failed(why("GetRecordingSummary", e)?)),
        }
    }

    /// The Recording Search service's path from `GetServices`; a device
    /// that refuses it (ONVIF 1.x: a `ter:ActionNotSupported` fault, or a
    /// bare HTTP error) is asked `GetCapabilities` instead.
    async fn search_service(
        &self,
        offset: SignedDuration,
        detected: &mut Vec<String>,
    ) -> Result<Result<Option<String>, String>, ProbeError> {
        let services = self.call(&self.path, &GET_SERVICES, Some(offset)).await;
        let refused = match services.and_then(|s| search_path(&s)) {
            Ok(path) => return Ok(Ok(path)),
            Err(e @ (ProbeError::Device(_) | ProbeError::Status { .. } | ProbeError::Parse(_))) => {
                e
            }
            Err(e) => return channel_error("GetServices", e),
        };
        tracing::debug!(error = %refused, "GetServices refused; asking GetCapabilities");
        let caps = self.call(&self.path, &GET_CAPABILITIES, Some(offset)).await;
        match caps.and_then(|c| capabilities_search_path(&c)) {
            Ok(path) => {
                detected.push(VIA_CAPABILITIES.into());
                Ok(Ok(path))
            }
            Err(e) => channel_error(&format!("GetServices ({refused}), then GetCapabilities"), e),
        }
    }

    /// POST one operation to `path` on the configured host, with a
    /// UsernameToken dated `offset` ahead of our clock when one is given.
    /// A SOAP fault, whatever its HTTP status (400, 401, 500 and even 200
    /// are seen), is an error.
    async fn call(
        &self,
        path: &str,
        op: &Op,
        offset: Option<SignedDuration>,
    ) -> Result<String, ProbeError> {
        self.call_with(path, op, &op.body(), offset).await
    }

    /// [`Onvif::call`] with a Body of its own (arguments known only now).
    async fn call_with(
        &self,
        path: &str,
        op: &Op,
        body: &str,
        offset: Option<SignedDuration>,
    ) -> Result<String, ProbeError> {
        let token = match (&self.creds, offset) {
            (Some(c), Some(offset)) => {
                let created = (Timestamp::now() + offset).strftime("%Y-%m-%dT%H:%M:%SZ");
                Some((c, soap::nonce(), created.to_string()))
            }
            _ => None,
        };
        let header = token
            .as_ref()
            .map_or(String::new(), |(c, n, t)| security_header(c, n, t));
        let answer = self
            .device
            .send(
                reqwest::Method::POST,
                path,
                Some((&op.content_type(), envelope(&header, body))),
            )
            .await
            // A 401 without a challenge we can answer is a refused login.
            .map_err(|e| match e {
                ProbeError::Auth(_) => ProbeError::Unauthorized,
                e => e,
            })?;
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
}

impl Adapter for Onvif {
    fn read(&self, _now: Timestamp) -> BoxFuture<'_, Result<Reading, ProbeError>> {
        Box::pin(self.read_all())
    }
}

/// A recording-search failure after the device has identified itself goes
/// into the channels, so model, firmware and clock are still reported.
/// Losing the device (timeout, connection) fails the whole read.
fn channel_error<T>(op: &str, e: ProbeError) -> Result<Result<T, String>, ProbeError> {
    why(op, e).map(Err)
}

/// Why `op` failed, as a channel's reason; a failure of the whole device
/// (timeout, no connection) stays an error of the recorder.
fn why(op: &str, e: ProbeError) -> Result<String, ProbeError> {
    match e {
        // The login worked for GetDeviceInformation: this account lacks the
        // right (ONVIF access class READ_MEDIA), its password is not wrong.
        ProbeError::Unauthorized => Ok(format!(
            "{op}: not allowed for this user (ONVIF NotAuthorized)"
        )),
        ProbeError::Device(_)
        | ProbeError::Parse(_)
        | ProbeError::Status { .. }
        | ProbeError::TooLarge(_) => Ok(format!("{op} failed: {e}")),
        e => Err(e),
    }
}

/// The configured device service URL as base and path. Devices write their
/// own LAN address into the XAddrs they list (ONVIF Core 8.1.2.2 allows it
/// behind NAT), which the agent may not reach: so every call goes to the
/// configured scheme, host and port, and only the path is taken from an
/// XAddr.
fn split_url(url: &str) -> (String, String) {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("");
            let base = match u.port() {
                Some(p) => format!("{}://{host}:{p}", u.scheme()),
                None => format!("{}://{host}", u.scheme()),
            };
            (base, u.path().to_owned())
        }
        Err(_) => (url.to_owned(), "/onvif/device_service".to_owned()),
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_view;
