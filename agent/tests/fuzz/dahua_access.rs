//! Dahua access-control `key=value` text: the record, door status and
//! system info parsers on any text and on mutated fixtures
//! (`sim/fixtures/dahua-access/`); record times read back as written; and
//! a page of records, once taken, is never taken again.

use std::time::Duration;

use jiff::tz::Offset;
use jiff::Timestamp;
use proptest::prelude::*;
use ronda_agent::doors::config::DoorPlace;
use ronda_agent::doors::dahua::parse::*;
use ronda_agent::doors::dahua::{kind, Log};
use ronda_agent::doors::{AccessConfig, AccessKind};

use super::support::{check, mutated_any, soup};

const BRACKETS: &[(&str, &str)] = &[("[", "]")];

fn config() -> AccessConfig {
    AccessConfig {
        id: "pintu-samping".into(),
        kind: AccessKind::DahuaAccess,
        url: Some("http://127.0.0.1".into()),
        creds: None,
        insecure_tls: false,
        timeout: Duration::from_secs(5),
        poll: Duration::from_secs(5),
        serial: None,
        offset: Some(Offset::constant(7)),
        silence: Duration::from_secs(300),
        doors: vec![DoorPlace {
            no: 1,
            door: "main-door".into(),
        }],
    }
}

fn all_parsers(body: &str) -> Result<(), TestCaseError> {
    if let Ok(found) = parse_records(body) {
        prop_assert!(found.records.len() <= MAX_RECORDS);
        taken_once(found.records)?;
    }
    let _ = parse_door_status(body);
    let _ = parse_system_info(body);
    let _ = record_time(body, Some(Offset::constant(7)));
    Ok(())
}

/// What comes out of a page is what the wire accepts, kinds by the table,
/// each number once and past the old cursor; the page again gives nothing.
fn taken_once(records: Vec<Record>) -> Result<(), TestCaseError> {
    let cfg = config();
    for start in [
        Log::default(),
        Log {
            cursor: Some(5),
            since: None,
        },
    ] {
        let t = start.take(records.clone(), &cfg);
        let mut numbers = Vec::new();
        for e in &t.events {
            prop_assert!(
                e.who.as_deref().is_none_or(ronda_wire::is_user_id),
                "{:?}",
                e.who
            );
            prop_assert!(e.code.len() <= 32);
            let n = e.number.unwrap();
            prop_assert!(start.cursor.is_none_or(|c| n > c));
            let mapped = records
                .iter()
                .any(|r| r.rec_no == Some(n) && kind(r.status, r.method) == Some(e.kind));
            prop_assert!(mapped, "{:?} is not what its record says", e.kind);
            numbers.push(n);
        }
        let count = numbers.len();
        numbers.sort_unstable();
        numbers.dedup();
        prop_assert_eq!(numbers.len(), count, "a number taken twice");
        let again = t.log.take(records.clone(), &cfg);
        prop_assert!(again.events.is_empty(), "taken twice: {:?}", again.events);
    }
    Ok(())
}

#[test]
fn fuzz_dahua_access_any_text() {
    check(
        prop_oneof![any::<String>(), soup(r"a-zA-Z0-9\[\]=.\r\n :-", 400),],
        |body| all_parsers(&body),
    );
}

#[test]
fn fuzz_dahua_access_mutated_fixtures() {
    check(
        mutated_any(super::fixtures("dahua-access"), BRACKETS),
        |body| all_parsers(&body),
    );
}

/// A record line set as a device may send it.
fn record() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        Just(String::new()),
        (0u64..12).prop_map(|n| n.to_string()),
        Just("1766662200".to_owned()),
        Just("2025-12-25 18:30:00".to_owned()),
        Just("true".to_owned()),
        "[ -~]{0,80}",
    ];
    let field = proptest::sample::select(vec![
        "RecNo",
        "CreateTime",
        "CardNo",
        "UserID",
        "Door",
        "Method",
        "Status",
        "Type",
    ]);
    (0usize..8, proptest::collection::vec((field, value), 0..10)).prop_map(|(i, fields)| {
        fields
            .into_iter()
            .map(|(k, v)| format!("records[{i}].{k}={v}\r\n"))
            .collect()
    })
}

#[test]
fn fuzz_dahua_access_generated_records_are_taken_once() {
    check(proptest::collection::vec(record(), 0..12), |lines| {
        let body = format!("found={}\r\n{}", lines.len(), lines.concat());
        all_parsers(&body)
    });
}

/// An epoch `CreateTime` is that instant; a local one is its wall time in
/// the configured offset.
#[test]
fn fuzz_dahua_access_record_times_round_trip() {
    check((0i64..4_102_444_800, -50_400i32..=50_400), |(s, off)| {
        let t = Timestamp::from_second(s).unwrap();
        prop_assert_eq!(record_time(&s.to_string(), None), Some(t));
        let o = Offset::from_seconds(off / 60 * 60).unwrap();
        let wall = o.to_datetime(t).strftime("%Y-%m-%d %H:%M:%S").to_string();
        prop_assert_eq!(record_time(&wall, Some(o)), Some(t));
        Ok(())
    });
}
