//! Where a Hikvision controller's event log stands, and what a page of it
//! becomes: which events are new, which were kept before, what each maps
//! to. Pure: the search (`search.rs`) does the asking and the keeping.
//!
//! The cursor is the last `serialNo` taken (kept, or skipped as unmapped,
//! so that it is not asked for again). Without serial numbers, the last
//! event's time and the events seen at that second tell the repeats.

use std::collections::HashSet;

use jiff::civil::DateTime;
use jiff::tz::Offset;
use ronda_wire::{DoorEvent, DoorEventKind};

use super::clock::{event_time, TimeError};
use super::codes;
use super::parse::RawEvent;
use crate::doors::AccessConfig;

/// Events remembered at the newest second, at most: past it, repeats at
/// that second go to the server again, which drops them by their key.
const MAX_SEEN: usize = 4096;

/// How the device is searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Not yet known: `beginSerialNo` is tried once there is a cursor.
    Unknown,
    /// `beginSerialNo` = cursor + 1, and the device honours it.
    Serial,
    /// A time window from the last event taken, repeats dropped by number.
    Time(Why),
}

/// Why a device is searched by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// It refused a search with `beginSerialNo`.
    Refused,
    /// It answered events at or below the cursor: it ignores `beginSerialNo`.
    Ignored,
    /// Its events carry no `serialNo`.
    Unnumbered,
}

impl Mode {
    /// The `detected` line.
    pub fn line(self, cursor: Option<u64>) -> &'static str {
        match (self, cursor) {
            (Mode::Serial, _) => "event-search: serial",
            (Mode::Unknown, Some(_)) => "event-search: serial (not yet confirmed)",
            (Mode::Unknown, None) => "event-search: time (first search, before any serial)",
            (Mode::Time(Why::Refused), _) => "event-search: time (beginSerialNo refused)",
            (Mode::Time(Why::Ignored), _) => "event-search: time (beginSerialNo ignored)",
            (Mode::Time(Why::Unnumbered), _) => "event-search: time (events carry no serialNo)",
        }
    }
}

/// The log as far as this adapter has taken it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Log {
    pub cursor: Option<u64>,
    /// The newest event time taken: its digits, and its text as written.
    pub since: Option<(DateTime, String)>,
    /// Events taken at `since`, for devices without serial numbers.
    pub seen: HashSet<String>,
}

/// What a page came to.
#[derive(Debug, Default)]
pub struct Taken {
    pub events: Vec<DoorEvent>,
    /// The log once these are kept.
    pub log: Log,
    /// Events whose code Ronda does not map.
    pub unmapped: u64,
    /// Events whose time could not be used, and the first reason.
    pub untimed: u64,
    pub time_error: Option<TimeError>,
}

/// How events are placed in time and in the office.
pub struct Place<'a> {
    pub config: &'a AccessConfig,
    /// The device's offset, as its clock states it.
    pub device_offset: Option<Offset>,
}

impl Log {
    /// Whether `e` was taken before.
    fn taken(&self, e: &RawEvent, civil: Option<DateTime>) -> bool {
        if let Some(s) = e.serial {
            return self.cursor.is_some_and(|c| s <= c);
        }
        match (&self.since, civil) {
            (Some((since, _)), Some(t)) => {
                t < *since || (t == *since && self.seen.contains(&key(e)))
            }
            _ => false,
        }
    }

    /// Take a page: the new events mapped, the log moved past all of them.
    pub fn take(&self, mut raw: Vec<RawEvent>, place: &Place<'_>) -> Taken {
        raw.sort_by_key(|e| e.serial);
        let mut t = Taken {
            log: self.clone(),
            ..Taken::default()
        };
        // Unnumbered events already met on this page.
        let mut met = HashSet::new();
        for e in raw {
            let civil = crate::recorders::hikvision::stated(&e.time)
                .ok()
                .map(|s| s.civil);
            // A number repeated within the page is caught by the running
            // cursor (the page is in number order); an unnumbered event by
            // the log as it stood and what this page already showed.
            let again = match e.serial {
                Some(_) => t.log.taken(&e, civil),
                None => self.taken(&e, civil) || !met.insert(key(&e)),
            };
            // Events taken before move the time too, so that a restart's
            // long look back pages through them instead of asking again.
            t.log.advance(&e, civil);
            if again {
                continue;
            }
            match event(&e, place) {
                Ok(Some(ev)) => t.events.push(ev),
                Ok(None) => {
                    t.unmapped += 1;
                    tracing::debug!(device = %place.config.id, code = %codes::code(e.major, e.minor), "event code not mapped; skipped");
                }
                Err(why) => {
                    t.untimed += 1;
                    t.time_error.get_or_insert(why);
                }
            }
        }
        t
    }

    fn advance(&mut self, e: &RawEvent, civil: Option<DateTime>) {
        if let Some(s) = e.serial {
            self.cursor = Some(self.cursor.map_or(s, |c| c.max(s)));
        }
        let Some(t) = civil else { return };
        match &self.since {
            Some((since, _)) if t < *since => {}
            Some((since, _)) if t == *since => {
                if self.seen.len() < MAX_SEEN {
                    self.seen.insert(key(e));
                }
            }
            _ => {
                self.since = Some((t, e.time.clone()));
                self.seen = HashSet::from([key(e)]);
            }
        }
    }
}

/// What tells two unnumbered events apart.
fn key(e: &RawEvent) -> String {
    format!(
        "{}/{}|{}|{}|{}",
        e.major,
        e.minor,
        e.time,
        e.door.map(|d| d.to_string()).unwrap_or_default(),
        e.employee.as_deref().unwrap_or("")
    )
}

/// The Ronda event for `e`: `None` when its code is not mapped.
pub fn event(e: &RawEvent, place: &Place<'_>) -> Result<Option<DoorEvent>, TimeError> {
    let Some(kind) = codes::kind(e.major, e.minor) else {
        return Ok(None);
    };
    let (_, at) = event_time(&e.time, place.device_offset, place.config.offset)?;
    // Mains and restarts are the device's, whatever door it names; door 0
    // is no door.
    let device_wide = matches!(kind, DoorEventKind::PowerLost | DoorEventKind::DeviceStart);
    let door_no = e.door.filter(|n| *n > 0 && !device_wide);
    Ok(Some(DoorEvent {
        device: place.config.id.clone(),
        door_no,
        door: door_no.and_then(|n| place.config.place(n)),
        kind,
        who: e.employee.clone().filter(|w| ronda_wire::is_user_id(w)),
        at,
        number: e.serial,
        code: codes::code(e.major, e.minor),
    }))
}
