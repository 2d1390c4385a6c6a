//! The `plugs:` section of `agent.yaml`.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::devconf::{self, RawCreds};
use crate::http::Creds;
use ronda_common::conf::{Checker, Dur, Secret};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlugKind {
    /// Tasmota over HTTP (`/cm?cmnd=…`).
    Tasmota,
    /// Tasmota over the office's MQTT broker (`cmnd/`, `stat/`, `tele/`).
    TasmotaMqtt,
    /// Shelly Gen1 over HTTP (`/status`, `/settings`, `/relay/N`).
    ShellyGen1,
    /// Shelly Gen2/Gen3 RPC over HTTP (`/rpc/Switch.*`).
    ShellyRpc,
    /// Shelly Gen2/Gen3 RPC over the office's MQTT broker.
    ShellyRpcMqtt,
    /// A Zigbee plug through Zigbee2MQTT.
    Zigbee2mqtt,
}

impl PlugKind {
    pub fn name(self) -> &'static str {
        match self {
            PlugKind::Tasmota | PlugKind::TasmotaMqtt => "tasmota",
            PlugKind::ShellyGen1 => "shelly-gen1",
            PlugKind::ShellyRpc | PlugKind::ShellyRpcMqtt => "shelly-rpc",
            PlugKind::Zigbee2mqtt => "zigbee2mqtt",
        }
    }

    pub fn over_mqtt(self) -> bool {
        matches!(
            self,
            PlugKind::TasmotaMqtt | PlugKind::ShellyRpcMqtt | PlugKind::Zigbee2mqtt
        )
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlug {
    id: String,
    kind: PlugKind,
    /// The equipment behind the plug: `server`, `network`, `pc`, …
    class: String,
    #[serde(default)]
    url: Option<String>,
    /// MQTT kinds: Tasmota's `%topic%`, the Shelly's topic prefix, or the
    /// Zigbee2MQTT device topic (`zigbee2mqtt/<friendly name>`).
    #[serde(default)]
    topic: Option<String>,
    /// The relay on a multi-relay device, in the vendor's own numbering
    /// (Tasmota `POWER1` is 1, Shelly `switch:0` is 0).
    #[serde(default)]
    relay: Option<u32>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<Secret>,
    #[serde(default)]
    password_file: Option<PathBuf>,
    #[serde(default)]
    password_env: Option<String>,
    #[serde(default)]
    insecure_tls: bool,
    #[serde(default)]
    timeout: Option<Dur>,
}

/// A checked plug, ready to probe.
#[derive(Debug, Clone)]
pub struct PlugConfig {
    pub id: String,
    pub kind: PlugKind,
    pub class: String,
    /// Base URL for HTTP kinds.
    pub url: String,
    /// Topic or prefix for MQTT kinds.
    pub topic: String,
    /// `None` when not given: a single-relay device.
    pub relay: Option<u32>,
    pub creds: Option<Creds>,
    pub insecure_tls: bool,
    pub timeout: Duration,
}

impl RawPlug {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn kind(&self) -> PlugKind {
        self.kind
    }

    pub fn check(self, c: &mut Checker<'_>, path: &str) -> Option<PlugConfig> {
        let id = devconf::device_id(c, &format!("{path}.id"), &self.id);
        let class = devconf::device_id(c, &format!("{path}.class"), &self.class);
        let (url, topic) = if self.kind.over_mqtt() {
            let topic = match self.topic {
                Some(t) if !t.is_empty() && !t.contains(['+', '#']) => Some(t),
                Some(t) => {
                    c.fail(
                        &format!("{path}.topic"),
                        format!("`{t}` must be a plain topic without wildcards"),
                    );
                    None
                }
                None => {
                    c.fail(&format!("{path}.topic"), "an MQTT plug needs its topic");
                    None
                }
            };
            (Some(String::new()), topic)
        } else {
            (
                devconf::http_url(c, &format!("{path}.url"), self.url.as_deref()),
                Some(String::new()),
            )
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
        Some(PlugConfig {
            id: id?,
            kind: self.kind,
            class: class?,
            url: url?,
            topic: topic?,
            relay: self.relay,
            creds: creds?,
            insecure_tls: self.insecure_tls,
            timeout: timeout?,
        })
    }
}
