//! The rows and columns of the conformance matrix, and the verdicts a
//! monitoring product owes each one. The expectations are written from the
//! rules (the letter, the vendors' documents), not read off the code.

use ronda_policy::eval::Status;
use ronda_sim::state::{DeviceState, SearchClock, TimeFormat};

/// What a device is, for which faults apply and what it can tell.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// An NVR/DVR with disks and a login (Hikvision, Dahua).
    Nvr,
    /// A recorder with a login and no disks it reports (ONVIF).
    NvrNoDisks,
    /// Frigate: recordings and a storage figure, no login.
    Frigate,
    /// RTSP cameras: a live stream, no recordings to read.
    Rtsp,
    /// A folder on the agent's own host.
    Folder,
    /// A smart plug over HTTP with a password.
    PlugHttp,
    /// A smart plug over the office MQTT broker (no device password).
    PlugMqtt,
}

pub struct Variant {
    pub name: &'static str,
    /// The vendor document the simulated device follows.
    pub follows: &'static str,
    pub class: Class,
    /// The simulator's device of the default office it starts from.
    pub base: &'static str,
    pub tweak: fn(&mut DeviceState),
}

fn none(_: &mut DeviceState) {}

pub fn variants() -> Vec<Variant> {
    let v = |name, follows, class, base, tweak| Variant {
        name,
        follows,
        class,
        base,
        tweak,
    };
    vec![
        v(
            "hikvision · search in wall clock · clock with offset",
            "ISAPI 2.0 RaCM ch. 8 (older NVR firmware); ISAPI Dev Guide 4.2.4",
            Class::Nvr,
            "nvr-depan",
            none,
        ),
        v(
            "hikvision · search in UTC · clock with offset",
            "ISAPI 2.0 RaCM ch. 8 (xs:dateTime, firmware V5.6+)",
            Class::Nvr,
            "nvr-depan",
            |d| d.search_clock = SearchClock::Utc,
        ),
        v(
            "hikvision · search in UTC · clock without offset",
            "ISAPI Dev Guide 4.2.4; zone from GET /ISAPI/System/time",
            Class::Nvr,
            "nvr-depan",
            |d| {
                d.search_clock = SearchClock::Utc;
                d.time_format = TimeFormat::Local;
            },
        ),
        v(
            "hikvision · search in wall clock · clock with a wall-clock Z",
            "ISAPI Dev Guide 4.2.4; zone from GET /ISAPI/System/time",
            Class::Nvr,
            "nvr-depan",
            |d| d.time_format = TimeFormat::WallZ,
        ),
        v(
            "hikvision · overwrite setting not served",
            "ISAPI Dev Guide 4.2.6 (notSupport); tracks without LoopEnable",
            Class::Nvr,
            "nvr-depan",
            |d| d.overwrite_readable = false,
        ),
        v(
            "dahua",
            "Dahua HTTP API V2.x (magicBox, mediaFileFind, storageDevice, configManager)",
            Class::Nvr,
            "dvr-gudang",
            none,
        ),
        v(
            "dahua · overwrite setting not served",
            "Dahua HTTP API V2.x: configManager refuses StorageGroup",
            Class::Nvr,
            "dvr-gudang",
            |d| d.overwrite_readable = false,
        ),
        v(
            "onvif · GetServices",
            "ONVIF Core 2.x, Recording Search (Profile G) GetRecordingSummary",
            Class::NvrNoDisks,
            "nvr-aula",
            none,
        ),
        v(
            "onvif · GetCapabilities only",
            "ONVIF Core 26.06 §8.1.2.4 (devices without GetServices)",
            Class::NvrNoDisks,
            "nvr-aula",
            |d| d.get_services = false,
        ),
        v(
            "frigate",
            "Frigate HTTP API 0.14 (/api/stats, /api/<camera>/recordings)",
            Class::Frigate,
            "frigate-pos",
            none,
        ),
        v(
            "rtsp",
            "RFC 2326 OPTIONS/DESCRIBE (Hikvision camera answers)",
            Class::Rtsp,
            "cam-gerbang",
            none,
        ),
        v(
            "folder",
            "a software recorder's footage folder",
            Class::Folder,
            "rekaman-pc",
            none,
        ),
        v(
            "tasmota · http",
            "Tasmota Commands (cm?cmnd=Status 0, Power)",
            Class::PlugHttp,
            "stopkontak-tu",
            |d| {
                d.auth.username = "admin".into();
                d.auth.password = "Tu2018".into();
            },
        ),
        v(
            "tasmota · mqtt",
            "Tasmota MQTT (cmnd/stat/tele)",
            Class::PlugMqtt,
            "dispenser-lobi",
            none,
        ),
        v(
            "shelly gen1 · http",
            "Shelly Gen1 HTTP API (/status, /relay/0)",
            Class::PlugHttp,
            "ac-kepala",
            none,
        ),
        v(
            "shelly gen2 · rpc over http",
            "Shelly Gen2 RPC (Switch.GetStatus, digest SHA-256)",
            Class::PlugHttp,
            "pc-loket",
            none,
        ),
        v(
            "shelly gen2 · rpc over mqtt",
            "Shelly Gen2 RPC over MQTT",
            Class::PlugMqtt,
            "printer-lobi",
            none,
        ),
        v(
            "zigbee2mqtt",
            "Zigbee2MQTT MQTT topics (get/set, availability)",
            Class::PlugMqtt,
            "tv-monitor-cctv",
            none,
        ),
    ]
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fault {
    AllWell,
    Stopped2h,
    DiskError,
    DiskFull,
    /// Full with overwrite off: recording stopped when it filled, 30 min ago.
    DiskFullNoOverwrite,
    Hung,
    WrongPassword,
    /// The office PC's clock: 7 h behind (local time taken as UTC), a day
    /// behind, 2 h ahead.
    AgentBehind7h,
    AgentBehind1d,
    AgentAhead2h,
    /// Plugs: a plug that must be off is on.
    RelayOn,
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::AllWell => "all well",
            Fault::Stopped2h => "camera stopped 2 h ago",
            Fault::DiskError => "disk failed (0 free)",
            Fault::DiskFull => "disk full, overwrite on",
            Fault::DiskFullNoOverwrite => "disk full, overwrite off",
            Fault::Hung => "device hung",
            Fault::WrongPassword => "wrong password",
            Fault::AgentBehind7h => "agent clock 7 h behind",
            Fault::AgentBehind1d => "agent clock 1 day behind",
            Fault::AgentAhead2h => "agent clock 2 h ahead",
            Fault::RelayOn => "plug left on",
        }
    }

    /// The agent's clock minus true time, in seconds.
    pub fn agent_clock_s(self) -> i64 {
        match self {
            Fault::AgentBehind7h => -7 * 3600,
            Fault::AgentBehind1d => -86_400,
            Fault::AgentAhead2h => 2 * 3600,
            _ => 0,
        }
    }
}

/// The faults that mean something for a class of device.
pub fn faults(class: Class) -> Vec<Fault> {
    use Fault::*;
    let clocks = [AgentBehind7h, AgentBehind1d, AgentAhead2h];
    let mut f = match class {
        Class::Nvr => vec![
            AllWell,
            Stopped2h,
            DiskError,
            DiskFull,
            DiskFullNoOverwrite,
            Hung,
            WrongPassword,
        ],
        Class::NvrNoDisks => vec![AllWell, Stopped2h, Hung, WrongPassword],
        Class::Frigate => vec![AllWell, Stopped2h, Hung],
        Class::Rtsp => vec![AllWell, Hung, WrongPassword],
        Class::Folder => vec![AllWell, Stopped2h],
        Class::PlugHttp => vec![AllWell, RelayOn, Hung, WrongPassword],
        Class::PlugMqtt => vec![AllWell, RelayOn, Hung],
    };
    f.extend(clocks);
    f
}

/// The matrix's columns.
pub const RECORDER_COLUMNS: [&str; 5] = ["zone", "channel", "storage", "login", "clock"];
pub const PLUG_COLUMNS: [&str; 3] = ["power", "login", "clock"];

/// One cell: a verdict per column, `None` where the item says nothing.
pub type Verdicts = Vec<Option<Status>>;

/// What the letter must say for `fault` on a device of `class`.
pub fn expected(class: Class, overwrite_readable: bool, fault: Fault) -> Verdicts {
    use Status::{Fail, NoData, Ok};
    let clock = Some(if fault.agent_clock_s() == 0 { Ok } else { Fail });
    let login = (fault == Fault::WrongPassword).then_some(Fail);
    if matches!(class, Class::PlugHttp | Class::PlugMqtt) {
        let power = match fault {
            Fault::RelayOn => Fail,
            Fault::Hung | Fault::WrongPassword => NoData,
            _ => Ok,
        };
        return vec![Some(power), login, clock];
    }
    // What recorded footage shows, for the zone and the channel.
    let (zone, channel) = match (class, fault) {
        (_, Fault::WrongPassword) => (NoData, NoData),
        (_, Fault::Hung) => (Fail, NoData),
        // RTSP shows a stream, never a recording.
        (Class::Rtsp, _) => (NoData, NoData),
        (_, Fault::Stopped2h | Fault::DiskFullNoOverwrite) => (Fail, Fail),
        _ => (Ok, Ok),
    };
    let storage = match (class, fault) {
        (_, Fault::WrongPassword) => Some(NoData),
        (_, Fault::Hung) => Some(Fail),
        (Class::Nvr, Fault::DiskError) => Some(Fail),
        // The setting says it; without it, the stopped footage cannot prove it.
        (Class::Nvr, Fault::DiskFullNoOverwrite) if overwrite_readable => Some(Fail),
        (Class::Nvr, Fault::DiskFullNoOverwrite) => Some(NoData),
        (Class::Nvr | Class::Frigate, _) => Some(Ok),
        _ => None,
    };
    vec![Some(zone), Some(channel), storage, login, clock]
}
