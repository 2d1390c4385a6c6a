//! The `recorders:` section of `agent.yaml`.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::devconf::{self, RawCreds};
use crate::http::Creds;
use crate::view::config::{self as view_config, RawView, ViewConfig};
use ronda_common::conf::{Checker, Dur, Secret};

/// How far back a recorder is searched for its newest segment by default.
pub const DEFAULT_LOOKBACK: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecorderKind {
    Hikvision,
    Dahua,
    Onvif,
    Rtsp,
    Frigate,
    Folder,
}

impl RecorderKind {
    pub fn name(self) -> &'static str {
        match self {
            RecorderKind::Hikvision => "hikvision",
            RecorderKind::Dahua => "dahua",
            RecorderKind::Onvif => "onvif",
            RecorderKind::Rtsp => "rtsp",
            RecorderKind::Frigate => "frigate",
            RecorderKind::Folder => "folder",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecorder {
    id: String,
    kind: RecorderKind,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<Secret>,
    #[serde(default)]
    password_file: Option<PathBuf>,
    #[serde(default)]
    password_env: Option<String>,
    /// Accept a self-signed HTTPS certificate (recorders ship one).
    #[serde(default)]
    insecure_tls: bool,
    #[serde(default)]
    timeout: Option<Dur>,
    /// How far back to look for the newest recorded segment.
    #[serde(default)]
    lookback: Option<Dur>,
    #[serde(default)]
    channels: Vec<RawChannel>,
    /// Camera view sampling: `off`, or `{every: 20m, cap: 2MiB}`.
    #[serde(default)]
    view: Option<RawView>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChannel {
    #[serde(deserialize_with = "devconf::string_or_number")]
    id: String,
    #[serde(default)]
    name: Option<String>,
    zone: String,
    /// `rtsp` recorders: the camera's stream URL.
    #[serde(default)]
    url: Option<String>,
    /// `folder` recorders: the directory the camera's footage goes to.
    #[serde(default)]
    path: Option<PathBuf>,
}

/// A checked recorder, ready to probe.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    pub id: String,
    pub kind: RecorderKind,
    /// Base URL for HTTP kinds (no trailing slash); the device service URL for ONVIF.
    pub url: String,
    pub creds: Option<Creds>,
    pub insecure_tls: bool,
    pub timeout: Duration,
    pub lookback: Duration,
    pub channels: Vec<ChannelConfig>,
    /// Camera view sampling, `None` when off. On by default; it only runs
    /// for the kinds that give snapshots (`recorders::viewer`).
    pub view: Option<ViewConfig>,
}

impl RecorderConfig {
    /// The HTTP device at `url` (or another base), with this recorder's
    /// credentials, TLS choice and timeout.
    pub fn device(&self, clients: &crate::http::Clients, url: &str) -> crate::http::Device {
        crate::http::Device::new(
            clients.pick(self.insecure_tls),
            url,
            self.creds.clone(),
            self.timeout,
        )
    }

    /// The device's own ids of the configured channels, in order.
    pub fn channel_ids(&self) -> Vec<String> {
        self.channels.iter().map(|c| c.id.clone()).collect()
    }

    /// How far back to look for recordings.
    pub fn lookback(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::try_from(self.lookback).unwrap_or(jiff::SignedDuration::from_hours(1))
    }
}

#[derive(Debug, Clone)]
pub struct ChannelConfig {
    /// The device's own channel number or camera name.
    pub id: String,
    pub name: Option<String>,
    pub zone: String,
    pub url: Option<String>,
    pub path: Option<PathBuf>,
}

impl RawRecorder {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn check(self, c: &mut Checker<'_>, path: &str) -> Option<RecorderConfig> {
        let id = devconf::device_id(c, &format!("{path}.id"), &self.id);
        let url = match self.kind {
            RecorderKind::Rtsp | RecorderKind::Folder => Some(self.url.clone().unwrap_or_default()),
            _ => devconf::http_url(c, &format!("{path}.url"), self.url.as_deref()),
        };
        let creds = RawCreds {
            username: self.username,
            password: self.password,
            password_file: self.password_file,
            password_env: self.password_env,
        }
        .check(c, path);
        let timeout = devconf::timeout(
            c,
            &format!("{path}.timeout"),
            self.timeout,
            devconf::DEFAULT_DEVICE_TIMEOUT,
        );
        let lookback = ronda_common::conf::duration_in(
            c,
            &format!("{path}.lookback"),
            self.lookback,
            DEFAULT_LOOKBACK,
            60..=7 * 86_400,
        );
        if self.channels.is_empty() {
            c.fail(
                &format!("{path}.channels"),
                "list the channels to watch, each with its zone",
            );
        }
        if matches!(self.kind, RecorderKind::Rtsp | RecorderKind::Folder)
            && matches!(self.view, Some(RawView::On(_)))
        {
            c.fail(
                &format!("{path}.view"),
                format!(
                    "{} recorders give no snapshots; leave `view:` out",
                    self.kind.name()
                ),
            );
        }
        let view = match self.kind {
            // Never sampled: no viewer. Said so above if asked for.
            RecorderKind::Rtsp | RecorderKind::Folder => Some(None),
            _ => view_config::check(c, &format!("{path}.view"), self.view),
        };
        let mut seen = Vec::new();
        let channels: Vec<_> = self
            .channels
            .into_iter()
            .enumerate()
            .map(|(i, ch)| ch.check(c, &format!("{path}.channels.{i}"), self.kind, &mut seen))
            .collect();
        Some(RecorderConfig {
            id: id?,
            kind: self.kind,
            url: url?,
            creds: creds?,
            insecure_tls: self.insecure_tls,
            timeout: timeout?,
            lookback: lookback?,
            channels: channels.into_iter().collect::<Option<_>>()?,
            view: view?,
        })
    }
}

impl RawChannel {
    fn check(
        self,
        c: &mut Checker<'_>,
        path: &str,
        kind: RecorderKind,
        seen: &mut Vec<String>,
    ) -> Option<ChannelConfig> {
        devconf::unique(c, &format!("{path}.id"), seen, &self.id);
        let zone = devconf::device_id(c, &format!("{path}.zone"), &self.zone);
        match kind {
            RecorderKind::Rtsp => match &self.url {
                Some(u) if u.starts_with("rtsp://") => {}
                Some(u) => c.fail(&format!("{path}.url"), format!("`{u}` must start with rtsp://")),
                None => c.fail(&format!("{path}.url"), "an rtsp channel needs the camera's url, like rtsp://192.168.1.64:554/Streaming/Channels/101"),
            },
            RecorderKind::Folder if self.path.is_none() => {
                c.fail(&format!("{path}.path"), "a folder channel needs the path its footage goes to")
            }
            RecorderKind::Hikvision | RecorderKind::Dahua if self.id.parse::<u32>().is_err() => {
                c.fail(&format!("{path}.id"), "expected the recorder's channel number, like 1")
            }
            _ => {}
        }
        Some(ChannelConfig {
            id: self.id,
            name: self.name,
            zone: zone?,
            url: self.url,
            path: self.path,
        })
    }
}
