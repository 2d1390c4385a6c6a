//! Hikvision access-control JSON: the `AcsEvent` page and `AcsWorkStatus`
//! parsers on any text, any JSON and mutated fixtures
//! (`sim/fixtures/hikvision-access/`); event times read back as written;
//! and a page, once taken, is never taken again, whatever it holds.

use std::time::Duration;

use jiff::tz::Offset;
use jiff::Timestamp;
use proptest::prelude::*;
use ronda_agent::doors::config::DoorPlace;
use ronda_agent::doors::hikvision::codes::{self, MAPPED};
use ronda_agent::doors::hikvision::parse::*;
use ronda_agent::doors::hikvision::{event_time, Log, Place};
use ronda_agent::doors::{AccessConfig, AccessKind};
use serde_json::{json, Value};

use super::support::{check, mutated_any, soup};
use super::{json_value, JSON_BRACKETS};

/// Every parser on one body: Ok or a clean error, and what it answers
/// holds together.
fn all_parsers(body: &str) -> Result<(), TestCaseError> {
    if let Ok(page) = parse_events(body) {
        for e in &page.events {
            prop_assert!(!e.time.is_empty() && e.time.len() <= 40);
        }
        taken_once(page.events)?;
    }
    if let Ok(doors) = parse_work_status(body) {
        prop_assert!(doors.len() <= MAX_DOORS);
        for (i, (no, _)) in doors.iter().enumerate() {
            prop_assert_eq!(*no as usize, i + 1);
        }
    }
    let _ = parse_device_info(body);
    Ok(())
}

pub fn config() -> AccessConfig {
    AccessConfig {
        id: "pintu-depan".into(),
        kind: AccessKind::HikvisionAccess,
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

/// A page taken from any log: what comes out is what the wire accepts,
/// mapped by the table, numbered past the old cursor; and the same page
/// taken again from where the log then stands gives nothing.
fn taken_once(events: Vec<RawEvent>) -> Result<(), TestCaseError> {
    let cfg = config();
    let place = Place {
        config: &cfg,
        device_offset: None,
    };
    for start in [
        Log::default(),
        Log {
            cursor: Some(5),
            ..Log::default()
        },
    ] {
        let t = start.take(events.clone(), &place);
        for e in &t.events {
            prop_assert!(
                e.who.as_deref().is_none_or(ronda_wire::is_user_id),
                "{:?}",
                e.who
            );
            prop_assert!(e.code.len() <= 32);
            prop_assert!(e.number.is_none_or(|n| start.cursor.is_none_or(|c| n > c)));
            let (ma, mi) = e.code.split_once('/').unwrap();
            prop_assert_eq!(
                codes::kind(ma.parse().unwrap(), mi.parse().unwrap()),
                Some(e.kind)
            );
        }
        let mut n: Vec<u64> = t.events.iter().filter_map(|e| e.number).collect();
        n.sort_unstable();
        n.dedup();
        prop_assert_eq!(
            n.len(),
            t.events.iter().filter(|e| e.number.is_some()).count()
        );
        let numbered = events.iter().filter_map(|e| e.serial).max();
        prop_assert!(numbered.is_none_or(|n| t.log.cursor.is_some_and(|c| c >= n)));
        let again = t.log.take(events.clone(), &place);
        prop_assert!(again.events.is_empty(), "taken twice: {:?}", again.events);
    }
    Ok(())
}

#[test]
fn fuzz_hik_access_any_text() {
    check(
        prop_oneof![any::<String>(), soup(r#"{}\[\]":,0-9a-zA-Z_ .+-"#, 300),],
        |body| all_parsers(&body),
    );
}

#[test]
fn fuzz_hik_access_any_json() {
    check(json_value(), |v| {
        for wrapped in [
            json!({ "AcsEvent": v }),
            json!({ "AcsEvent": { "responseStatusStrg": "MORE", "InfoList": v } }),
            json!({ "AcsWorkStatus": v }),
            v.clone(),
        ] {
            all_parsers(&wrapped.to_string())?;
        }
        Ok(())
    });
}

#[test]
fn fuzz_hik_access_mutated_fixtures() {
    check(
        mutated_any(super::fixtures("hikvision-access"), JSON_BRACKETS),
        |body| all_parsers(&body),
    );
}

/// An item as a device may send it: a mapped or any code, a serial or
/// none, a time with an offset, a `Z` or none, any person ID.
fn item() -> impl Strategy<Value = Value> {
    let code = prop_oneof![
        proptest::sample::select(
            MAPPED
                .iter()
                .map(|(a, b, _, _)| (*a, *b))
                .collect::<Vec<_>>()
        ),
        (0u32..8, any::<u32>()),
    ];
    let time = prop_oneof![
        Just("2025-12-25T22:40:51+07:00".to_owned()),
        Just("2025-12-25T22:40:51Z".to_owned()),
        Just("2025-12-25T22:40:51".to_owned()),
        (0u32..60).prop_map(|s| format!("2025-12-25T22:40:{s:02}-03:30")),
        any::<String>(),
    ];
    let who = prop_oneof![
        Just(None),
        Just(Some("1023".to_owned())),
        any::<Option<String>>()
    ];
    (
        code,
        time,
        proptest::option::of(0u64..20),
        who,
        proptest::option::of(0u32..4),
    )
        .prop_map(|((major, minor), time, serial, who, door)| {
            json!({"major": major, "minor": minor, "time": time, "serialNo": serial,
                   "employeeNoString": who, "doorNo": door})
        })
}

#[test]
fn fuzz_hik_access_generated_pages_are_taken_once() {
    check(proptest::collection::vec(item(), 0..20), |items| {
        let body = json!({"AcsEvent": {"responseStatusStrg": "OK", "InfoList": items}});
        let page = parse_events(&body.to_string()).unwrap();
        taken_once(page.events)
    });
}

/// A time written with any offset reads back as the same instant and keeps
/// its offset.
#[test]
fn fuzz_hik_access_event_times_round_trip() {
    let (first, last) = (946_684_800i64, 4_102_444_800i64);
    check((first..last, -50_400i32..=50_400), |(s, off)| {
        let o = Offset::from_seconds(off / 60 * 60).unwrap();
        let t = Timestamp::from_second(s).unwrap();
        let text = t.display_with_offset(o).to_string();
        let (_, at) = event_time(&text, None, None).unwrap();
        prop_assert_eq!(at.instant, t);
        prop_assert_eq!(at.offset, o);
        Ok(())
    });
}
