//! Hikvision ISAPI XML: every parser in `recorders::hikvision` on any text
//! and on mutated fixtures, the device times read back as written, and the
//! search-time convention never reported wrong, whatever the firmware.

use std::time::Duration;

use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use ronda_agent::probe::ProbeError;
use ronda_agent::recorders::hikvision::*;

use super::support::{check, mutated_any, soup};

/// The ISAPI `hdd/status` words, as the vendor spells them, and whether a
/// disk in that state can record. Any other word is a disk nobody can vouch
/// for: not healthy.
const HDD_STATUS: [(&str, bool); 12] = [
    ("ok", true),
    ("idle", true),
    ("sleeping", true),
    ("unformatted", false),
    ("error", false),
    ("mismatch", false),
    ("offline", false),
    ("smartFailed", false),
    ("reparing", false),
    ("formating", false),
    ("notexist", false),
    ("unRecordHostFormatted", false),
];

/// What the table owes a disk in `status`.
fn owed(status: &str) -> bool {
    HDD_STATUS.iter().any(|(w, ok)| *w == status && *ok)
}

const XML_BRACKETS: &[(&str, &str)] = &[("<a>", "</a>"), ("<hddList><hdd>", "</hdd></hddList>")];

fn offset() -> impl Strategy<Value = Offset> {
    (-93_599i32..=93_599).prop_map(|s| Offset::from_seconds(s).unwrap())
}

/// Every parser on one body: each answers Ok or a clean error, and what it
/// answers holds together.
fn all_parsers(body: &str) -> Result<(), TestCaseError> {
    let _ = parse_device_info(body);
    if let Ok(status) = parse_status(body) {
        let system = parse_system_time(body).ok();
        if let Ok(clock) = resolve(status, system) {
            prop_assert!(clock.note.starts_with("clock: "));
        }
    }
    if let Ok(disks) = parse_storage(body) {
        for d in disks {
            prop_assert_eq!(d.healthy, owed(&d.status), "{}", d.status);
        }
    }
    if let Ok(tracks) = parse_tracks(body) {
        let _ = tracks_overwrite(&tracks);
    }
    let _ = parse_storage_extension(body);
    let _ = parse_channel_status(body);
    if let Ok(page) = parse_search(body) {
        prop_assert!(page.newest.is_none() || page.matches > 0);
    }
    if let Some(Some(left)) = read_lock(body) {
        prop_assert!(left <= MAX_LOCK && left > Duration::ZERO);
    }
    let _ = stamp(body);
    let _ = posix_zone(body);
    let _ = offset_of(body);
    Ok(())
}

#[test]
fn fuzz_hikvision_any_text() {
    check(
        prop_oneof![
            any::<String>(),
            soup(r#"<>/a-zA-Z0-9 ="!?:.\-"#, 300),
            soup("0-9:TZ+-", 40),
            soup("CSTD0-9:+-,./M", 40),
        ],
        |body| all_parsers(&body),
    );
}

/// A disk list whose disk says a vendor word (or any other): healthy exactly
/// when the vendor table says it can record.
#[test]
fn fuzz_hikvision_disk_status_words() {
    let word = prop_oneof![
        proptest::sample::select(HDD_STATUS.map(|(w, _)| w.to_owned()).to_vec()),
        "[a-zA-Z]{0,16}",
    ];
    check(word, |word| {
        let body = format!(
            "<hddList><hdd><id>1</id><status>{word}</status><capacity>100</capacity></hdd></hddList>"
        );
        let disks = parse_storage(&body).unwrap();
        prop_assert_eq!(disks.len(), 1);
        prop_assert_eq!(disks[0].healthy, owed(&word), "{}", word);
        Ok(())
    });
}

#[test]
fn fuzz_hikvision_mutated_fixtures() {
    check(
        mutated_any(super::fixtures("hikvision"), XML_BRACKETS),
        |body| all_parsers(&body),
    );
}

/// A search time written for either firmware reads back as the same
/// instant under that firmware's reading. Years 1 to 9999, the ones
/// written with four digits.
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
        for r in [SearchTimes::Utc, SearchTimes::Wall] {
            let written = stamp(&text(r.digits(t, offset))).unwrap();
            prop_assert_eq!(r.read(written, offset), Some(t));
        }
        Ok(())
    });
}

/// The offset at the end of a device time is read as written, and a POSIX
/// zone as the inverse of its sign.
#[test]
fn fuzz_hikvision_offset_round_trips() {
    check((any::<bool>(), 0i32..=23, 0i32..=59), |(minus, h, m)| {
        let sign = if minus { -1 } else { 1 };
        let text = format!(
            "2018-06-11T08:00:00{}{h:02}:{m:02}",
            if minus { '-' } else { '+' }
        );
        let want = Offset::from_seconds(sign * (h * 3600 + m * 60)).ok();
        prop_assert_eq!(offset_of(&text), want);
        let posix = format!("CST{}{h}:{m:02}:00", if minus { '+' } else { '-' });
        prop_assert_eq!(posix_zone(&posix).map(|z| z.offset), want);
        Ok(())
    });
}

/// What one simulated channel does: records now, stopped this many
/// seconds before the first round (or this many seconds off the zone's
/// offset ago, where the wrong reading puts its end near now), or never
/// recorded in the lookback.
#[derive(Debug, Clone, Copy)]
enum Cam {
    Recording,
    Stopped(i64),
    StoppedOffsetAgo(i64),
    Nothing,
}

fn cam() -> impl Strategy<Value = Cam> {
    prop_oneof![
        Just(Cam::Recording),
        (0i64..8 * 86_400).prop_map(Cam::Stopped),
        (-600i64..600).prop_map(Cam::StoppedOffsetAgo),
        Just(Cam::Nothing),
    ]
}

/// A real zone's offset: whole quarter hours, never UTC.
fn zone() -> impl Strategy<Value = Offset> {
    (-48i32..=56)
        .prop_filter("not UTC", |q| *q != 0)
        .prop_map(|q| Offset::from_seconds(q * 900).unwrap())
}

/// Firmware of either convention, any zone, cameras in any state, rounds
/// any few minutes apart: a decision is always the firmware's own, and an
/// undecided round always carries the true end among its two candidates.
#[test]
fn fuzz_hikvision_search_convention_is_never_wrong() {
    let cases = (
        zone(),
        any::<bool>(),
        proptest::collection::vec(cam(), 1..5),
        1i64..900,
        3usize..5,
    );
    check(cases, |(offset, utc, cams, gap, rounds)| {
        let truth = if utc {
            SearchTimes::Utc
        } else {
            SearchTimes::Wall
        };
        let first = Timestamp::from_second(1_528_678_800).unwrap();
        let mut memory = Memory::default();
        for round in 0..rounds {
            let now = first + SignedDuration::from_secs(gap * i64::try_from(round).unwrap());
            let ends: Vec<Option<Timestamp>> = cams
                .iter()
                .map(|c| match c {
                    Cam::Recording => Some(now - SignedDuration::from_secs(4)),
                    Cam::Stopped(ago) => Some(first - SignedDuration::from_secs(*ago)),
                    Cam::StoppedOffsetAgo(d) => {
                        let ago = i64::from(offset.seconds()).abs() + d;
                        Some(first - SignedDuration::from_secs(ago.max(0)))
                    }
                    Cam::Nothing => None,
                })
                .collect();
            let results: Vec<(&str, Result<Found, ProbeError>)> = ends
                .iter()
                .zip(["1", "2", "3", "4"])
                .map(|(e, id)| {
                    let newest = e.map(|t| Stamp {
                        civil: truth.digits(t, offset),
                        exact: false,
                    });
                    (
                        id,
                        Ok(Found {
                            newest,
                            complete: true,
                        }),
                    )
                })
                .collect();
            let mode = memory.mode(Some(offset));
            // A known convention may be looked at again (as the adapter
            // does, in the same round); what must never happen is a wrong
            // fact or a wrong decision.
            let settled = match memory.settle(mode, now, offset, &results) {
                Settled::Redo => memory.settle(Mode::Detect, now, offset, &results),
                done => done,
            };
            let Settled::Done(got, line) = settled else {
                return Err(TestCaseError::fail("detection asked to detect again"));
            };
            let decided = !line.contains("not yet known");
            if decided {
                let want = if utc {
                    "search-times: utc"
                } else {
                    "search-times: wall clock"
                };
                prop_assert_eq!(line, want);
            }
            for (e, want) in got.iter().zip(&ends) {
                prop_assert_eq!(&e.error, &None);
                if decided {
                    prop_assert_eq!(e.end, *want);
                } else {
                    prop_assert!(e.end == *want || e.other == *want, "{e:?} {want:?}");
                }
            }
        }
        Ok(())
    });
}
