//! access.closed: entries during the window, the roster, the doors
//! filter. Shared helpers are here; alarms, controllers and the hold are in
//! `alarms`.

mod alarms;

use jiff::tz::Offset;
use ronda_wire::{AccessController, DeviceTime, Door, DoorEvent, DoorEventKind as K};

use serde_json::json;

use super::*;
use crate::alert::{Book, State};

/// Back gate closed to all but user 7001 and whoever is on the piket
/// roster. dinkes's shift holds user 9001 from 09:30 to 20:00 WIB on
/// 12 June (02:30 to 13:00 UTC; now is 03:00 UTC); bappeda's holds 1234.
const CLOSED: &str =
    "      kind: access.closed\n      doors: [back-gate]\n      allow: [roster, '7001']";

fn letter(check: &str) -> Letter {
    let text = format!(
        "letter: {{id: l, number: '1', title: t, issuer: i, issued: 2018-06-08}}
timezone: Asia/Jakarta
window:
  - start: 2018-06-11 00:00
    end: 2018-06-21 07:30
offices: all
checklist:
  - id: pintu
    text: {{id: x, en: x}}
    check:
{check}
    severity: critical
notify:
  piket:
    dinkes:
      - from: 2018-06-12 09:30
        to: 2018-06-12 20:00
        name: Pamdal A
        email: a@example.go.id
        ids: ['9001']
    bappeda:
      - from: 2018-06-12 00:00
        to: 2018-06-13 00:00
        name: Pamdal B
        email: b@example.go.id
        ids: ['1234']
"
    );
    crate::from_text(Path::new("t.yaml"), text, None).unwrap()
}

/// A Hikvision controller: door 1 the back gate, 2 the main gate, 3 unnamed.
fn acs() -> AccessController {
    let door = |no, place: Option<&str>| Door {
        no,
        door: place.map(Into::into),
        state: None,
    };
    AccessController {
        id: "acs".into(),
        kind: "hikvision-access".into(),
        reachable: true,
        last_contact: Some(ago(20)),
        clock_skew_s: Some(0),
        doors: vec![
            door(1, Some("back-gate")),
            door(2, Some("main-gate")),
            door(3, None),
        ],
        ..AccessController::default()
    }
}

fn state(controllers: Vec<AccessController>, events: Vec<DoorSeen>) -> OfficeState {
    let mut r = report();
    r.access = controllers;
    OfficeState {
        door_events: events,
        ..office(r)
    }
}

/// An event at `at` on the device's clock (WIB), received 3 s later.
fn ev(kind: K, door_no: Option<u32>, who: Option<&str>, at: Timestamp) -> DoorSeen {
    let place = match door_no {
        Some(1) => Some("back-gate"),
        Some(2) => Some("main-gate"),
        _ => None,
    };
    DoorSeen {
        agent: "gw".into(),
        event: DoorEvent {
            device: "acs".into(),
            door_no,
            door: place.map(Into::into),
            kind,
            who: who.map(Into::into),
            at: DeviceTime::new(at, Offset::constant(7)),
            number: Some(1185),
            code: "5/75".into(),
        },
        received: at + SignedDuration::from_secs(3),
    }
}

fn eval_at(check: &str, s: &OfficeState, at: Timestamp) -> ItemResult {
    let mut e = evaluate(&letter(check), s, at);
    e.items.remove(0)
}

/// `(subject, status)` of the findings that are not `ok`.
fn not_ok(r: &ItemResult) -> Vec<(String, Status)> {
    r.findings
        .iter()
        .filter(|f| f.status != Status::Ok)
        .map(|f| (f.subject.clone(), f.status))
        .collect()
}

fn get<'a>(r: &'a ItemResult, subject: &str) -> &'a Finding {
    r.findings
        .iter()
        .find(|f| f.subject == subject)
        .unwrap_or_else(|| panic!("no {subject} in {:#?}", r.findings))
}

#[test]
fn a_guard_on_shift_and_the_allowlist_pass_without_a_finding() {
    let s = state(
        vec![acs()],
        vec![
            ev(K::Granted, Some(1), Some("9001"), ago(600)),
            ev(K::Open, Some(1), None, ago(597)),
            ev(K::Granted, Some(1), Some("7001"), ago(300)),
        ],
    );
    let r = eval_at(CLOSED, &s, now());
    assert_eq!(not_ok(&r), vec![]);
    assert_eq!(r.status, Status::Ok);
    let subjects: Vec<&str> = r.findings.iter().map(|f| f.subject.as_str()).collect();
    assert_eq!(subjects, ["controller:acs", "clock:acs"]);
}

#[test]
fn someone_else_is_one_failing_finding_naming_the_user_and_the_door() {
    let s = state(
        vec![acs()],
        vec![
            ev(K::Granted, Some(1), Some("4321"), ago(600)),
            // The door sensor of the same passage.
            ev(K::Open, Some(1), None, ago(590)),
        ],
    );
    let r = eval_at(CLOSED, &s, now());
    assert_eq!(not_ok(&r), vec![("entry:acs/1:4321".into(), Status::Fail)]);
    assert_eq!(r.status, Status::Fail);
    let f = get(&r, "entry:acs/1:4321");
    assert!(!f.anytime, "entries count in the window only");
    assert_eq!(f.severity, None, "the item's severity");
    assert_eq!(f.agent.as_deref(), Some("gw"));
    assert!(
        f.message.en.contains("back gate passed by user 4321"),
        "{}",
        f.message.en
    );
    assert!(
        f.message
            .id
            .contains("gerbang belakang dilewati pengguna 4321"),
        "{}",
        f.message.id
    );
    let e = &f.evidence;
    assert_eq!(e["device"], "acs");
    assert_eq!(e["door_no"], 1);
    assert_eq!(e["door"], "back-gate");
    assert_eq!(e["kind"], "granted");
    assert_eq!(e["who"], "4321");
    assert_eq!(e["device_time"], "2018-06-12T09:50:00+07:00");
    assert_eq!(e["time"], "2018-06-12T02:50:00Z");
    assert_eq!(e["number"], 1185);
    assert_eq!(e["count"], 1);
    let shown = serde_json::to_value(f).unwrap();
    assert!(shown.get("anytime").is_none() && shown.get("severity").is_none());
}

#[test]
fn an_open_nobody_identified_is_an_unknown_entry_unless_it_follows_a_grant() {
    let s = state(
        vec![acs()],
        vec![
            ev(K::Granted, Some(1), Some("9001"), ago(900)),
            // 40 s after the guard's grant: past `passage` (30 s).
            ev(K::Open, Some(1), None, ago(860)),
            ev(K::Open, Some(1), None, ago(100)),
        ],
    );
    let r = eval_at(CLOSED, &s, now());
    assert_eq!(
        not_ok(&r),
        vec![("entry:acs/1:unknown".into(), Status::Fail)]
    );
    assert_eq!(get(&r, "entry:acs/1:unknown").evidence["count"], 2);
    // Within the passage the sensor is the guard passing.
    let s = state(
        vec![acs()],
        vec![
            ev(K::Granted, Some(1), Some("9001"), ago(900)),
            ev(K::Open, Some(1), None, ago(880)),
        ],
    );
    assert_eq!(not_ok(&eval_at(CLOSED, &s, now())), vec![]);
    // A remote opening without a user is an unknown entry too.
    let s = state(vec![acs()], vec![ev(K::RemoteOpen, Some(1), None, ago(60))]);
    assert_eq!(
        not_ok(&eval_at(CLOSED, &s, now())),
        vec![("entry:acs/1:unknown".into(), Status::Fail)]
    );
}

#[test]
fn a_roster_id_passes_only_during_its_own_shift_at_its_own_office() {
    // 9001's shift starts 02:30 UTC; 1234 is on duty at bappeda only.
    let s = state(
        vec![acs()],
        vec![
            ev(K::Granted, Some(1), Some("9001"), ago(2700)),
            ev(K::Granted, Some(1), Some("9001"), ago(900)),
            ev(K::Granted, Some(1), Some("1234"), ago(600)),
        ],
    );
    let r = eval_at(CLOSED, &s, now());
    assert_eq!(
        not_ok(&r),
        vec![
            ("entry:acs/1:1234".into(), Status::Fail),
            ("entry:acs/1:9001".into(), Status::Fail),
        ]
    );
    let f = get(&r, "entry:acs/1:9001");
    assert_eq!(f.evidence["count"], 1, "the entry in the shift is allowed");
    assert_eq!(f.evidence["time"], "2018-06-12T02:15:00Z");
    // The shift ends at 13:00 UTC: ten minutes later 9001 is not on duty.
    let end: Timestamp = "2018-06-12T13:00:00Z".parse().unwrap();
    let at = |m| end + SignedDuration::from_mins(m);
    let mut s = state(
        vec![acs()],
        vec![
            ev(K::Granted, Some(1), Some("9001"), at(-1)),
            ev(K::Granted, Some(1), Some("9001"), at(10)),
        ],
    );
    s.agents[0].last_seen = Some(at(20));
    let f = get(&eval_at(CLOSED, &s, at(20)), "entry:acs/1:9001").clone();
    assert_eq!((f.status, &f.evidence["count"]), (Status::Fail, &json!(1)));
    assert_eq!(f.evidence["time"], "2018-06-12T13:10:00Z");
}

#[test]
fn the_doors_filter_leaves_other_and_unnamed_doors_alone_unless_all() {
    let events = vec![
        ev(K::Granted, Some(2), Some("4321"), ago(600)),
        ev(K::Forced, Some(2), None, ago(500)),
        ev(K::Granted, Some(3), Some("4321"), ago(400)),
    ];
    let s = state(vec![acs()], events);
    assert_eq!(not_ok(&eval_at(CLOSED, &s, now())), vec![]);
    let all = "      kind: access.closed\n      doors: all";
    assert_eq!(
        not_ok(&eval_at(all, &s, now())),
        vec![
            ("entry:acs/2:4321".into(), Status::Fail),
            ("entry:acs/3:4321".into(), Status::Fail),
            ("forced:acs/2".into(), Status::Fail),
        ]
    );
    // The place comes from the report when the event does not name it.
    let mut unnamed = ev(K::Granted, Some(1), Some("4321"), ago(60));
    unnamed.event.door = None;
    let s = state(vec![acs()], vec![unnamed]);
    assert_eq!(
        not_ok(&eval_at(CLOSED, &s, now())),
        vec![("entry:acs/1:4321".into(), Status::Fail)]
    );
}

/// The letter's report lists every entry through a listed door in the
/// window, each marked: the guard on shift allowed, another user not, a
/// door opened by nobody identified; other doors and times are left out.
#[test]
fn the_report_marks_each_entry_of_the_window() {
    let l = letter(CLOSED);
    let t = |s: &str| -> Timestamp { s.parse().unwrap() };
    let events = vec![
        ev(K::Granted, Some(1), Some("5555"), t("2018-06-12T04:00:00Z")),
        ev(K::Granted, Some(1), Some("9001"), t("2018-06-12T03:00:00Z")),
        // The door opening as 9001 passes: the same passage.
        ev(K::Open, Some(1), None, t("2018-06-12T03:00:05Z")),
        ev(K::Open, Some(1), None, t("2018-06-12T05:00:00Z")),
        ev(K::Forced, Some(1), None, t("2018-06-12T05:30:00Z")),
        ev(K::Granted, Some(2), Some("5555"), t("2018-06-12T04:00:00Z")),
        ev(K::Granted, Some(1), Some("5555"), t("2018-06-30T04:00:00Z")),
    ];
    let found: Vec<_> = crate::eval::access::entries(&l, "dinkes", &events)
        .into_iter()
        .map(|e| (e.seen.event.who.clone(), e.verdict))
        .collect();
    use crate::eval::access::Verdict::*;
    assert_eq!(
        found,
        [
            (Some("9001".into()), Allowed),
            (Some("5555".into()), NotAllowed),
            (None, Unidentified),
        ]
    );
    // The roster is per office: 9001 is nobody at bappeda.
    let at_bappeda = crate::eval::access::entries(&l, "bappeda", &events[1..3]);
    assert_eq!(at_bappeda.len(), 1, "the passage's open is not an entry");
    assert_eq!(at_bappeda[0].verdict, NotAllowed);
}
