//! The office's devices as configured in `agent.yaml`: recorders, plugs,
//! services, the office broker for MQTT plugs, and the protected classes.

use crate::devconf;
use crate::plugs::config::RawPlug;
use crate::plugs::PlugConfig;
use crate::recorders::config::RawRecorder;
use crate::recorders::RecorderConfig;
use crate::services::{RawService, ServiceCheck};
use ronda_common::conf::Checker;
use ronda_common::link::{BrokerConfig, RawBroker};

/// Equipment that must stay powered over the holiday, whatever the server asks.
pub const DEFAULT_PROTECTED: [&str; 4] = ["server", "network", "cctv-recorder", "cctv-monitor"];
/// Devices probed at the same time, per section.
pub const DEFAULT_CONCURRENCY: usize = 4;

#[derive(Debug, Clone)]
pub struct Devices {
    pub recorders: Vec<RecorderConfig>,
    pub plugs: Vec<PlugConfig>,
    pub services: Vec<ServiceCheck>,
    /// The office's own MQTT broker, for plugs that speak MQTT.
    pub local_broker: Option<BrokerConfig>,
    /// Plug classes the agent refuses to switch off.
    pub protected_classes: Vec<String>,
    pub concurrency: usize,
}

impl Default for Devices {
    fn default() -> Self {
        Devices {
            recorders: Vec::new(),
            plugs: Vec::new(),
            services: Vec::new(),
            local_broker: None,
            protected_classes: DEFAULT_PROTECTED.map(str::to_owned).to_vec(),
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// The device sections as read from the file.
#[derive(Debug, Default)]
pub struct RawDevices {
    pub recorders: Vec<RawRecorder>,
    pub plugs: Vec<RawPlug>,
    pub services: Vec<RawService>,
    pub local_broker: Option<RawBroker>,
    pub protected_classes: Option<Vec<String>>,
    pub concurrency: Option<usize>,
}

impl RawDevices {
    pub fn check(self, c: &mut Checker<'_>) -> Option<Devices> {
        if self.local_broker.is_none() && self.plugs.iter().any(|p| p.kind().over_mqtt()) {
            c.fail(
                "plugs",
                "MQTT plugs need a `local_broker:` section naming the office broker",
            );
        }
        let recorders = section(
            c,
            "recorders",
            self.recorders,
            RawRecorder::id,
            |r, c, p| r.check(c, p),
        );
        let plugs = section(c, "plugs", self.plugs, RawPlug::id, |r, c, p| r.check(c, p));
        let services = section(c, "services", self.services, RawService::id, |r, c, p| {
            r.check(c, p)
        });
        let local_broker = self.local_broker.map(|b| b.check("local_broker", c));
        let protected: Vec<String> = match self.protected_classes {
            Some(list) => list
                .iter()
                .enumerate()
                .filter_map(|(i, class)| {
                    devconf::device_id(c, &format!("protected_classes.{i}"), class)
                })
                .collect(),
            None => Devices::default().protected_classes,
        };
        let concurrency = match self.concurrency {
            Some(n @ 1..=64) => Some(n),
            None => Some(DEFAULT_CONCURRENCY),
            Some(_) => {
                c.fail("probe_concurrency", "expected 1 to 64");
                None
            }
        };
        Some(Devices {
            recorders: recorders?,
            plugs: plugs?,
            services: services?,
            local_broker: local_broker.flatten(),
            protected_classes: protected,
            concurrency: concurrency?,
        })
    }
}

/// Check every item of a list section, and refuse duplicate ids even among
/// items that have other problems.
pub(crate) fn section<R, T>(
    c: &mut Checker<'_>,
    name: &str,
    raw: Vec<R>,
    id: impl Fn(&R) -> &str,
    check: impl Fn(R, &mut Checker<'_>, &str) -> Option<T>,
) -> Option<Vec<T>> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    let mut ok = true;
    for (i, item) in raw.into_iter().enumerate() {
        let path = format!("{name}.{i}");
        devconf::unique(c, &format!("{path}.id"), &mut seen, id(&item));
        match check(item, c, &path) {
            Some(t) => out.push(t),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use crate::config::AgentConfig;

    #[test]
    fn device_mistakes_are_all_reported_with_their_place() {
        let text = "office: o\nagent: a\nbroker:\n  url: mqtt://127.0.0.1:1883\nplugs:\n  - id: tv\n    kind: zigbee2mqtt\n    class: cctv-monitor\n    topic: zigbee2mqtt/tv\n  - id: tv\n    kind: tasmota\n    class: Printer\n    url: ftp://x\nrecorders:\n  - id: nvr\n    kind: rtsp\n    channels:\n      - id: 1\n        zone: front-road\n";
        let err = AgentConfig::from_text(std::path::Path::new("a.yaml"), text.into()).unwrap_err();
        let all = err.to_string();
        for want in [
            "a.yaml:12:12: plugs.1.class: id `Printer`",
            "a.yaml:13:10: plugs.1.url: `ftp://x` must start with http://",
            "a.yaml:10:9: plugs.1.id: `tv` is used twice",
            "recorders.0.channels.0.url: an rtsp channel needs the camera's url",
            "plugs: MQTT plugs need a `local_broker:` section",
        ] {
            assert!(all.contains(want), "missing {want:?} in\n{all}");
        }
    }
}
