//! Hikvision ISAPI XML: every parser in `recorders::hikvision` on any text
//! and on mutated fixtures, and the device times read back as written.

use jiff::tz::Offset;
use jiff::Timestamp;
use proptest::prelude::*;
use ronda_agent::recorders::hikvision::*;

use super::support::{check, mutated_any, soup};

const XML_BRACKETS: &[(&str, &str)] = &[("<a>", "</a>"), ("<hddList><hdd>", "</hdd></hddList>")];

fn offset() -> impl Strategy<Value = Offset> {
    (-93_599i32..=93_599).prop_map(|s| Offset::from_seconds(s).unwrap())
}

/// Every parser on one body: each answers Ok or a clean error, and what it
/// answers holds together.
fn all_parsers(body: &str, offset: Offset) -> Result<(), TestCaseError> {
    let _ = parse_device_info(body);
    let _ = parse_status(body);
    if let Ok(disks) = parse_storage(body) {
        for d in disks {
            prop_assert_eq!(d.healthy, HEALTHY.contains(&d.status.as_str()));
        }
    }
    if let Ok(tracks) = parse_tracks(body) {
        let _ = tracks_overwrite(&tracks);
    }
    let _ = parse_storage_extension(body);
    let _ = parse_channel_status(body);
    if let Ok(page) = parse_search(body, offset) {
        prop_assert!(page.newest.is_none() || page.matches > 0);
    }
    let _ = device_time(body, offset);
    let _ = offset_of(body);
    Ok(())
}

#[test]
fn fuzz_hikvision_any_text() {
    check(
        (
            prop_oneof![
                any::<String>(),
                soup(r#"<>/a-zA-Z0-9 ="!?:.\-"#, 300),
                soup("0-9:TZ+-", 40),
            ],
            offset(),
        ),
        |(body, offset)| all_parsers(&body, offset),
    );
}

#[test]
fn fuzz_hikvision_mutated_fixtures() {
    check(
        (
            mutated_any(super::fixtures("hikvision"), XML_BRACKETS),
            offset(),
        ),
        |(body, offset)| all_parsers(&body, offset),
    );
}

/// A search window time written with [`wall`] reads back as the same
/// instant: the adapter writes the window and reads the answers this way.
/// Years 1 to 9999, the ones written with four digits.
#[test]
fn fuzz_hikvision_time_round_trips() {
    let first = "0001-01-02T00:00:00Z"
        .parse::<Timestamp>()
        .unwrap()
        .as_second();
    let last = "9999-12-30T00:00:00Z"
        .parse::<Timestamp>()
        .unwrap()
        .as_second();
    check((first..=last, offset()), |(s, offset)| {
        let t = Timestamp::from_second(s).unwrap();
        prop_assert_eq!(device_time(&wall(t, offset), offset).ok(), Some(t));
        Ok(())
    });
}

/// The offset at the end of a device time is read as written.
#[test]
fn fuzz_hikvision_offset_round_trips() {
    check((any::<bool>(), 0i32..=25, 0i32..=59), |(minus, h, m)| {
        let sign = if minus { -1 } else { 1 };
        let text = format!(
            "2018-06-11T08:00:00{}{h:02}:{m:02}",
            if minus { '-' } else { '+' }
        );
        let want = Offset::from_seconds(sign * (h * 3600 + m * 60)).ok();
        prop_assert_eq!(offset_of(&text), want);
        Ok(())
    });
}
