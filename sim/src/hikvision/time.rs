//! The simulated NVR's clock as its firmware writes it: `currentDeviceTime`
//! in each of the shapes found in the field, `System/time`'s `localTime`
//! and POSIX `timeZone`, and the search times in the wall clock or UTC.

use jiff::tz::Offset;
use jiff::Timestamp;

use crate::state::{DeviceState, SearchClock, TimeFormat};

/// `2018-06-11T08:00:00` on the clock at `offset`, in `fmt`.
pub fn civil(t: Timestamp, offset: Offset, fmt: &str) -> String {
    offset.to_datetime(t).strftime(fmt).to_string()
}

/// `+07:00`, `-03:30`.
pub fn numeric(offset: Offset) -> String {
    let s = offset.seconds();
    let sign = if s < 0 { '-' } else { '+' };
    let a = s.unsigned_abs();
    format!("{sign}{:02}:{:02}", a / 3600, a % 3600 / 60)
}

/// `CST-7:00:00` for UTC+7: POSIX counts hours west, so the sign is the
/// offset's inverse; Hikvision names every zone `CST`.
pub fn posix(offset: Offset) -> String {
    let s = offset.seconds();
    let sign = if s > 0 { '-' } else { '+' };
    let a = s.unsigned_abs();
    format!("CST{sign}{}:{:02}:{:02}", a / 3600, a % 3600 / 60, a % 60)
}

const LONG: &str = "%Y-%m-%dT%H:%M:%S";

/// `currentDeviceTime` by the device's `time_format`.
pub fn current_device_time(d: &DeviceState) -> String {
    let wall = civil(d.now(), d.offset(), LONG);
    match d.time_format {
        TimeFormat::Offset => format!("{wall}{}", numeric(d.offset())),
        TimeFormat::WallZ => format!("{wall}Z"),
        TimeFormat::Local => wall,
    }
}

/// `localTime`, always with its offset (as every capture has it).
pub fn local_time(d: &DeviceState) -> String {
    format!(
        "{}{}",
        civil(d.now(), d.offset(), LONG),
        numeric(d.offset())
    )
}

/// The clock the search reads and writes its `Z` times in.
pub fn search_offset(d: &DeviceState) -> Offset {
    match d.search_clock {
        SearchClock::Wall => d.offset(),
        SearchClock::Utc => Offset::UTC,
    }
}

/// A search time (`long`) or a playback URI time (compact), with its `Z`.
pub fn search_time(t: Timestamp, offset: Offset, compact: bool) -> String {
    let fmt = if compact { "%Y%m%dT%H%M%S" } else { LONG };
    format!("{}Z", civil(t, offset, fmt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_written_both_ways() {
        let wib = Offset::constant(7);
        assert_eq!(
            (numeric(wib), posix(wib)),
            ("+07:00".into(), "CST-7:00:00".into())
        );
        let west = Offset::from_seconds(-(3 * 3600 + 1800)).unwrap();
        assert_eq!(
            (numeric(west), posix(west)),
            ("-03:30".into(), "CST+3:30:00".into())
        );
        assert_eq!(posix(Offset::UTC), "CST+0:00:00");
    }

    #[test]
    fn the_device_time_follows_its_format_and_skew() {
        let mut d = DeviceState::new("n", crate::state::SimKind::Hikvision);
        d.clock_skew_s = 86_400;
        let true_wall = civil(Timestamp::now(), d.offset(), "%Y-%m-%d");
        d.time_format = TimeFormat::Local;
        let text = current_device_time(&d);
        assert_ne!(&text[..10], true_wall, "a day ahead: {text}");
        assert!(!text.ends_with('Z') && !text.contains('+'), "{text}");
        d.time_format = TimeFormat::WallZ;
        assert!(current_device_time(&d).ends_with('Z'));
        d.time_format = TimeFormat::Offset;
        assert!(current_device_time(&d).ends_with("+07:00"));
    }
}
