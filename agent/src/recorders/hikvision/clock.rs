//! The recorder's own clock, so that a segment's age is measured against the
//! device and never against the agent's host.
//!
//! `System/status` `currentDeviceTime` comes in three shapes in the field:
//! with its offset (`2018-06-11T08:00:00+07:00`, ISAPI Developer Guide
//! 4.2.4), with a `Z` that is really the wall clock, or with no offset at
//! all. Where it states no offset, the zone comes from `GET /ISAPI/System/time`:
//! `localTime` (with its offset on current firmware) and `timeZone`, a POSIX
//! TZ string whose sign is inverted (`CST-7:00:00` is UTC+7). When no offset
//! can be learnt, the device's wall clock is all there is: times are then
//! kept in its wall frame (digits read as if UTC), ages are still right
//! where the search speaks the same wall clock, and no skew is claimed.

use jiff::civil::DateTime;
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};

use crate::probe::ProbeError;
use crate::xml;

/// A time as the firmware wrote it: its digits, and what followed them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stated {
    pub civil: DateTime,
    pub suffix: Suffix,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Suffix {
    /// `+07:00`: an instant.
    Offset(Offset),
    /// `Z`: UTC by `xs:dateTime`, the wall clock on some firmware.
    Z,
    /// Nothing: the wall clock.
    Bare,
}

/// Read `2018-06-11T08:00:00+07:00`, `…Z` or `…` (fractions allowed).
pub fn stated(text: &str) -> Result<Stated, ProbeError> {
    let text = text.trim();
    let bad = |e: &dyn std::fmt::Display| ProbeError::Parse(format!("time `{text}`: {e}"));
    let (digits, suffix) = if let Some(d) = text.strip_suffix(['Z', 'z']) {
        (d, Suffix::Z)
    } else if let Some(o) = offset_of(text) {
        (&text[..text.len() - 6], Suffix::Offset(o))
    } else {
        (text, Suffix::Bare)
    };
    let civil = digits.parse::<DateTime>().map_err(|e| bad(&e))?;
    Ok(Stated { civil, suffix })
}

/// The numeric offset (`±HH:MM`) written at the end of a time, if any.
pub fn offset_of(text: &str) -> Option<Offset> {
    let tail = text.get(text.len().checked_sub(6)?..)?;
    let sign = match tail.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = tail[1..].split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let secs = sign * (h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60);
    Offset::from_seconds(secs).ok()
}

/// `DeviceStatus/currentDeviceTime`, as written.
pub fn parse_status(body: &str) -> Result<Stated, ProbeError> {
    let doc = xml::parse(body)?;
    stated(xml::need(doc.root_element(), "currentDeviceTime")?)
}

/// What `GET /ISAPI/System/time` says about the wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SystemTime {
    pub local: Option<Stated>,
    pub zone: Option<Zone>,
}

/// A POSIX zone's standard offset, and whether it has a daylight rule
/// (which would make the standard offset wrong for part of the year).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Zone {
    pub offset: Offset,
    pub dst: bool,
}

pub fn parse_system_time(body: &str) -> Result<SystemTime, ProbeError> {
    let doc = xml::parse(body)?;
    let root = doc.root_element();
    Ok(SystemTime {
        local: xml::text(root, "localTime").and_then(|t| stated(t).ok()),
        zone: xml::text(root, "timeZone").and_then(posix_zone),
    })
}

/// `CST-7:00:00`, `CST-1:00:00DST01:00:00,M3.5.0/02:00:00,…`, `<+07>-7`: the
/// name, then hours west of UTC (so the sign is the inverse of the offset).
pub fn posix_zone(text: &str) -> Option<Zone> {
    let s = text.trim();
    let rest = match s.strip_prefix('<') {
        Some(quoted) => &quoted[quoted.find('>')? + 1..],
        None => s.trim_start_matches(|c: char| c.is_ascii_alphabetic()),
    };
    if rest.len() == s.len() {
        return None;
    }
    let (west, rest) = match rest.as_bytes().first()? {
        b'-' => (false, &rest[1..]),
        b'+' => (true, &rest[1..]),
        _ => (true, rest),
    };
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ':'))
        .unwrap_or(rest.len());
    let mut parts = rest[..end].split(':');
    let mut part = |max: i32| -> Option<i32> {
        match parts.next() {
            None => Some(0),
            Some(p) if (1..=2).contains(&p.len()) => p.parse().ok().filter(|v| *v <= max),
            Some(_) => None,
        }
    };
    let (h, m, sec) = (part(24)?, part(59)?, part(59)?);
    if parts.next().is_some() || end == 0 {
        return None;
    }
    let secs = (h * 3600 + m * 60 + sec) * if west { -1 } else { 1 };
    Some(Zone {
        offset: Offset::from_seconds(secs).ok()?,
        dst: !rest[end..].trim().is_empty(),
    })
}

/// The recorder's clock as the adapter uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceClock {
    /// The device's own now. An instant when `offset` is known; otherwise
    /// its wall clock read as if it were UTC (the wall frame).
    pub now: Timestamp,
    /// The offset of its wall clock, when it could be learnt.
    pub offset: Option<Offset>,
    /// What was found, for the report: `clock: …`.
    pub note: String,
}

/// Two readings of one clock agree when this close (they are separate
/// requests, and firmware rounds to the second).
const SAME_READING: SignedDuration = SignedDuration::from_mins(2);

/// The device's clock from `currentDeviceTime` and, when that names no
/// offset, what `System/time` said (`None`: it could not be read).
pub fn resolve(status: Stated, system: Option<SystemTime>) -> Result<DeviceClock, ProbeError> {
    let at = |civil: DateTime, o: Offset| {
        o.to_timestamp(civil)
            .map_err(|e| ProbeError::Parse(format!("device time {civil}: {e}")))
    };
    if let Suffix::Offset(o) = status.suffix {
        return Ok(known(
            at(status.civil, o)?,
            o,
            "currentDeviceTime with its offset",
        ));
    }
    let learnt = system.and_then(wall_zone);
    match (status.suffix, learnt) {
        (Suffix::Bare, Some((_, o))) => Ok(known(
            at(status.civil, o)?,
            o,
            "no offset in currentDeviceTime; zone from System/time",
        )),
        (_, Some((_, o))) if o == Offset::UTC => {
            Ok(known(at(status.civil, o)?, o, "wall clock is UTC"))
        }
        (Suffix::Z, Some((Some(local), o))) => {
            let wall = at(status.civil, o)?;
            let utc = at(status.civil, Offset::UTC)?;
            let local = at(local, o)?;
            let near = |t: Timestamp| t.duration_since(local).abs() <= SAME_READING;
            Ok(if near(wall) {
                known(
                    wall,
                    o,
                    "currentDeviceTime's Z is the wall clock; zone from System/time",
                )
            } else if near(utc) {
                known(utc, o, "currentDeviceTime in UTC; zone from System/time")
            } else {
                known(
                    local,
                    o,
                    "currentDeviceTime disagrees with System/time localTime, which is used",
                )
            })
        }
        _ => Ok(DeviceClock {
            now: at(status.civil, Offset::UTC)?,
            offset: None,
            note: "clock: no time zone stated (currentDeviceTime without offset, none from \
                   System/time); ages on its wall clock, skew unknown"
                .into(),
        }),
    }
}

fn known(now: Timestamp, offset: Offset, how: &str) -> DeviceClock {
    DeviceClock {
        now,
        offset: Some(offset),
        note: format!("clock: {how} ({})", hhmm(offset)),
    }
}

/// `+07:00`, `-03:30`.
fn hhmm(offset: Offset) -> String {
    let s = offset.seconds();
    let a = s.unsigned_abs();
    let sign = if s < 0 { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", a / 3600, a % 3600 / 60)
}

/// The wall clock's offset from `System/time`, with `localTime`'s digits
/// where they are the wall clock: `localTime`'s own offset first, else the
/// zone's when it has no daylight rule (whether that applies now is not
/// known).
fn wall_zone(s: SystemTime) -> Option<(Option<DateTime>, Offset)> {
    if let Some(Stated {
        civil,
        suffix: Suffix::Offset(o),
    }) = s.local
    {
        return Some((Some(civil), o));
    }
    let zone = s.zone.filter(|z| !z.dst)?;
    Some((s.local.map(|l| l.civil), zone.offset))
}
