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
    /// It answered past its login. With `error` as well, its answer could
    /// not be read: that is "could not read", not "does not answer".
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
    /// What the adapter found out about the firmware it talks to, each as
    /// `name: value` (`search-times: utc`, `services: get-capabilities`).
    /// Firmware differs within one vendor; the user never names a version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detected: Vec<String>,
    /// Set while the agent leaves the device alone after a refused login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<Paused>,
}

/// A device the agent has stopped asking for a while, so that a wrong
/// password does not lock the device (and its own users) out. Recorders
/// lock an account after a handful of failed logins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paused {
    pub reason: PauseReason,
    /// When the agent will try again (on the agent's clock).
    pub until: Timestamp,
    /// Failed logins in a row, the last one included.
    pub failures: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PauseReason {
    /// The device refused the configured username or password.
    WrongPassword,
    /// The device said the account is locked after too many failures.
    Locked,
}

/// One storage device of a recorder.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RecorderDisk {
    pub id: String,
    /// The vendor's own status word, such as `ok`, `error` or `unformatted`;
    /// `unknown` when the device does not say.
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
    /// End of the newest recorded segment, as the recorder's clock tells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_segment_end: Option<Timestamp>,
    /// Age of that segment when it was read, in seconds, measured on the
    /// recorder's own clock (its newest segment against its current time).
    /// Absent when the recorder's clock could not be read: the age is then
    /// not known to the agent, whose own clock may be wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_age_s: Option<u64>,
    /// While the recorder's time convention is not known yet (Hikvision
    /// firmware reads search times as UTC or as its wall clock), the age
    /// under the other reading. The true age is one of the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_age_other_s: Option<u64>,
    /// Why the channel's recordings could not be read (the search failed,
    /// the device keeps no recordings to search). Absent when the search
    /// ran: then no segment means nothing was recorded in the lookback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The device keeps no recordings Ronda can search (an RTSP stream, an
    /// ONVIF device without Profile G): the channel neither proves nor
    /// disproves that its zone records.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_recordings: bool,
    /// What the camera's picture showed lately (`cctv.view`); absent when
    /// the agent does not look at this channel's picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<crate::view::View>,
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
    /// It answered past its login. With `error` as well, its answer could
    /// not be read: that is "could not read", not "does not answer".
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
    /// Set while the agent leaves the plug alone after a refused login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<Paused>,
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
