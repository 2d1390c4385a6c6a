//! Fuzz targets for the door controllers' parsers: the Hikvision terminal's
//! `AcsEventCond` reader and pager, and the ZKTeco device's readers of the
//! server's answers (options, commands, time zone), on mutated samples of
//! the docs' own examples and on any text. None may panic, and what they
//! accept must hold together.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jiff::tz::Offset;
use jiff::Timestamp;
use proptest::prelude::*;
use ronda_sim::access::hikvision::search::{page, Cond};
use ronda_sim::access::zkteco::proto;
use ronda_sim::access::{AccessState, Happening};
use ronda_testkit::fuzz::{check, mutated_any, soup};

const SN: &str = "CKJM201960012";

/// docs/vendors/hikvision-access.md §1.3, and the Java client's resume.
fn cond_samples() -> Vec<String> {
    vec![
        r#"{"AcsEventCond":{"searchID":"ronda-7f3a","searchResultPosition":0,"maxResults":30,"major":0,"minor":0,"startTime":"2025-12-24T00:00:00+01:00","endTime":"2025-12-27T23:59:59+01:00","timeReverseOrder":false}}"#.into(),
        r#"{"AcsEventCond":{"searchID":"x","searchResultPosition":30,"maxResults":100,"major":5,"minor":75,"beginSerialNo":1185,"endSerialNo":2147483647,"employeeNoString":"1023","eventAttribute":"attendance"}}"#.into(),
    ]
}

/// docs/vendors/zkteco-push.md §1 and §4.
fn zk_samples() -> Vec<String> {
    vec![
        format!("GET OPTION FROM: {SN}\nATTLOGStamp=None\nOPERLOGStamp=9999\nErrorDelay=30\nDelay=10\nTransTimes=00:00;14:05\nTransInterval=1\nTransFlag=TransData AttLog\tOpLog\nTimeZone=7\nRealtime=1\nEncrypt=None\n"),
        "C:101:DATA QUERY ATTLOG StartTime=2026-01-01 00:00:00\tEndTime=2026-01-02 00:00:00\nC:102:CHECK\n".into(),
        "OK".into(),
    ]
}

fn log(n: u64) -> AccessState {
    let mut a = AccessState::default();
    let t0: Timestamp = "2025-12-25T00:00:00Z".parse().unwrap();
    for i in 0..n {
        let at = t0 + jiff::SignedDuration::from_mins(i64::try_from(i).unwrap());
        let what = if i % 3 == 0 {
            Happening::Granted
        } else {
            Happening::DoorOpen
        };
        a.record(
            at,
            what,
            Some(1),
            (what == Happening::Granted).then_some("1023"),
        );
    }
    a
}

fn the_search_holds_together(body: &str) -> Result<(), TestCaseError> {
    let a = log(70);
    if let Ok(c) = Cond::parse(body, Offset::constant(7)) {
        let p = page(&c, &a);
        prop_assert!(p.events.len() <= c.max_results.min(a.max_results));
        prop_assert!(p.total <= a.log.len());
        let status = p.status(c.position);
        prop_assert_eq!(status == "NO MATCH", p.events.is_empty());
        if status == "MORE" {
            prop_assert!(c.position + p.events.len() < p.total);
        }
    }
    Ok(())
}

fn the_answers_hold_together(body: &str) -> Result<(), TestCaseError> {
    if let Ok(options) = proto::parse_options(body, SN) {
        for (k, v) in &options {
            prop_assert!(!k.is_empty() && k.trim() == k && v.trim() == v);
            prop_assert!(!k.contains('\n') && !v.contains('\n'));
        }
    }
    let commands = proto::commands(body);
    prop_assert!(commands.len() <= proto::MAX_COMMANDS);
    for c in &commands {
        prop_assert!(!c.id.is_empty() && c.id.len() <= 16);
        prop_assert!(c.id.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
    if let Some(tz) = proto::time_zone(body) {
        prop_assert!(tz.seconds().abs() <= 14 * 3600);
    }
    if let Some(s) = proto::seconds(body) {
        prop_assert!((1..=86_400).contains(&s));
    }
    let _ = proto::trans_tables(Some(body));
    let _ = proto::accepted(200, body);
    Ok(())
}

#[test]
fn fuzz_acs_event_cond_mutated() {
    check(
        mutated_any(cond_samples(), &[("{", "}"), ("[", "]")]),
        |b| the_search_holds_together(&b),
    );
}

#[test]
fn fuzz_acs_event_cond_any_text() {
    check(
        soup(r#"{}\[\]":,0-9+TZ\-abcdeflmnorstuxyACEIS"#, 300),
        |b| the_search_holds_together(&b),
    );
}

#[test]
fn fuzz_push_answers_mutated() {
    check(mutated_any(zk_samples(), &[]), |b| {
        the_answers_hold_together(&b)
    });
}

#[test]
fn fuzz_push_answers_any_text() {
    check(soup("GETOPINFRM: C=\t\n\r0-9:ABCKJ\\-", 300), |b| {
        the_answers_hold_together(&b)
    });
}
