//! Access-dialect lines, `key=value` fields separated by TAB: `table=rtlog`
//! events and `table=rtstate` door states (doc §3.1, §3.2). Read by key,
//! never by position, since the order differs between firmware.

use jiff::civil::DateTime;
use ronda_wire::{DoorEventKind, DoorState};

use super::{local_time, who, Entry, Record};

/// Most doors one rtstate line is read for ([PSDK-S] reads four).
const STATE_DOORS: u32 = 4;

/// The fields Ronda reads from a keyed line. A key given twice with two
/// different values makes the line unreadable rather than guessed.
#[derive(Default)]
struct Fields<'a> {
    time: Option<&'a str>,
    event: Option<&'a str>,
    pin: Option<&'a str>,
    door: Option<&'a str>,
    sensor: Option<&'a str>,
}

impl<'a> Fields<'a> {
    fn read(line: &'a str) -> Option<Fields<'a>> {
        let mut f = Fields::default();
        for field in line.split('\t') {
            let Some((key, value)) = field.split_once('=') else {
                continue;
            };
            let value = value.trim();
            let slot = match key.trim().to_ascii_lowercase().as_str() {
                "time" => &mut f.time,
                "event" | "eventtype" => &mut f.event,
                "pin" => &mut f.pin,
                "eventaddr" | "doorid" => &mut f.door,
                "sensor" => &mut f.sensor,
                _ => continue,
            };
            match slot {
                Some(old) if *old != value => return None,
                _ => *slot = Some(value),
            }
        }
        Some(f)
    }
}

/// What an rtlog event code is for Ronda, from the table in doc §3.1
/// ([PSDK-C]; the official table in [SEC] was not read). `Some(None)`: a
/// known code that is no door event. `None`: a code the table lacks.
pub fn rtlog_kind(code: u32) -> Option<Option<DoorEventKind>> {
    use DoorEventKind::*;
    Some(match code {
        // Normal, passage-mode, first-person, multi-person, emergency
        // password, passage-mode open; 101 duress open (still an entry);
        // 208 superuser open.
        0..=5 | 101 | 208 => Some(Granted),
        8 | 205 => Some(RemoteOpen),
        20..=27 | 29 | 38 | 39 | 41 | 42 | 44 | 45 | 48 => Some(Denied),
        28 => Some(HeldOpen),
        100 => Some(Tamper),
        102 => Some(Forced),
        // The door opened as it should; the exit button opened it.
        200 | 202 => Some(Open),
        206 => Some(DeviceStart),
        6 | 7 | 9..=13 | 36 | 37 | 105 | 201 | 204 | 209 | 214 | 220..=223 | 700 => None,
        _ => return None,
    })
}

/// One rtlog line: `time=..⇥pin=..⇥cardno=..⇥eventaddr=..⇥event=..⇥…`, or
/// the `transaction⇥…` form with `doorid`/`eventtype` (doc §3.1). The card
/// number and verify mode are not read. A line with only `time_second`
/// (epoch seconds of an unconfirmed zone) has no time Ronda can place, so
/// it is unreadable. `eventaddr` 0 is the device itself, no door.
pub fn parse_keyed(line: &str) -> Entry {
    let Some(f) = Fields::read(line) else {
        return Entry::Bad;
    };
    let (Some(time), Some(code)) = (
        f.time.and_then(local_time),
        f.event.and_then(|e| e.parse::<u32>().ok()),
    ) else {
        return Entry::Bad;
    };
    let state = match code {
        200 => Some(DoorState::Open),
        201 => Some(DoorState::Closed),
        _ => None,
    };
    let kind = match rtlog_kind(code) {
        Some(kind) => kind,
        None => return Entry::Unmapped(code),
    };
    if kind.is_none() && state.is_none() {
        return Entry::Ignored;
    }
    let door_no = f
        .door
        .and_then(|d| d.parse::<u32>().ok())
        .filter(|d| *d > 0);
    Entry::Record(Record {
        kind,
        state,
        who: f.pin.and_then(who),
        time,
        door_no,
        code: format!("rtlog {code}"),
    })
}

/// One rtstate line, as far as Ronda can read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtState {
    /// The device's time on the line, when readable.
    pub time: Option<DateTime>,
    /// Doors whose sensor says open or closed, by door number.
    pub doors: Vec<(u32, DoorState)>,
}

/// `time=..⇥sensor=..⇥relay=..⇥alarm=..` (doc §3.2). `sensor` packs two
/// bits per door (0 none, 1 closed, 2 open [PSDK-C]), but which end of the
/// hex string is door 1 is not confirmed: [PSDK-S] reads it as one number
/// and also has a byte-reversed reading. A door's state is kept only where
/// both readings agree; elsewhere the device has not said. `relay` and
/// `alarm` are not read (the events come from rtlog). `None` for a line
/// with neither a time nor a sensor.
pub fn parse_rtstate(line: &str) -> Option<RtState> {
    let f = Fields::read(line)?;
    let time = f.time.and_then(local_time);
    let doors = f.sensor.map(sensor_doors).unwrap_or_default();
    (time.is_some() || f.sensor.is_some()).then_some(RtState { time, doors })
}

fn sensor_doors(hex: &str) -> Vec<(u32, DoorState)> {
    let as_number = read_hex(hex, false);
    let reversed = read_hex(hex, true);
    let (Some(a), Some(b)) = (as_number, reversed) else {
        return Vec::new();
    };
    (1..=STATE_DOORS)
        .filter_map(|door| {
            let shift = 2 * (door - 1);
            let (x, y) = ((a >> shift) & 3, (b >> shift) & 3);
            let state = match (x, y) {
                (1, 1) => DoorState::Closed,
                (2, 2) => DoorState::Open,
                _ => return None,
            };
            Some((door, state))
        })
        .collect()
}

/// A hex string of up to 16 digits as a number, its bytes reversed first
/// when asked (an odd digit count reads with a leading 0).
fn read_hex(hex: &str, reversed: bool) -> Option<u64> {
    if hex.is_empty() || hex.len() > 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    if !reversed {
        return u64::from_str_radix(hex, 16).ok();
    }
    let padded = if hex.len() % 2 == 1 {
        format!("0{hex}")
    } else {
        hex.to_owned()
    };
    let hex = padded.as_str();
    let bytes: Vec<&str> = (0..hex.len()).step_by(2).map(|i| &hex[i..i + 2]).collect();
    let swapped: String = bytes.into_iter().rev().collect();
    u64::from_str_radix(&swapped, 16).ok()
}
