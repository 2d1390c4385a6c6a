//! Tests of a reload in the engine: alerts whose letter, item or office is
//! gone are closed with the reason, on the record; the rest carry on.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use ronda_policy::alert::State;
use ronda_policy::{Letter, Registry};

use crate::engine::{AttestError, Engine, Views};
use crate::store::Seed;

/// A letter `id` for every office, one `service.up` item per id in `items`
/// (each fails at once), and an attestation item.
pub fn letter(id: &str, items: &[&str]) -> Letter {
    let mut yaml = format!(
        "letter:\n  id: {id}\n  number: \"1\"\n  title: T {id}\n  issuer: Bupati\n  issued: 2024-01-01\n\
         timezone: Asia/Jakarta\nwindow: always\noffices: all\nchecklist:\n"
    );
    for item in items {
        yaml.push_str(&format!(
            "  - id: {item}\n    text: {{id: Layanan, en: Service}}\n    check: {{kind: service.up}}\n    severity: critical\n"
        ));
    }
    yaml.push_str(
        "  - id: kunci\n    text: {id: Terkunci, en: Locked}\n    check: {kind: attestation}\n    severity: warning\n",
    );
    ronda_policy::from_text(std::path::Path::new("t.yaml"), yaml, None).unwrap()
}

pub fn registry(offices: &[&str]) -> Registry {
    let mut yaml = "region: {name: Kab, timezone: Asia/Jakarta}\noffices:\n".to_owned();
    for o in offices {
        yaml.push_str(&format!("  - {{id: {o}, name: Kantor {o}}}\n"));
    }
    Registry::from_text(std::path::Path::new("offices.yaml"), yaml).unwrap()
}

/// A report from `office` whose one service is down.
pub fn report(office: &str, seq: u64, at: Timestamp) -> ronda_wire::Report {
    ronda_wire::Report {
        schema: ronda_wire::SCHEMA_VERSION,
        office: ronda_wire::Id::new(office).unwrap(),
        agent: ronda_wire::Id::new("gw").unwrap(),
        seq,
        observed_at: at,
        host: None,
        recorders: vec![],
        plugs: vec![],
        services: vec![ronda_wire::Service {
            id: "sipd".into(),
            url: "http://10.0.0.9/".into(),
            reachable: false,
            error: Some("connection refused".into()),
            status: None,
            status_ok: None,
            latency_ms: None,
            body_matched: None,
            tls_days_left: None,
        }],
        access: vec![],
        delivery: None,
    }
}

fn seed() -> Seed {
    Seed {
        open_alerts: vec![],
        last_alert_id: 0,
        agents: vec![],
        attestations: Default::default(),
        door_events: vec![],
        view_pins: vec![],
    }
}

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).unwrap()
}

/// Open alerts as (letter, item, office).
fn open(e: &Engine) -> Vec<(String, String, String)> {
    e.book
        .open()
        .map(|a| {
            (
                a.key.letter.clone(),
                a.key.item.clone(),
                a.key.office.clone(),
            )
        })
        .collect()
}

fn key(l: &str, i: &str, o: &str) -> (String, String, String) {
    (l.into(), i.into(), o.into())
}

#[test]
fn a_withdrawn_letter_or_item_closes_its_alerts_with_the_reason() {
    let views = Views::default();
    let letters = vec![letter("a", &["web", "mail"]), letter("b", &["web"])];
    let mut e = Engine::new(Arc::new(letters), None, seed(), views.clone());
    e.report(report("dinkes", 1, t(0)), t(0), t(0));
    assert_eq!(open(&e).len(), 3, "{:?}", open(&e));
    assert!(views.get("b", "dinkes").is_some());

    // `b` is withdrawn, and `a` loses its item `mail`.
    let (fx, withdrawn) = e.replace(Arc::new(vec![letter("a", &["web"])]), None, t(10));

    assert_eq!(withdrawn, 2);
    assert_eq!(open(&e), [key("a", "web", "dinkes")]);
    let closed: Vec<(String, String, State, String)> = fx
        .changes
        .iter()
        .map(|c| {
            let k = &c.alert.key;
            (
                k.letter.clone(),
                k.item.clone(),
                c.alert.state,
                c.transition.cause.en.clone(),
            )
        })
        .collect();
    assert!(closed.contains(&(
        "a".into(),
        "mail".into(),
        State::Resolved,
        "item removed from the letter".into()
    )));
    assert!(closed.contains(&(
        "b".into(),
        "web".into(),
        State::Resolved,
        "letter withdrawn from the server".into()
    )));
    assert!(fx.changes.iter().all(|c| c.transition.at == t(10)));
    // The pages no longer show the withdrawn letter; the engine judges on.
    assert!(views.get("b", "dinkes").is_none());
    assert!(views.get("a", "dinkes").is_some());
    let more = e.report(report("dinkes", 2, t(20)), t(20), t(20));
    assert!(more.changes.is_empty(), "{:?}", more.changes);
}

#[test]
fn a_new_letter_is_judged_at_once() {
    let views = Views::default();
    let mut e = Engine::new(Arc::new(vec![]), None, seed(), views.clone());
    e.report(report("dinkes", 1, t(0)), t(0), t(0));
    assert!(open(&e).is_empty());

    let (fx, withdrawn) = e.replace(Arc::new(vec![letter("new", &["web"])]), None, t(5));

    assert_eq!(withdrawn, 0);
    assert_eq!(open(&e), [key("new", "web", "dinkes")]);
    assert!(fx
        .changes
        .iter()
        .any(|c| c.alert.state == State::Firing && c.alert.key.letter == "new"));
    assert!(views.get("new", "dinkes").is_some());
}

#[test]
fn an_office_taken_out_of_the_registry_is_no_longer_judged() {
    let views = Views::default();
    let both = Arc::new(registry(&["dinkes", "bappeda"]));
    let letters = Arc::new(vec![letter("a", &["web"])]);
    let mut e = Engine::new(letters.clone(), Some(both), seed(), views.clone());
    e.report(report("dinkes", 1, t(0)), t(0), t(0));
    e.report(report("bappeda", 1, t(0)), t(0), t(0));
    assert_eq!(open(&e).len(), 2);

    let (fx, withdrawn) = e.replace(letters, Some(Arc::new(registry(&["dinkes"]))), t(10));

    assert_eq!(withdrawn, 1);
    assert_eq!(open(&e), [key("a", "web", "dinkes")]);
    let gone = fx
        .changes
        .iter()
        .find(|c| c.alert.key.office == "bappeda")
        .unwrap();
    assert_eq!(
        gone.transition.cause.en,
        "office removed from the office registry"
    );
    assert!(views.get("a", "bappeda").is_none());
    // Its reports no longer open anything, nor may its head attest.
    let more = e.report(report("bappeda", 2, t(20)), t(20), t(20));
    assert!(more.changes.is_empty());
    let refused = e
        .attest("a", "bappeda", "kunci", "kepala", t(30))
        .unwrap_err();
    assert_eq!(refused, AttestError::Office("bappeda".into()));
}

#[test]
fn after_a_restart_alerts_of_a_letter_removed_meanwhile_are_closed() {
    // A first run opens an alert under letter `old`...
    let views = Views::default();
    let mut first = Engine::new(Arc::new(vec![letter("old", &["web"])]), None, seed(), views);
    first.report(report("dinkes", 1, t(0)), t(0), t(0));
    let stored: Vec<_> = first.book.open().cloned().collect();
    assert_eq!(stored.len(), 1);

    // ...and the server starts again without the letter's file.
    let resumed = Seed {
        open_alerts: stored,
        last_alert_id: 1,
        ..seed()
    };
    let mut e = Engine::new(Arc::new(vec![]), None, resumed, Views::default());
    let fx = e.tick(t(60) + SignedDuration::from_secs(1));

    assert!(open(&e).is_empty());
    assert_eq!(fx.changes.len(), 1);
    assert_eq!(
        fx.changes[0].transition.cause.en,
        "letter withdrawn from the server"
    );
    // Only once: later evaluations find nothing more to close.
    assert!(e.tick(t(120)).changes.is_empty());
}
