//! The simulated devices' state, changed while the simulator runs.

use std::sync::{Arc, Mutex, MutexGuard};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// One device, shared between its server and the control API.
pub type Shared = Arc<Mutex<DeviceState>>;

/// Lock a device, recovering from a panicked holder: the state is plain data.
pub fn lock(dev: &Shared) -> MutexGuard<'_, DeviceState> {
    dev.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SimKind {
    Hikvision,
    Dahua,
    Onvif,
    Rtsp,
    Frigate,
    Folder,
    Tasmota,
    TasmotaMqtt,
    ShellyGen1,
    ShellyRpc,
    ShellyRpcMqtt,
    Zigbee2mqtt,
    Service,
    /// A Hikvision DS-K1T-style access terminal, polled over ISAPI.
    HikvisionAccess,
    /// A ZKTeco device that calls the agent (PUSH).
    ZktecoPush,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    None,
    Basic,
    DigestMd5,
    DigestSha256,
}

/// How the device checks who is asking.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Auth {
    pub scheme: Scheme,
    pub realm: String,
    pub username: String,
    /// The password the device accepts. Change it to make the agent's wrong.
    pub password: String,
}

/// How a Hikvision firmware writes `currentDeviceTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeFormat {
    /// `2018-06-11T08:00:00+07:00`: wall clock with its offset.
    Offset,
    /// `2018-06-11T08:00:00Z`: the wall clock with a `Z` that does not mean UTC.
    WallZ,
    /// `2018-06-11T08:00:00`: the wall clock, no offset at all.
    Local,
}

/// How a Hikvision firmware reads and writes recording search times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SearchClock {
    /// Its wall clock, with a `Z` after it (older firmware).
    Wall,
    /// True UTC, as `xs:dateTime` defines the `Z`.
    Utc,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimChannel {
    pub id: String,
    pub name: String,
    pub zone: String,
    pub online: bool,
    pub recording: bool,
    /// When recording stopped; the newest segment ends there.
    pub stopped_at: Option<Timestamp>,
    /// What its picture shows (`crate::view`).
    #[serde(default)]
    pub view: crate::view::ChannelView,
}

impl SimChannel {
    /// The end of the newest segment: a few seconds ago while recording.
    pub fn last_segment_end(&self, now: Timestamp) -> Option<Timestamp> {
        if self.recording {
            Some(now - SignedDuration::from_secs(4))
        } else {
            self.stopped_at
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimDisk {
    pub id: String,
    /// The vendor's own word: Hikvision `ok`/`error`/`unformatted`, Dahua `Success`/`Error`.
    pub status: String,
    pub capacity_mb: u64,
    pub free_mb: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceState {
    pub id: String,
    pub kind: SimKind,
    /// Answer nothing at all, like a device whose firmware has locked up.
    pub hang: bool,
    pub auth: Auth,
    pub model: String,
    pub firmware: String,
    pub serial: String,
    /// Recorders.
    pub channels: Vec<SimChannel>,
    pub disks: Vec<SimDisk>,
    pub overwrite: bool,
    /// Plugs: one entry per relay.
    pub relays: Vec<bool>,
    /// The equipment class behind each relay, for the agent config.
    pub classes: Vec<String>,
    /// What each relay's equipment draws when on, in watts.
    pub load_w: Vec<f32>,
    pub voltage_v: f32,
    pub temperature_c: f32,
    /// Vendor-neutral fault words: `overpower`, `overtemp`, …
    pub faults: Vec<String>,
    /// Vendor-neutral power-on behaviour: `off`, `on`, `previous`.
    pub power_on: String,
    /// MQTT kinds: Tasmota topic, Shelly prefix, or Zigbee2MQTT device topic.
    pub topic: String,
    /// Services: the status code to answer with.
    pub status: u16,
    /// Dahua: file finders created and not yet both closed and destroyed.
    pub open_finders: usize,
    /// The device's clock runs this far ahead of true time (negative:
    /// behind). Its answers, recordings included, follow its own clock.
    pub clock_skew_s: i64,
    /// Offset of the device's wall clock from UTC (WIB: +7 h).
    pub utc_offset_s: i32,
    /// Hikvision: how `currentDeviceTime` is written.
    pub time_format: TimeFormat,
    /// Hikvision: how the recording search reads and writes times.
    pub search_clock: SearchClock,
    /// Whether the device tells its overwrite setting at all; older
    /// firmware and some models do not.
    pub overwrite_readable: bool,
    /// ONVIF: whether the device implements `GetServices` (ONVIF 1.x
    /// devices answer only `GetCapabilities`).
    pub get_services: bool,
    /// Lock the account after this many failed logins in a row (0: never).
    pub lock_after: u32,
    /// How long a lock lasts, in seconds.
    pub lock_secs: u64,
    /// Failed logins in a row, and every failed login since the start.
    pub failed_logins: u32,
    pub failed_logins_total: u32,
    /// While set and in the future, every login is refused as locked.
    pub locked_until: Option<Timestamp>,
    /// Door controllers: doors, event log, condition, push state.
    pub access: crate::access::AccessState,
    /// How the firmware serves snapshots (`crate::view::PictureFirmware`).
    #[serde(default)]
    pub picture_firmware: crate::view::PictureFirmware,
}

impl DeviceState {
    pub fn new(id: &str, kind: SimKind) -> Self {
        DeviceState {
            id: id.to_owned(),
            kind,
            hang: false,
            auth: Auth {
                scheme: Scheme::None,
                realm: String::new(),
                username: String::new(),
                password: String::new(),
            },
            model: String::new(),
            firmware: String::new(),
            serial: String::new(),
            channels: Vec::new(),
            disks: Vec::new(),
            overwrite: true,
            relays: Vec::new(),
            classes: Vec::new(),
            load_w: Vec::new(),
            voltage_v: 221.5,
            temperature_c: 34.0,
            faults: Vec::new(),
            power_on: "previous".into(),
            topic: String::new(),
            status: 200,
            open_finders: 0,
            clock_skew_s: 0,
            utc_offset_s: 7 * 3600,
            time_format: TimeFormat::Offset,
            search_clock: SearchClock::Wall,
            overwrite_readable: true,
            get_services: true,
            lock_after: 0,
            lock_secs: 1800,
            failed_logins: 0,
            failed_logins_total: 0,
            locked_until: None,
            access: crate::access::AccessState::default(),
            picture_firmware: Default::default(),
        }
    }

    /// The device's own clock now: true time plus its skew.
    pub fn now(&self) -> Timestamp {
        self.clock(Timestamp::now())
    }

    /// A true instant on the device's own clock.
    pub fn clock(&self, t: Timestamp) -> Timestamp {
        t.saturating_add(SignedDuration::from_secs(self.clock_skew_s))
            .unwrap_or(t)
    }

    /// The offset of the device's wall clock.
    pub fn offset(&self) -> jiff::tz::Offset {
        jiff::tz::Offset::from_seconds(self.utc_offset_s).unwrap_or(jiff::tz::Offset::UTC)
    }

    /// Watts drawn now, per relay.
    pub fn power_w(&self, relay: usize) -> f32 {
        match (self.relays.get(relay), self.load_w.get(relay)) {
            (Some(true), Some(w)) => *w,
            _ => 0.0,
        }
    }

    pub fn current_a(&self, relay: usize) -> f32 {
        if self.voltage_v > 0.0 {
            self.power_w(relay) / self.voltage_v
        } else {
            0.0
        }
    }
}

/// A change made through the control API. Every field is optional; the
/// ones given are applied together.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    pub hang: Option<bool>,
    pub password: Option<String>,
    /// The channel that `online` and `recording` apply to.
    pub channel: Option<String>,
    pub online: Option<bool>,
    pub recording: Option<bool>,
    /// The disk that `disk_status` applies to.
    pub disk: Option<String>,
    pub disk_status: Option<String>,
    pub free_mb: Option<u64>,
    pub overwrite: Option<bool>,
    /// Relay index (0-based) that `relay_on` applies to; default 0.
    pub relay: Option<usize>,
    pub relay_on: Option<bool>,
    /// Add a fault word, or clear them all.
    pub fault: Option<String>,
    pub clear_faults: Option<bool>,
    pub power_on: Option<String>,
    pub status: Option<u16>,
    pub clock_skew_s: Option<i64>,
    pub time_format: Option<TimeFormat>,
    pub search_clock: Option<SearchClock>,
    pub overwrite_readable: Option<bool>,
    pub get_services: Option<bool>,
    pub lock_after: Option<u32>,
    pub lock_secs: Option<u64>,
    /// Door controllers (`crate::access::actions`): something happens at
    /// `door` (default: the first), by `user` where someone is identified.
    pub door_event: Option<crate::access::DoorAction>,
    pub door: Option<u32>,
    pub user: Option<String>,
    pub door_mode: Option<crate::access::DoorMode>,
    /// The case opened (true) or closed again (false).
    pub tamper: Option<bool>,
    /// Mains present (true) or lost (false).
    pub mains: Option<bool>,
    /// ZKTeco: the next upload carries the whole log again.
    pub resend_all: Option<bool>,
    /// Hikvision: the capability maximum of `maxResults`.
    pub max_results: Option<usize>,
    /// Hikvision: whether `beginSerialNo`/`endSerialNo` are honoured.
    pub serial_window: Option<bool>,
    /// ZKTeco: the server address set on the device.
    pub push_server: Option<String>,
    /// ZKTeco: milliseconds per protocol second.
    pub push_second_ms: Option<u64>,
    /// Pictures (`crate::view::control`): the fault of `channel`'s view,
    /// a device event on or off, a truck in the next frame, the light.
    pub view: Option<crate::view::Fault>,
    pub view_event: Option<crate::view::DeviceEvent>,
    pub active: Option<bool>,
    pub odd_frame: Option<bool>,
    pub light: Option<crate::view::control::LightSetting>,
    pub picture_firmware: Option<crate::view::PictureFirmware>,
}

impl Patch {
    /// The firmware variant and login-lock settings.
    fn apply_firmware(&self, d: &mut DeviceState) {
        if let Some(f) = self.time_format {
            d.time_format = f;
        }
        if let Some(c) = self.search_clock {
            d.search_clock = c;
        }
        if let Some(r) = self.overwrite_readable {
            d.overwrite_readable = r;
        }
        if let Some(g) = self.get_services {
            d.get_services = g;
        }
        if let Some(n) = self.lock_after {
            d.lock_after = n;
        }
        if let Some(s) = self.lock_secs {
            d.lock_secs = s;
        }
    }

    /// Apply the change as made at true time `now` (a channel stopping then
    /// stops at that moment of the device's own clock).
    pub fn apply(&self, d: &mut DeviceState, now: Timestamp) -> Result<(), String> {
        if let Some(s) = self.clock_skew_s {
            d.clock_skew_s = s;
        }
        let now = d.clock(now);
        if let Some(h) = self.hang {
            d.hang = h;
        }
        if let Some(p) = &self.password {
            d.auth.password = p.clone();
        }
        if self.online.is_some() || self.recording.is_some() {
            let id = self
                .channel
                .as_deref()
                .ok_or("`online` and `recording` need `channel`")?;
            let ch = d
                .channels
                .iter_mut()
                .find(|c| c.id == id)
                .ok_or_else(|| format!("no channel `{id}`"))?;
            if let Some(o) = self.online {
                ch.online = o;
            }
            if let Some(r) = self.recording {
                if ch.recording && !r {
                    ch.stopped_at = Some(now);
                }
                ch.recording = r;
            }
        }
        if self.disk_status.is_some() || self.free_mb.is_some() {
            let id = self
                .disk
                .as_deref()
                .ok_or("`disk_status` and `free_mb` need `disk`")?;
            let disk = d
                .disks
                .iter_mut()
                .find(|x| x.id == id)
                .ok_or_else(|| format!("no disk `{id}`"))?;
            if let Some(s) = &self.disk_status {
                disk.status = s.clone();
            }
            if let Some(f) = self.free_mb {
                disk.free_mb = f;
            }
        }
        if let Some(o) = self.overwrite {
            d.overwrite = o;
        }
        if let Some(on) = self.relay_on {
            let i = self.relay.unwrap_or(0);
            *d.relays.get_mut(i).ok_or_else(|| format!("no relay {i}"))? = on;
        }
        if self.clear_faults == Some(true) {
            d.faults.clear();
        }
        if let Some(f) = &self.fault {
            d.faults.push(f.clone());
        }
        if let Some(p) = &self.power_on {
            d.power_on = p.clone();
        }
        if let Some(s) = self.status {
            d.status = s;
        }
        self.apply_firmware(d);
        crate::view::control::apply(self, d, now)?;
        crate::access::actions::apply(self, d, now)
    }
}
