//! The alert lifecycle, driven by hand-made evaluations.

use std::path::Path;

use jiff::SignedDuration;

use super::*;
use crate::eval::{Evaluation, Finding, ItemResult, Status};

/// A letter with one power.off item, `for: 30m`.
fn letter() -> Letter {
    let text = "letter: {id: l, number: '1', title: t, issuer: i, issued: 2018-06-08}\ntimezone: Asia/Jakarta\nwindow: always\noffices: all\nchecklist:\n  - id: off\n    text: {id: x, en: x}\n    check: {kind: power.off}\n    for: 30m\n    severity: warning\n";
    crate::from_text(Path::new("t.yaml"), text.into(), None).unwrap()
}

fn t0() -> Timestamp {
    "2018-06-12T03:00:00Z".parse().unwrap()
}

fn at(mins: i64) -> Timestamp {
    t0() + SignedDuration::from_mins(mins)
}

/// The printer's finding at minute `m`, and whether the agent is down.
fn eval(m: i64, status: Status, enforced: bool, down: bool) -> Evaluation {
    let finding = Finding {
        subject: "printer".into(),
        agent: Some("gw".into()),
        status,
        message: crate::text::Text::same(format!("printer {status:?}")),
        advisory: None,
        severity: None,
        anytime: false,
        evidence: serde_json::json!({ "relay_on": status == Status::Fail }),
    };
    let findings = if down { vec![] } else { vec![finding] };
    Evaluation {
        letter: "l".into(),
        office: "dinkes".into(),
        at: at(m),
        enforced,
        down: if down { vec!["gw".into()] } else { vec![] },
        items: vec![ItemResult {
            item: "off".into(),
            kind: "power.off",
            severity: Severity::Warning,
            status,
            findings,
        }],
    }
}

fn moves(changes: &[Change]) -> Vec<(Option<State>, State)> {
    changes
        .iter()
        .map(|c| (c.transition.from, c.transition.to))
        .collect()
}

#[test]
fn pending_during_the_grace_then_firing_once_then_resolved() {
    let (l, mut book) = (letter(), Book::new(vec![], 0));
    assert_eq!(
        moves(&book.apply(&l, &eval(0, Status::Fail, true, false))),
        vec![(None, State::Pending)]
    );
    assert!(book
        .apply(&l, &eval(29, Status::Fail, true, false))
        .is_empty());
    let fired = book.apply(&l, &eval(30, Status::Fail, true, false));
    assert_eq!(moves(&fired), vec![(Some(State::Pending), State::Firing)]);
    assert_eq!(fired[0].alert.fired, Some(at(30)));
    assert!(
        book.apply(&l, &eval(90, Status::Fail, true, false))
            .is_empty(),
        "fires once"
    );
    let ok = book.apply(&l, &eval(91, Status::Ok, true, false));
    assert_eq!(moves(&ok), vec![(Some(State::Firing), State::Resolved)]);
    assert_eq!(ok[0].alert.resolved, Some(at(91)));
    assert_eq!(book.open().count(), 0);
    // A new failure is a new alert with a new id.
    let again = book.apply(&l, &eval(100, Status::Fail, true, false));
    assert_eq!(again[0].alert.id, 2);
}

#[test]
fn a_failure_that_clears_within_its_grace_resolves_from_pending() {
    let (l, mut book) = (letter(), Book::default());
    book.apply(&l, &eval(0, Status::Fail, true, false));
    assert_eq!(
        moves(&book.apply(&l, &eval(10, Status::Ok, true, false))),
        vec![(Some(State::Pending), State::Resolved)]
    );
}

#[test]
fn acknowledgement_needs_a_note_holds_and_never_hides_recovery() {
    let (l, mut book) = (letter(), Book::new(vec![], 41));
    book.apply(&l, &eval(0, Status::Fail, true, false));
    book.apply(&l, &eval(30, Status::Fail, true, false));
    assert_eq!(
        book.acknowledge(42, "budi", "  ", None, at(31)),
        Err(AckError::NoNote)
    );
    assert_eq!(
        book.acknowledge(7, "budi", "on it", None, at(31)),
        Err(AckError::NotOpen(7))
    );
    let ack = book
        .acknowledge(42, "budi", "teknisi menuju kantor", None, at(31))
        .unwrap();
    assert_eq!(ack.transition.actor.as_deref(), Some("budi"));
    assert_eq!(ack.alert.state, State::Acknowledged);
    assert!(
        book.apply(&l, &eval(300, Status::Fail, true, false))
            .is_empty(),
        "sticky until recovery"
    );
    let ok = book.apply(&l, &eval(301, Status::Ok, true, false));
    assert_eq!(
        moves(&ok),
        vec![(Some(State::Acknowledged), State::Resolved)]
    );
}

#[test]
fn an_acknowledgement_with_an_expiry_lapses_back_to_firing() {
    let (l, mut book) = (letter(), Book::default());
    book.apply(&l, &eval(0, Status::Fail, true, false));
    book.apply(&l, &eval(30, Status::Fail, true, false));
    assert_eq!(
        book.acknowledge(1, "budi", "x", Some(at(30)), at(31)),
        Err(AckError::ExpiryPast)
    );
    book.acknowledge(1, "budi", "besok pagi", Some(at(60)), at(31))
        .unwrap();
    assert!(book
        .apply(&l, &eval(59, Status::Fail, true, false))
        .is_empty());
    let lapsed = book.apply(&l, &eval(60, Status::Fail, true, false));
    assert_eq!(
        moves(&lapsed),
        vec![(Some(State::Acknowledged), State::Firing)]
    );
    assert_eq!(lapsed[0].transition.cause.en, "acknowledgement expired");
    assert!(lapsed[0].alert.ack.is_none());
}

#[test]
fn outside_the_window_nothing_fires_and_open_alerts_resolve() {
    let (l, mut book) = (letter(), Book::default());
    assert!(book
        .apply(&l, &eval(0, Status::Fail, false, false))
        .is_empty());
    book.apply(&l, &eval(1, Status::Fail, true, false));
    let closed = book.apply(&l, &eval(2, Status::Fail, false, false));
    assert_eq!(
        moves(&closed),
        vec![(Some(State::Pending), State::Resolved)]
    );
    assert!(closed[0].transition.cause.en.contains("window"));
}

#[test]
fn an_offline_agents_alerts_are_held_not_resolved() {
    let (l, mut book) = (letter(), Book::default());
    book.apply(&l, &eval(0, Status::Fail, true, false));
    book.apply(&l, &eval(30, Status::Fail, true, false));
    assert!(book
        .apply(&l, &eval(31, Status::NoData, true, true))
        .is_empty());
    assert_eq!(book.open().next().unwrap().state, State::Firing);
    // The same subject gone while the agent is up: it was removed.
    let gone = book.apply(
        &l,
        &Evaluation {
            items: vec![],
            ..eval(32, Status::Ok, true, false)
        },
    );
    assert_eq!(moves(&gone), vec![(Some(State::Firing), State::Resolved)]);
    assert_eq!(gone[0].transition.cause.en, "no longer reported");
}

#[test]
fn a_resumed_book_continues_ids_and_keeps_open_alerts() {
    let (l, mut book) = (letter(), Book::default());
    book.apply(&l, &eval(0, Status::Fail, true, false));
    let open: Vec<Alert> = book.open().cloned().collect();
    let mut again = Book::new(open, 9);
    assert!(
        again
            .apply(&l, &eval(10, Status::Fail, true, false))
            .is_empty(),
        "same alert, still pending"
    );
    let fired = again.apply(&l, &eval(30, Status::Fail, true, false));
    assert_eq!(fired[0].alert.id, 1);
    let other = Evaluation {
        items: vec![],
        ..eval(31, Status::Ok, true, false)
    };
    again.apply(&l, &other);
    assert_eq!(
        again.apply(&l, &eval(40, Status::Fail, true, false))[0]
            .alert
            .id,
        10
    );
}

#[test]
fn an_office_that_recovers_resolves_only_its_own_alerts() {
    // Offices whose ids share a prefix sit next to each other in the book.
    let (l, mut book) = (letter(), Book::default());
    for office in ["dinkes", "dinkes-2", "dinkes2"] {
        let e = Evaluation {
            office: office.into(),
            ..eval(0, Status::Fail, true, false)
        };
        book.apply(&l, &e);
    }
    assert_eq!(book.open_in("l", "dinkes").count(), 1);
    let changes = book.apply(&l, &eval(5, Status::Ok, true, false));
    assert_eq!(moves(&changes), [(Some(State::Pending), State::Resolved)]);
    let left: Vec<&str> = book.open().map(|a| a.key.office.as_str()).collect();
    assert_eq!(left, ["dinkes-2", "dinkes2"]);
    assert_eq!(book.open_in("l", "dinkes").count(), 0);
    assert_eq!(book.open_in("other-letter", "dinkes-2").count(), 0);
}

/// At minute `m`: the printer (judged in the window) and a forced door
/// (judged at any time, critical under the warning item), both `status`.
fn with_door(m: i64, status: Status, enforced: bool) -> Evaluation {
    let mut e = eval(m, status, enforced, false);
    let door = Finding {
        subject: "forced:acs/1".into(),
        message: crate::text::Text::same(format!("door {status:?}")),
        ..e.items[0].findings[0].clone()
    }
    .at_severity(Severity::Critical)
    .anytime();
    e.items[0].findings.push(door);
    e
}

fn subjects(changes: &[Change]) -> Vec<(&str, State)> {
    changes
        .iter()
        .map(|c| (c.alert.key.subject.as_str(), c.transition.to))
        .collect()
}

#[test]
fn an_anytime_finding_opens_fires_and_resolves_outside_the_window() {
    let (l, mut book) = (letter(), Book::default());
    let opened = book.apply(&l, &with_door(0, Status::Fail, false));
    assert_eq!(subjects(&opened), [("forced:acs/1", State::Pending)]);
    assert_eq!(opened[0].alert.severity, Severity::Critical);
    assert!(book
        .apply(&l, &with_door(29, Status::Fail, false))
        .is_empty());
    assert_eq!(
        subjects(&book.apply(&l, &with_door(30, Status::Fail, false))),
        [("forced:acs/1", State::Firing)],
        "the item's grace still holds"
    );
    let ok = book.apply(&l, &with_door(40, Status::Ok, false));
    assert_eq!(subjects(&ok), [("forced:acs/1", State::Resolved)]);
    assert!(ok[0].transition.cause.en.starts_with("recovered"));
    assert_eq!(book.open().count(), 0);
}

#[test]
fn when_the_window_closes_only_anytime_alerts_stay_open() {
    let (l, mut book) = (letter(), Book::default());
    let opened = book.apply(&l, &with_door(0, Status::Fail, true));
    assert_eq!(
        subjects(&opened),
        [
            ("printer", State::Pending),
            ("forced:acs/1", State::Pending)
        ]
    );
    let closed = book.apply(&l, &with_door(1, Status::Fail, false));
    assert_eq!(subjects(&closed), [("printer", State::Resolved)]);
    assert!(closed[0].transition.cause.en.contains("window"));
    let left: Vec<&str> = book.open().map(|a| a.key.subject.as_str()).collect();
    assert_eq!(left, ["forced:acs/1"]);
}
