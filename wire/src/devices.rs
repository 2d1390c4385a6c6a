//! The device sections of a report: recorders, smart plugs and services.
//!
//! Every device carries its configured id, the adapter that read it, whether
//! it answered, and an error text when a probe failed. A failed probe is data,
//! not an agent error. Optional fields are absent when the device does not
//! reveal them, never zero.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// An NVR/DVR or software recorder.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Recorder {
    pub id: String,
    /// Adapter that read it: `hikvision`, `dahua`, `onvif`, `rtsp`, `frigate`, `folder`.
    pub kind: String,
    pub reachable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
    /// Device clock minus the agent's clock, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_skew_s: Option<i64>,
    /// Whether the recorder overwrites its oldest footage when the disks are
    /// full. When it does, a disk with no free space is healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overwrite: Option<bool>,
    #[serde(default)]
    pub disks: Vec<RecorderDisk>,
    #[serde(default)]
    pub channels: Vec<Channel>,
}

/// One storage device of a recorder.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RecorderDisk {
    pub id: String,
    /// The vendor's own status word, such as `ok`, `error` or `unformatted`.
    pub status: String,
    /// Whether the status means the disk can record.
    pub healthy: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_bytes: Option<u64>,
}

/// One camera channel of a recorder.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where the camera looks: `front-road`, `interior`, `perimeter`, …
    pub zone: String,
    /// The camera is connected to the recorder (or its stream answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<bool>,
    /// Recording is switched on for the channel (schedule, mode or track).
    /// This is the setting; `last_segment_end` is the proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<bool>,
    /// End of the newest recorded segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_segment_end: Option<Timestamp>,
    /// Age of that segment when the report was observed, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_age_s: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a plug does when mains power comes back after a cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PowerOn {
    Off,
    On,
    /// Back to the state before the cut.
    Previous,
    /// The opposite of the state before the cut.
    Toggle,
    /// Follows a wall switch wired to the device's input.
    FollowInput,
}

/// A smart plug and the equipment class behind it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Plug {
    pub id: String,
    /// Adapter: `tasmota`, `shelly-gen1`, `shelly-rpc`, `zigbee2mqtt`.
    pub kind: String,
    /// Equipment behind the plug: `server`, `network`, `cctv-recorder`, `pc`, …
    pub class: String,
    pub reachable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_on: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_w: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voltage_v: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_a: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<f32>,
    /// Fault flags in lower case: `overpower`, `overtemp`, `overvoltage`,
    /// `undervoltage`, `overcurrent`, …
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_on: Option<PowerOn>,
}

/// An HTTP(S) check of a public-service application.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub id: String,
    pub url: String,
    pub reachable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Whether the status is the expected one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_ok: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_matched: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_days_left: Option<i32>,
}
