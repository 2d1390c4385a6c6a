//! ZKTeco PUSH text: the query string, the options block, and every upload
//! parser (ATTLOG, OPERLOG, rtlog, rtstate) on any bytes and on mutated
//! fixtures; times, time zones and stamps read back as written, and a
//! record's fields read the same in any order.

use jiff::civil::DateTime;
use jiff::tz::Offset;
use proptest::prelude::*;
use ronda_agent::doors::zkteco::proto::*;

use super::support::{check, mutated_any, soup};

const BRACKETS: &[(&str, &str)] = &[("=", "\t")];
const TABLES: [Table; 5] = [
    Table::AttLog,
    Table::OperLog,
    Table::RtLog,
    Table::RtState,
    Table::Other,
];

/// A record holds only what Ronda may keep: a user id or nothing, a door
/// number that is a door, a short code.
fn sound(r: &Record) -> Result<(), TestCaseError> {
    if let Some(who) = &r.who {
        prop_assert!(ronda_wire::is_user_id(who) && who != "0", "{:?}", who);
    }
    prop_assert!(r.door_no != Some(0));
    prop_assert!(r.code.len() <= 32 && r.code.is_ascii(), "{:?}", r.code);
    prop_assert!(r.kind.is_some() || r.state.is_some());
    Ok(())
}

/// Every parser on one body: each answers, and what it answers holds
/// together. Every non-empty line is counted exactly once.
fn all_parsers(body: &str) -> Result<(), TestCaseError> {
    for line in body.lines() {
        for entry in [parse_attlog(line), parse_oplog(line), parse_keyed(line)] {
            if let Entry::Record(r) = entry {
                sound(&r)?;
            }
        }
        if let Some(s) = parse_rtstate(line) {
            prop_assert!(s.doors.iter().all(|(no, _)| (1..=4).contains(no)));
        }
    }
    let q = Query::parse(body);
    let _ = q.get("SN");
    let stamps = Stamps::parse(body);
    prop_assert!(stamps
        .attlog
        .iter()
        .chain(&stamps.operlog)
        .all(|s| valid_stamp(s)));
    for table in TABLES {
        let Ok(up) = parse_upload(table, body.as_bytes()) else {
            prop_assert!(body.lines().count() > MAX_LINES);
            continue;
        };
        prop_assert!(up.lines <= MAX_LINES);
        let counted = up.records.len() + up.states.len() + up.ignored + up.unmapped + up.bad;
        if table != Table::Other {
            prop_assert_eq!(counted, up.lines);
        }
        for r in &up.records {
            sound(r)?;
        }
    }
    Ok(())
}

#[test]
fn fuzz_zkteco_any_text() {
    check(
        prop_oneof![
            any::<String>(),
            soup("a-zA-Z0-9=\t\n\r :_.-", 400),
            soup("OPLG0-9\t :-", 200),
            soup("timepvnsraod=0-9\t :-", 300),
        ],
        |body| all_parsers(&body),
    );
}

#[test]
fn fuzz_zkteco_mutated_fixtures() {
    check(mutated_any(super::fixtures("zkteco"), BRACKETS), |body| {
        all_parsers(&body)
    });
}

/// Any bytes as an upload, not only UTF-8.
#[test]
fn fuzz_zkteco_any_bytes() {
    check(proptest::collection::vec(any::<u8>(), 0..2000), |bytes| {
        for table in TABLES {
            let up = parse_upload(table, &bytes).unwrap();
            for r in &up.records {
                sound(r)?;
            }
        }
        Ok(())
    });
}

fn datetime() -> impl Strategy<Value = DateTime> {
    (0i16..=9999, 1i8..=12, 1i8..=28, 0i8..24, 0i8..60, 0i8..60)
        .prop_map(|(y, mo, d, h, mi, s)| jiff::civil::date(y, mo, d).at(h, mi, s, 0))
}

fn written(t: DateTime) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

#[test]
fn fuzz_zkteco_times_read_back() {
    check(datetime(), |t| {
        prop_assert_eq!(local_time(&written(t)), Some(t));
        Ok(())
    });
}

/// An ATTLOG record keeps its PIN exactly when it is a user id.
#[test]
fn fuzz_zkteco_attlog_pins() {
    let pin = prop_oneof!["[0-9]{1,9}", "[A-Za-z0-9._-]{1,40}", "[^\t\n\r=]{0,40}",];
    check((pin, datetime()), |(pin, t)| {
        let line = format!("{pin}\t{}\t0\t1\t0\t0\t0", written(t));
        let Entry::Record(r) = parse_attlog(&line) else {
            return Err(TestCaseError::fail(format!("{line:?} not read")));
        };
        let trimmed = pin.trim();
        let want = (ronda_wire::is_user_id(trimmed) && trimmed != "0").then(|| trimmed.to_owned());
        prop_assert_eq!(r.who, want);
        prop_assert_eq!(r.time, t);
        Ok(())
    });
}

/// An rtlog line reads the same whatever the order of its fields.
#[test]
fn fuzz_zkteco_rtlog_any_order() {
    let fields = (datetime(), "[0-9]{1,5}", 0u32..300, 0u32..6);
    check((fields, any::<u64>()), |((t, pin, event, door), seed)| {
        let mut parts = vec![
            format!("time={}", written(t)),
            format!("pin={pin}"),
            "cardno=0".to_owned(),
            format!("eventaddr={door}"),
            format!("event={event}"),
            "inoutstatus=1".to_owned(),
            "verifytype=15".to_owned(),
            "index=9".to_owned(),
        ];
        let canonical = parse_keyed(&parts.join("\t"));
        fastrand::Rng::with_seed(seed).shuffle(&mut parts);
        prop_assert_eq!(parse_keyed(&parts.join("\t")), canonical.clone());
        match (&canonical, rtlog_kind(event)) {
            (Entry::Unmapped(code), None) => prop_assert_eq!(*code, event),
            (Entry::Record(r), Some(kind)) => prop_assert_eq!(r.kind, kind),
            (Entry::Ignored, Some(None)) => {}
            (other, kind) => {
                return Err(TestCaseError::fail(format!(
                    "{event}: {other:?} for {kind:?}"
                )))
            }
        }
        Ok(())
    });
}

/// `TimeZone=` always says the offset it was given, in the unit its size
/// implies [ATT §6], and the options block is the same lines whatever the
/// stamps a cursor held.
#[test]
fn fuzz_zkteco_options_block() {
    let offset = (-1080i32..=1080).prop_map(|m| Offset::from_seconds(m * 60).unwrap());
    check(
        (offset, any::<String>(), "[A-Z0-9]{1,32}"),
        |(offset, cursor, sn)| {
            if let Some(tz) = time_zone(offset) {
                let seconds = if (-12 < tz) && (tz < 12) {
                    tz * 3600
                } else {
                    tz * 60
                };
                prop_assert!((-12 < tz && tz < 12) || tz.abs() > 60);
                prop_assert_eq!(seconds, offset.seconds());
            }
            let reply = options_reply(&sn, &Stamps::parse(&cursor), Some(offset));
            let lines: Vec<&str> = reply.lines().collect();
            prop_assert_eq!(lines[0], format!("GET OPTION FROM: {sn}"));
            let expected = if time_zone(offset).is_some() { 14 } else { 13 };
            prop_assert_eq!(lines.len(), expected);
            prop_assert!(lines[1..].iter().all(|l| l.contains('=')));
            Ok(())
        },
    );
}
