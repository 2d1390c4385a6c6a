//! Door access controllers: their state in the report, and their events on
//! `…/event`.
//!
//! Every vendor's event becomes one [`DoorEvent`]: device, door, kind, who
//! (the device's user id only: no names, no photos), the device's time with
//! its offset, and the device's own event number. The agent keeps events in
//! its outbox under the same sequence as reports, so they are acknowledged,
//! re-sent and deduplicated the same way.

use std::fmt;

use jiff::tz::Offset;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ack::Delivery;
use crate::devices::Paused;
use crate::id::Id;

/// Most door events in one `…/event` payload; the agent splits larger runs.
pub const MAX_EVENTS: usize = 200;
/// Longest user id taken from a device.
pub const MAX_WHO_LEN: usize = 32;

/// What happened at a door, whatever the vendor called it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoorEventKind {
    /// The door opened (a sensor, or an exit button), nobody identified.
    Open,
    /// The door opened without a grant: forced, broken open.
    Forced,
    /// The door stayed open past its limit.
    HeldOpen,
    /// Someone was let in (card, finger, face, PIN).
    Granted,
    /// Someone was refused.
    Denied,
    /// Opened from software or a remote button.
    RemoteOpen,
    /// The device's case was opened or it was torn off the wall.
    Tamper,
    /// The device lost mains power.
    PowerLost,
    /// The device (re)started.
    DeviceStart,
}

impl DoorEventKind {
    pub const ALL: [DoorEventKind; 9] = [
        DoorEventKind::Open,
        DoorEventKind::Forced,
        DoorEventKind::HeldOpen,
        DoorEventKind::Granted,
        DoorEventKind::Denied,
        DoorEventKind::RemoteOpen,
        DoorEventKind::Tamper,
        DoorEventKind::PowerLost,
        DoorEventKind::DeviceStart,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DoorEventKind::Open => "open",
            DoorEventKind::Forced => "forced",
            DoorEventKind::HeldOpen => "held_open",
            DoorEventKind::Granted => "granted",
            DoorEventKind::Denied => "denied",
            DoorEventKind::RemoteOpen => "remote_open",
            DoorEventKind::Tamper => "tamper",
            DoorEventKind::PowerLost => "power_lost",
            DoorEventKind::DeviceStart => "device_start",
        }
    }

    pub fn parse(s: &str) -> Option<DoorEventKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether someone or something went through the door.
    pub fn is_entry(self) -> bool {
        matches!(
            self,
            DoorEventKind::Open | DoorEventKind::Granted | DoorEventKind::RemoteOpen
        )
    }
}

/// A time as the device told it: the instant and the device's UTC offset.
/// On the wire RFC 3339 with the offset: `2026-12-24T22:13:05+07:00`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceTime {
    pub instant: Timestamp,
    pub offset: Offset,
}

impl DeviceTime {
    pub fn new(instant: Timestamp, offset: Offset) -> Self {
        DeviceTime { instant, offset }
    }
}

impl fmt::Display for DeviceTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.instant.display_with_offset(self.offset))
    }
}

impl std::str::FromStr for DeviceTime {
    type Err = String;

    /// RFC 3339 with a numeric offset or `Z`; a time without one is refused,
    /// since its instant is not known.
    fn from_str(s: &str) -> Result<Self, String> {
        use jiff::fmt::temporal::{Pieces, PiecesOffset};
        let instant: Timestamp = s.parse().map_err(|e| format!("`{s}`: {e}"))?;
        let pieces = Pieces::parse(s).map_err(|e| format!("`{s}`: {e}"))?;
        let offset = match pieces.offset() {
            Some(PiecesOffset::Numeric(n)) => n.offset(),
            Some(PiecesOffset::Zulu) => Offset::UTC,
            _ => return Err(format!("`{s}` has no UTC offset")),
        };
        Ok(DeviceTime { instant, offset })
    }
}

impl Serialize for DeviceTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One event from a door access controller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoorEvent {
    /// The controller's id in the agent's config.
    pub device: String,
    /// The door's number on the device; absent for device events (tamper,
    /// mains lost, start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door_no: Option<u32>,
    /// Where the door is, from the agent's config (`crate::vocab::DOORS`);
    /// absent when the config does not name this door.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door: Option<String>,
    pub kind: DoorEventKind,
    /// The device's user id, card holder number or PIN. Never a name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who: Option<String>,
    /// When it happened, on the device's clock, with the device's offset.
    pub at: DeviceTime,
    /// The device's own event number (Hikvision `serialNo`, Dahua `RecNo`);
    /// absent where the protocol has none (ZKTeco PUSH logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u64>,
    /// The vendor's own code, for the record: `5/27`, `rtlog 102`.
    pub code: String,
}

impl DoorEvent {
    /// What identifies this event on its device, so that a log the device
    /// sends again is stored once: its number, or else what it says.
    pub fn key(&self) -> String {
        match self.number {
            Some(n) => format!("n:{n}"),
            None => format!(
                "t:{}|{}|{}|{}",
                self.at.instant,
                self.door_no.map(|d| d.to_string()).unwrap_or_default(),
                self.kind.as_str(),
                self.who.as_deref().unwrap_or("")
            ),
        }
    }

    /// What the server refuses even in a well-formed payload.
    pub(crate) fn check(&self) -> Result<(), String> {
        let id_like = |s: &str| {
            !s.is_empty()
                && s.len() <= 63
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        if !id_like(&self.device) {
            return Err(format!("device id `{}` is not an id", self.device));
        }
        if let Some(door) = &self.door {
            if !id_like(door) {
                return Err(format!("door `{door}` is not an id"));
            }
        }
        if let Some(who) = &self.who {
            if !is_user_id(who) {
                return Err(format!("user id `{who}` is not a device user id"));
            }
        }
        if self.code.len() > 32 {
            return Err("event code is over 32 bytes".into());
        }
        Ok(())
    }
}

/// A device user id: 1 to 32 of `A-Z a-z 0-9 - _ .`. A device that stores
/// something else there (a name typed into the id field) gives no `who`.
pub fn is_user_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_WHO_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// Door events, published on `…/event` with QoS 1. Shares the agent's
/// sequence with reports: `(agent, seq)` identifies it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Events {
    pub schema: u32,
    pub office: Id,
    pub agent: Id,
    pub seq: u64,
    /// When the agent took the events from the device (UTC).
    pub observed_at: Timestamp,
    pub doors: Vec<DoorEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
}

/// The state of one door, as the controller last said it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoorState {
    Open,
    Closed,
    /// Held open by schedule or command (`remain open`).
    AlwaysOpen,
    /// Locked shut by schedule or command (`remain closed`).
    AlwaysClosed,
}

/// One door of a controller, in the report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Door {
    pub no: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door: Option<String>,
    /// Absent when the controller does not tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<DoorState>,
}

/// A door access controller in the report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccessController {
    pub id: String,
    /// Adapter: `hikvision-access`, `zkteco-push`, `dahua-access`.
    pub kind: String,
    /// It answered past its login (polled devices), or it contacted the
    /// agent within its silence limit (devices that push).
    pub reachable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// When the device last answered or called in (agent clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_contact: Option<Timestamp>,
    /// Device clock minus the agent's clock, in seconds. A wrong clock
    /// moves a weekday entry into the closure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_skew_s: Option<i64>,
    #[serde(default)]
    pub doors: Vec<Door>,
    /// The newest event number taken from the device, where it numbers them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detected: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<Paused>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_time_keeps_its_offset_and_refuses_a_bare_time() {
        let t: DeviceTime = "2026-12-24T22:13:05+07:00".parse().unwrap();
        assert_eq!(t.to_string(), "2026-12-24T22:13:05+07:00");
        assert_eq!(t.instant.to_string(), "2026-12-24T15:13:05Z");
        let z: DeviceTime = "2026-12-24T15:13:05Z".parse().unwrap();
        assert_eq!(z.instant, t.instant);
        assert_eq!(z.to_string(), "2026-12-24T15:13:05+00:00");
        assert!("2026-12-24T22:13:05".parse::<DeviceTime>().is_err());
        assert!("yesterday".parse::<DeviceTime>().is_err());
    }

    #[test]
    fn the_documented_example_parses() {
        let e: Events = serde_json::from_str(include_str!("../examples/events.json")).unwrap();
        assert_eq!(e.doors.len(), 3);
        assert_eq!(e.doors[1].kind, DoorEventKind::Forced);
        assert_eq!(e.doors[2].key(), "t:2018-06-14T15:14:00Z|1|granted|1203");
        for d in &e.doors {
            d.check().unwrap();
        }
    }

    #[test]
    fn kinds_round_trip_by_name() {
        for k in DoorEventKind::ALL {
            assert_eq!(DoorEventKind::parse(k.as_str()), Some(k));
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
        assert!(DoorEventKind::Granted.is_entry() && !DoorEventKind::Denied.is_entry());
    }

    #[test]
    fn user_ids_are_ids_not_names() {
        assert!(is_user_id("10023") && is_user_id("EMP-7_a.b"));
        for bad in ["", "Budi Santoso", "<script>", &"9".repeat(33), "ü"] {
            assert!(!is_user_id(bad), "{bad:?}");
        }
    }
}
