//! Times on a Hikvision access controller: its clock (`GET /ISAPI/System/time`,
//! `docs/vendors/hikvision-access.md` §4), the search window written in the
//! device's own form, and an event's `time` made into a [`DeviceTime`].
//!
//! `localTime` and `AcsEvent.time` carry an offset on the firmware the guide
//! describes. Whether a device in UTC writes `Z`, or a firmware omits the
//! offset, is not confirmed; such times are read only with the offset the
//! config gives (`utc_offset`), never with one Ronda guessed.

use jiff::civil::DateTime;
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};
use ronda_wire::DeviceTime;

use crate::probe::ProbeError;
use crate::recorders::hikvision::{parse_system_time, resolve, stated, Stated, Suffix};

/// The device's clock as read this round, or the agent's standing in.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The device's wall clock now, to the second.
    pub now: DateTime,
    /// How the device writes a time's end: window times are written alike.
    pub suffix: Suffix,
    /// The device's offset, when its clock says it.
    pub offset: Option<Offset>,
    /// Device clock minus the agent's, when the device's instant is known.
    pub skew_s: Option<i64>,
    /// What was found, for `detected`.
    pub note: String,
}

impl Frame {
    /// `GET /ISAPI/System/time`'s answer, read at `agent_now`.
    pub fn read(body: &str, agent_now: Timestamp) -> Result<Frame, ProbeError> {
        let system = parse_system_time(body)?;
        let local = system
            .local
            .ok_or_else(|| ProbeError::parse("no readable localTime in System/time"))?;
        let clock = resolve(local, Some(system))?;
        let skew_s = clock
            .offset
            .map(|_| clock.now.duration_since(agent_now).as_secs());
        let note = match (local.suffix, clock.offset) {
            (Suffix::Offset(o), _) => format!("clock: System/time with its offset ({})", hhmm(o)),
            (_, Some(o)) => format!("clock: System/time zone {}", hhmm(o)),
            (_, None) => "clock: System/time states no offset; skew unknown".to_owned(),
        };
        Ok(Frame {
            now: seconds(local.civil),
            suffix: local.suffix,
            offset: clock.offset,
            skew_s,
            note,
        })
    }

    /// The agent's clock in the configured offset (or UTC), for a device
    /// whose own clock could not be read.
    pub fn agent(agent_now: Timestamp, offset: Option<Offset>, why: &str) -> Frame {
        let o = offset.unwrap_or(Offset::UTC);
        Frame {
            now: seconds(o.to_datetime(agent_now)),
            suffix: Suffix::Offset(o),
            offset: None,
            skew_s: None,
            note: format!("clock: {why}; search window on the agent's clock"),
        }
    }

    /// `t` written as the device writes its times.
    pub fn write(&self, t: DateTime) -> String {
        let end = match self.suffix {
            Suffix::Offset(o) => hhmm(o),
            Suffix::Z => "Z".to_owned(),
            Suffix::Bare => String::new(),
        };
        format!("{}{end}", seconds(t))
    }

    /// The device's now moved by `by`, written as the device writes it.
    pub fn from_now(&self, by: SignedDuration) -> String {
        self.write(self.now.checked_add(by).unwrap_or(self.now))
    }
}

fn seconds(t: DateTime) -> DateTime {
    t.with().subsec_nanosecond(0).build().unwrap_or(t)
}

/// `+07:00`, `-03:30`.
pub fn hhmm(offset: Offset) -> String {
    let s = offset.seconds();
    let a = s.unsigned_abs();
    let sign = if s < 0 { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", a / 3600, a % 3600 / 60)
}

/// Why an event's time could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("event time `{0}` is not a time")]
    Unreadable(String),
    /// The time names no offset (or a `Z` that the device's own clock
    /// contradicts) and the config gives none.
    #[error("event times carry no UTC offset (`{0}`): set `utc_offset` for this device")]
    NoOffset(String),
}

/// An event's `time`: its civil digits (for ordering within the device's
/// log) and, where its instant is known, the [`DeviceTime`].
///
/// A `Z` is UTC unless the device's clock states another offset, in which
/// case the `Z` is taken as a bare wall-clock time (some ISAPI firmware
/// write their wall clock with a `Z`): then only `config_offset` places it.
pub fn event_time(
    text: &str,
    device_offset: Option<Offset>,
    config_offset: Option<Offset>,
) -> Result<(DateTime, DeviceTime), TimeError> {
    let s: Stated = stated(text).map_err(|_| TimeError::Unreadable(short(text)))?;
    let offset = match s.suffix {
        Suffix::Offset(o) => Some(o),
        Suffix::Z if device_offset.is_none_or(|o| o == Offset::UTC) => Some(Offset::UTC),
        Suffix::Z | Suffix::Bare => config_offset,
    };
    let o = offset.ok_or_else(|| TimeError::NoOffset(short(text)))?;
    let instant = o
        .to_timestamp(s.civil)
        .map_err(|_| TimeError::Unreadable(short(text)))?;
    Ok((s.civil, DeviceTime::new(instant, o)))
}

fn short(text: &str) -> String {
    crate::http::snippet(text).chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wib() -> Offset {
        Offset::constant(7)
    }

    #[test]
    fn an_offset_is_taken_as_written() {
        let (civil, at) = event_time("2025-12-25T22:40:51+07:00", None, None).unwrap();
        assert_eq!(civil.to_string(), "2025-12-25T22:40:51");
        assert_eq!(at.to_string(), "2025-12-25T22:40:51+07:00");
        assert_eq!(at.instant.to_string(), "2025-12-25T15:40:51Z");
    }

    #[test]
    fn a_bare_time_needs_the_configured_offset() {
        let bare = "2025-12-25T22:40:51";
        assert!(matches!(
            event_time(bare, Some(wib()), None),
            Err(TimeError::NoOffset(_))
        ));
        let (_, at) = event_time(bare, None, Some(wib())).unwrap();
        assert_eq!(at.to_string(), "2025-12-25T22:40:51+07:00");
    }

    #[test]
    fn a_z_contradicted_by_the_device_clock_is_a_wall_time() {
        let z = "2025-12-25T22:40:51Z";
        assert_eq!(
            event_time(z, None, None).unwrap().1.to_string(),
            "2025-12-25T22:40:51+00:00"
        );
        assert!(event_time(z, Some(wib()), None).is_err());
        let (_, at) = event_time(z, Some(wib()), Some(wib())).unwrap();
        assert_eq!(at.to_string(), "2025-12-25T22:40:51+07:00");
    }

    #[test]
    fn garbage_is_unreadable() {
        for bad in ["", "yesterday", "2025-13-40T99:00:00+07:00"] {
            assert!(
                matches!(
                    event_time(bad, None, Some(wib())),
                    Err(TimeError::Unreadable(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn window_times_are_written_as_the_device_writes_them() {
        let body = crate::fixture::read("hikvision-access", "system_time.xml");
        let now: Timestamp = "2025-12-25T16:00:05Z".parse().unwrap();
        let f = Frame::read(&body, now).unwrap();
        assert_eq!(f.offset, Some(wib()));
        assert_eq!(f.skew_s, Some(-5));
        assert_eq!(
            f.from_now(SignedDuration::from_hours(-24)),
            "2025-12-24T23:00:00+07:00"
        );
        let agent = Frame::agent(now, None, "unreadable");
        assert_eq!(agent.write(agent.now), "2025-12-25T16:00:05+00:00");
        assert_eq!(agent.skew_s, None);
    }
}
