//! access.closed: door alarms at any time, controllers' silence and
//! clocks, the hold, no data.

use super::*;

#[test]
fn door_alarms_fail_at_any_time_at_their_own_severity() {
    let before: Timestamp = "2018-06-08T15:00:00Z".parse().unwrap();
    let at = |s: i64| before - SignedDuration::from_secs(s);
    let mut c = acs();
    c.last_contact = Some(at(20));
    let mut s = state(
        vec![c],
        vec![
            ev(K::Forced, Some(1), None, at(300)),
            ev(K::HeldOpen, Some(1), None, at(200)),
            ev(K::Tamper, None, None, at(100)),
            ev(K::PowerLost, None, None, at(90)),
            // An entry outside the window is no finding at all.
            ev(K::Granted, Some(1), Some("4321"), at(80)),
        ],
    );
    s.agents[0].last_seen = Some(at(5));
    let l = letter(CLOSED);
    let e = evaluate(&l, &s, before);
    assert!(!e.enforced);
    let r = &e.items[0];
    let alarms: Vec<(&str, Option<Severity>, bool)> = r
        .findings
        .iter()
        .filter(|f| f.status == Status::Fail)
        .map(|f| (f.subject.as_str(), f.severity, f.anytime))
        .collect();
    assert_eq!(
        alarms,
        vec![
            ("forced:acs/1", Some(Severity::Critical), true),
            ("held_open:acs/1", Some(Severity::Warning), true),
            ("power_lost:acs", Some(Severity::Warning), true),
            ("tamper:acs", Some(Severity::Critical), true),
        ]
    );
    let forced = serde_json::to_value(&r.findings[0]).unwrap();
    assert_eq!(
        (&forced["anytime"], &forced["severity"]),
        (&json!(true), &json!("critical"))
    );
    // The book opens the forced door's alert outside the window, at once.
    let mut book = Book::default();
    let changes = book.apply(&l, &e);
    let forced: Vec<State> = changes
        .iter()
        .filter(|c| c.alert.key.subject == "forced:acs/1")
        .map(|c| c.transition.to)
        .collect();
    assert_eq!(forced, [State::Pending, State::Firing]);
    assert!(l.items[0].immediate("forced:acs/1"));
    assert_eq!(l.group_wait_for("pintu", "forced:acs/1"), Duration::ZERO);
    assert!(!l.items[0].immediate("held_open:acs/1"));
    assert_eq!(
        l.group_wait_for("pintu", "held_open:acs/1"),
        l.notify.group_wait
    );
}

#[test]
fn severities_can_be_set_per_kind() {
    let check = format!("{CLOSED}\n      severities: {{forced: warning, power_lost: info}}");
    let s = state(
        vec![acs()],
        vec![
            ev(K::Forced, Some(1), None, ago(60)),
            ev(K::PowerLost, None, None, ago(50)),
        ],
    );
    let r = eval_at(&check, &s, now());
    assert_eq!(get(&r, "forced:acs/1").severity, Some(Severity::Warning));
    assert_eq!(get(&r, "power_lost:acs").severity, Some(Severity::Info));
}

#[test]
fn a_silent_or_unreachable_controller_fails_in_the_window() {
    let judge = |c: AccessController| {
        let r = eval_at(CLOSED, &state(vec![c], vec![]), now());
        get(&r, "controller:acs").status
    };
    assert_eq!(judge(acs()), Status::Ok);
    let silent = AccessController {
        last_contact: Some(ago(11 * 60)),
        ..acs()
    };
    assert_eq!(judge(silent), Status::Fail, "over the 10 min default");
    let never = AccessController {
        reachable: false,
        last_contact: None,
        error: Some("connection refused".into()),
        ..acs()
    };
    // Never heard from: no data while its agent has been up under the
    // silence limit (or for a time unknown), a failure after.
    let up_for = |secs: Option<i64>, c: AccessController| {
        let mut s = state(vec![c], vec![]);
        s.agents[0].online_since = secs.map(ago);
        get(&eval_at(CLOSED, &s, now()), "controller:acs").status
    };
    assert_eq!(up_for(None, never.clone()), Status::NoData);
    assert_eq!(up_for(Some(60), never.clone()), Status::NoData);
    assert_eq!(up_for(Some(11 * 60), never), Status::Fail);
    let missed_one = AccessController {
        reachable: false,
        last_contact: Some(ago(60)),
        ..acs()
    };
    assert_eq!(judge(missed_one), Status::Ok, "within the silence limit");
    let custom = format!("{CLOSED}\n      silence: 2m");
    let s = state(
        vec![AccessController {
            last_contact: Some(ago(180)),
            ..acs()
        }],
        vec![],
    );
    let f = get(&eval_at(&custom, &s, now()), "controller:acs").clone();
    assert_eq!(
        (f.status, f.severity),
        (Status::Fail, Some(Severity::Warning))
    );
    assert!(!f.anytime, "silence counts in the window only");
}

#[test]
fn a_skewed_clock_is_advised_and_entries_are_judged_on_the_corrected_time() {
    // 01:00 WIB on 11 June, one hour into the closure.
    let t0: Timestamp = "2018-06-10T18:00:00Z".parse().unwrap();
    let mins = |m: i64| t0 - SignedDuration::from_mins(m);
    let with_skew = |skew_s: i64, real: Timestamp| {
        let c = AccessController {
            clock_skew_s: Some(skew_s),
            last_contact: Some(t0),
            ..acs()
        };
        let mut e = ev(K::Granted, Some(1), Some("4321"), real);
        e.event.at.instant = real + SignedDuration::from_secs(skew_s);
        let mut s = state(vec![c], vec![e]);
        s.agents[0].last_seen = Some(t0);
        eval_at(CLOSED, &s, t0)
    };
    // Device an hour behind: it writes 23:20 WIB on 10 June, a weekday
    // evening, for an entry at 00:20 on 11 June, inside the closure.
    let r = with_skew(-3600, mins(40));
    let f = get(&r, "entry:acs/1:4321");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.evidence["device_time"], "2018-06-10T23:20:00+07:00");
    assert_eq!(f.evidence["time"], "2018-06-10T17:20:00Z");
    assert_eq!(f.evidence["clock_skew_s"], -3600);
    let clock = get(&r, "clock:acs");
    assert_eq!(
        (clock.status, clock.advisory),
        (Status::Fail, Some(Severity::Warning))
    );
    assert!(
        clock.message.en.contains("60 min behind"),
        "{}",
        clock.message.en
    );
    // Device an hour ahead: its 00:40 on 11 June is 23:40 on the 10th.
    let r = with_skew(3600, mins(80));
    assert_eq!(not_ok(&r), vec![("clock:acs".into(), Status::Fail)]);
    assert_eq!(
        r.status,
        Status::Ok,
        "the clock advises, it does not decide"
    );
    // The agent's own clock offset is part of it: a device right by the
    // server reads an hour ahead of an agent an hour behind.
    let mut s = state(
        vec![AccessController {
            clock_skew_s: Some(3600),
            ..acs()
        }],
        vec![],
    );
    s.agents[0].clock_offset = Some(SignedDuration::from_secs(-3600));
    assert_eq!(
        get(&eval_at(CLOSED, &s, now()), "clock:acs").status,
        Status::Ok
    );
}

#[test]
fn the_hold_passing_turns_the_finding_ok_and_resolves_the_alert() {
    let l = letter(CLOSED);
    let s = state(
        vec![acs()],
        vec![ev(K::Granted, Some(1), Some("4321"), ago(3000))],
    );
    let mut book = Book::default();
    let e = evaluate(&l, &s, now());
    let opened: Vec<State> = book.apply(&l, &e).iter().map(|c| c.transition.to).collect();
    assert_eq!(
        opened,
        [State::Pending, State::Firing],
        "no grace by default"
    );
    let later = now() + SignedDuration::from_mins(11);
    let mut s = s;
    s.agents[0].last_seen = Some(later);
    let e = evaluate(&l, &s, later);
    let f = &e.items[0].findings[0];
    assert_eq!(
        (f.subject.as_str(), f.status),
        ("entry:acs/1:4321", Status::Ok)
    );
    assert!(
        f.message.en.ends_with("over 60 min ago"),
        "{}",
        f.message.en
    );
    let closed: Vec<_> = book
        .apply(&l, &e)
        .into_iter()
        .filter(|c| c.alert.key.subject == "entry:acs/1:4321")
        .collect();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].transition.to, State::Resolved);
    assert!(closed[0].transition.cause.en.starts_with("recovered"));
}

#[test]
fn with_no_controller_and_no_event_it_is_no_data_never_ok() {
    let r = eval_at(CLOSED, &state(vec![], vec![]), now());
    assert_eq!(r.status, Status::NoData);
    assert_eq!(
        r.findings[0].message.en,
        "no access controller reports for this office"
    );
    let none = OfficeState {
        office: "dinkes".into(),
        ..OfficeState::default()
    };
    assert_eq!(eval_at(CLOSED, &none, now()).status, Status::NoData);
    // A controller of other doors only.
    let c = AccessController {
        doors: vec![Door {
            no: 2,
            door: Some("main-gate".into()),
            state: None,
        }],
        ..acs()
    };
    let r = eval_at(CLOSED, &state(vec![c], vec![]), now());
    assert_eq!(not_ok(&r), vec![("office".into(), Status::NoData)]);
}

#[test]
fn events_are_judged_while_their_agent_is_down_and_not_before_they_arrive() {
    let mut s = state(vec![acs()], vec![ev(K::Forced, Some(1), None, ago(60))]);
    s.agents[0].online = false;
    let r = eval_at(CLOSED, &s, now());
    assert_eq!(r.status, Status::Fail);
    assert_eq!(
        not_ok(&r),
        vec![
            ("forced:acs/1".into(), Status::Fail),
            ("agent:gw".into(), Status::NoData),
        ]
    );
    // Evaluated before the event reached the server: not known yet.
    let r = eval_at(CLOSED, &s, ago(100));
    assert!(r.findings.iter().all(|f| f.subject != "forced:acs/1"));
}
