//! Proptest fuzz targets for the agent's device parsers: everything a
//! recorder, a camera or a smart plug sends back. One module per vendor;
//! every test name starts with `fuzz_<vendor>_`. See `fuzz/README.md`.
#![allow(clippy::unwrap_used)]

use ronda_testkit::fuzz as support;

mod dahua;
mod dahua_access;
mod frigate;
mod hik_access;
mod hikvision;
mod onvif;
mod rtsp;
mod shelly;
mod tasmota;
mod view;
mod zigbee2mqtt;
mod zkteco;

use std::path::PathBuf;

use proptest::prelude::*;
use serde_json::Value;

/// The bodies of every fixture of `vendor` (`sim/fixtures/<vendor>/`), the
/// valid samples the mutations start from.
pub fn fixtures(vendor: &str) -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../sim/fixtures")
        .join(vendor);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let bodies: Vec<String> = files
        .iter()
        .map(|f| ronda_agent::fixture::body(&std::fs::read_to_string(f).unwrap()).to_owned())
        .collect();
    assert!(!bodies.is_empty(), "no fixtures in {}", dir.display());
    bodies
}

pub const JSON_BRACKETS: &[(&str, &str)] = &[("[", "]"), ("{\"a\":", "}"), ("{\"POWER\":", "}")];

/// A relay number as a config file may give it: none, a small one, or any.
pub fn relay() -> impl Strategy<Value = Option<u32>> {
    prop_oneof![
        Just(None),
        (0u32..40).prop_map(Some),
        any::<u32>().prop_map(Some),
    ]
}

/// Keys and words the plug parsers look for, so that random JSON meets them.
const WORDS: &[&str] = &[
    "POWER",
    "POWER1",
    "POWER2",
    "POWER3",
    "Status",
    "StatusSTS",
    "StatusSNS",
    "ENERGY",
    "Power",
    "Voltage",
    "Current",
    "PowerOnState",
    "WARNING",
    "Need user=",
    "Command",
    "Unknown",
    "ON",
    "OFF",
    "on",
    "off",
    "1",
    "0",
    "relays",
    "meters",
    "ison",
    "overpower",
    "overtemperature",
    "tmp",
    "tC",
    "temperature",
    "default_state",
    "last",
    "switch",
    "output",
    "apower",
    "voltage",
    "current",
    "errors",
    "initial_state",
    "restore_last",
    "match_input",
    "id",
    "result",
    "error",
    "message",
    "code",
    "params",
    "switch:0",
    "state",
    "online",
    "offline",
    "power_on_behavior",
    "power_outage_memory",
    "power",
    "device_temperature",
    "toggle",
    "previous",
    "cameras",
    "camera_fps",
    "service",
    "version",
    "storage",
    "total",
    "used",
    "end_time",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(WORDS).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

/// Any JSON value, its keys and strings mostly the vendors' own words.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("JSON has no NaN", |f| {
            serde_json::Number::from_f64(f).map(Value::Number)
        }),
        word().prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec((word(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}
