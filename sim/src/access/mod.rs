//! Simulated door access controllers: a Hikvision access terminal polled
//! over ISAPI (`hikvision`) and a ZKTeco device that pushes to the agent
//! (`zkteco`), written from `docs/vendors/hikvision-access.md` and
//! `docs/vendors/zkteco-push.md`.
//!
//! Both keep one vendor-neutral event log ([`Logged`], serial numbers rising
//! from 1) that the control API appends to (`actions`); each vendor module
//! writes it in its own codes and clock. An event is stamped with the
//! device's own clock when it happens, so a clock fault shows in the log.

pub mod actions;
pub mod config;
pub mod hikvision;
pub mod layout;
pub mod zkteco;

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

pub use actions::DoorAction;

/// What happened, whatever the vendor calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Happening {
    /// Someone identified was let in.
    Granted,
    /// Someone was refused.
    Denied,
    /// The door contact opened after an unlock or an exit button.
    DoorOpen,
    DoorClosed,
    /// The door contact opened without an unlock.
    Forced,
    /// The door stayed open past its limit.
    HeldOpen,
    RemoteOpen,
    Tamper,
    TamperRestored,
    MainsLost,
    MainsRestored,
    DeviceStart,
}

/// One entry of the device's event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logged {
    /// Rises by one per event, from 1: Hikvision `serialNo`, ZKTeco `index`.
    pub serial: u64,
    /// When, on the device's own clock (skew included).
    pub at: Timestamp,
    pub what: Happening,
    /// The door, for door events.
    pub door: Option<u32>,
    /// The device's user id (employee number, PIN).
    pub user: Option<String>,
}

/// How a door is run (Hikvision `doorStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DoorMode {
    /// Controlled: opens on a valid credential.
    Normal,
    /// Remain unlocked (free).
    RemainOpen,
    /// Remain locked (disabled).
    RemainClosed,
    Sleep,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimDoor {
    pub no: u32,
    /// Where it is: one of `ronda_wire::vocab::DOORS`, for the agent config.
    pub place: String,
    /// The door contact says open.
    pub open: bool,
    pub mode: DoorMode,
}

/// Which ZKTeco PUSH dialect the device speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// Access-control firmware: every event as a `table=rtlog` line.
    Access,
    /// Attendance firmware: grants as `table=ATTLOG` lines, door alarms
    /// as `OPLOG` lines in `table=OPERLOG`.
    Attendance,
}

/// What a ZKTeco device knows of its server and where its uploads stand.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushState {
    /// The server address configured on the device, e.g. `http://127.0.0.1:8088`.
    pub server: String,
    pub dialect: Dialect,
    /// How long one protocol second lasts on this device, in milliseconds
    /// (1000 for real time; tests shrink it so that `Delay` and
    /// `ErrorDelay` pass quickly).
    pub second_ms: u64,
    /// Seconds between `getrequest` polls; the server's `Delay` replaces it.
    pub delay_s: u64,
    /// Seconds to wait after a failed or refused request; the server's
    /// `ErrorDelay` replaces it.
    pub error_delay_s: u64,
    /// The options of the last handshake, as the server sent them.
    pub options: BTreeMap<String, String>,
    /// The server's `Date` header at the last handshake.
    pub server_date: Option<String>,
    /// Per table (`rtlog`, `ATTLOG`, `OPERLOG`): the last serial the server
    /// answered `OK` for. Anything after it is sent (again).
    pub acked: BTreeMap<String, u64>,
    /// Set by the control API: the next upload carries the whole log again.
    pub resend_all: bool,
    /// Commands the server queued (`getrequest` answers), as received.
    pub commands: Vec<String>,
    /// Counters, for tests and the control API's view.
    pub handshakes: u64,
    pub requests: u64,
    pub refused: u64,
    /// Loop turns: rises each time the device looks at its state, so a test
    /// can tell it has seen a change without waiting a guessed time.
    pub turns: u64,
}

impl Default for PushState {
    fn default() -> Self {
        PushState {
            server: String::new(),
            dialect: Dialect::Access,
            second_ms: 1000,
            delay_s: 10,
            error_delay_s: 30,
            options: BTreeMap::new(),
            server_date: None,
            acked: BTreeMap::new(),
            resend_all: false,
            commands: Vec::new(),
            handshakes: 0,
            requests: 0,
            refused: 0,
            turns: 0,
        }
    }
}

/// A door controller's own state, inside `DeviceState::access`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessState {
    pub doors: Vec<SimDoor>,
    pub log: Vec<Logged>,
    /// The device's users: id and name (names only ever appear in the
    /// Hikvision answer, as newer firmware sends them).
    pub people: BTreeMap<String, String>,
    /// Mains present; false: running on battery.
    pub mains: bool,
    /// The case is open or the device is off the wall.
    pub tamper: bool,
    /// Hikvision: the capability maximum of `maxResults`; larger asks are
    /// silently cut to it.
    pub max_results: usize,
    /// Hikvision: whether the firmware honours `beginSerialNo` and
    /// `endSerialNo` (false: it ignores them, as firmware that predates
    /// them would).
    pub serial_window: bool,
    /// ZKTeco.
    pub push: PushState,
    /// Wakes a pushing device when its state changes.
    #[serde(skip)]
    pub wake: Arc<Notify>,
}

impl Default for AccessState {
    fn default() -> Self {
        AccessState {
            doors: Vec::new(),
            log: Vec::new(),
            people: BTreeMap::new(),
            mains: true,
            tamper: false,
            max_results: 30,
            serial_window: true,
            push: PushState::default(),
            wake: Arc::default(),
        }
    }
}

impl AccessState {
    /// Append an event at device time `at`; returns its serial.
    pub fn record(
        &mut self,
        at: Timestamp,
        what: Happening,
        door: Option<u32>,
        user: Option<&str>,
    ) -> u64 {
        let serial = self.log.last().map_or(1, |l| l.serial + 1);
        self.log.push(Logged {
            serial,
            at,
            what,
            door,
            user: user.map(str::to_owned),
        });
        serial
    }

    pub fn door_mut(&mut self, no: u32) -> Option<&mut SimDoor> {
        self.doors.iter_mut().find(|d| d.no == no)
    }
}
