//! The report payload: one full snapshot of an office agent's world.
//!
//! Optional fields are left out of the JSON when absent, so that "not
//! measured" is never confused with zero.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::devices::{Plug, Recorder, Service};
use crate::id::Id;

/// Version of the payload schema. A server rejects any other version.
pub const SCHEMA_VERSION: u32 = 1;

/// A full snapshot, published on `…/report` with QoS 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub schema: u32,
    pub office: Id,
    pub agent: Id,
    /// Per-agent, strictly increasing across restarts. `(agent, seq)` is the
    /// report's identity: the server stores a repeated pair once.
    pub seq: u64,
    /// When the agent took the snapshot (UTC, RFC 3339).
    pub observed_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Host>,
    #[serde(default)]
    pub recorders: Vec<Recorder>,
    #[serde(default)]
    pub plugs: Vec<Plug>,
    #[serde(default)]
    pub services: Vec<Service>,
    /// Door access controllers; their events travel on `…/event`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access: Vec<crate::doors::AccessController>,
    /// The state of the agent's outbox when this copy was sent. Absent from
    /// agents without an outbox, whose reports are acknowledged one by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<crate::ack::Delivery>,
}

/// The machine the agent runs on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Host {
    pub hostname: String,
    pub os: String,
    pub kernel: String,
    pub uptime_s: u64,
    pub boot_time: Timestamp,
    /// 1, 5 and 15 minute load averages.
    pub load: [f64; 3],
    pub cpu_percent: f32,
    pub cpu_count: usize,
    pub memory: Memory,
    pub disks: Vec<Disk>,
    /// Empty when the machine exposes no sensors (common in VMs).
    pub temperatures: Vec<Temperature>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub total_bytes: u64,
    pub available_bytes: u64,
    pub swap_total_bytes: u64,
    pub swap_used_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Disk {
    pub mount: String,
    pub fs: String,
    pub total_bytes: u64,
    pub available_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Temperature {
    pub label: String,
    pub celsius: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_celsius: Option<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../examples/report.json");

    #[test]
    fn documented_example_parses_and_round_trips() {
        let report: Report = serde_json::from_str(EXAMPLE).unwrap();
        assert_eq!(report.schema, SCHEMA_VERSION);
        assert_eq!(report.office.as_str(), "dinkes");
        assert_eq!(report.recorders[0].channels[0].zone, "front-road");
        assert_eq!(report.plugs[1].relay_on, Some(false));
        let again: Report = serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
        assert_eq!(again, report);
    }

    #[test]
    fn minimal_report_round_trips_without_empty_fields() {
        let report = Report {
            schema: SCHEMA_VERSION,
            office: Id::new("o").unwrap(),
            agent: Id::new("a").unwrap(),
            seq: 7,
            observed_at: "2018-06-11T01:00:00Z".parse().unwrap(),
            host: None,
            recorders: vec![],
            plugs: vec![],
            services: vec![],
            access: vec![],
            delivery: None,
        };
        let json = serde_json::to_string(&report).unwrap();
        assert!(!json.contains("host"), "{json}");
        assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), report);
    }

    #[test]
    fn unknown_top_level_fields_are_rejected() {
        let mut v: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
        v["extra"] = 1.into();
        assert!(serde_json::from_value::<Report>(v).is_err());
    }
}
