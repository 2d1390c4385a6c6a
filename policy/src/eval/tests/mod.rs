//! Table-driven tests for every check kind, on a clock the test holds.
//! Shared helpers and the CCTV, agent and attestation checks are here.

use std::path::Path;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use ronda_wire::{Channel, Recorder, RecorderDisk, Report};

use super::*;

mod hosts;
mod power;
use power::{plug, plugs};

fn now() -> Timestamp {
    "2018-06-12T03:00:00Z".parse().unwrap()
}

fn ago(s: i64) -> Timestamp {
    now() - SignedDuration::from_secs(s)
}

/// A letter in force now with one item whose `check:` block is `check`.
fn letter(check: &str) -> Letter {
    let text = format!(
        "letter: {{id: l, number: '1', title: t, issuer: i, issued: 2018-06-08}}\ntimezone: Asia/Jakarta\nwindow:\n  - start: 2018-06-11 00:00\n    end: 2018-06-21 07:30\noffices: all\nchecklist:\n  - id: x\n    text: {{id: x, en: x}}\n    check:\n{check}\n    severity: critical\n"
    );
    crate::from_text(Path::new("t.yaml"), text, None).unwrap()
}

fn report() -> Report {
    Report {
        schema: 1,
        office: ronda_wire::Id::new("dinkes").unwrap(),
        agent: ronda_wire::Id::new("gw").unwrap(),
        seq: 1,
        observed_at: ago(5),
        host: None,
        recorders: vec![],
        plugs: vec![],
        services: vec![],
        delivery: None,
    }
}

fn office(r: Report) -> OfficeState {
    let mut a = AgentView::new("gw");
    a.online = true;
    a.last_seen = Some(ago(5));
    a.report = Some(Arc::new(r));
    OfficeState {
        office: "dinkes".into(),
        agents: vec![a],
        ..OfficeState::default()
    }
}

/// `(subject, status)` of the one item's findings.
fn run(check: &str, r: Report) -> Vec<(String, Status)> {
    let e = evaluate(&letter(check), &office(r), now());
    e.items[0]
        .findings
        .iter()
        .map(|f| (f.subject.clone(), f.status))
        .collect()
}

fn one(check: &str, r: Report) -> Status {
    let f = run(check, r);
    assert_eq!(f.len(), 1, "{f:?}");
    f[0].1
}

fn recorder(channels: Vec<Channel>) -> Recorder {
    Recorder {
        id: "nvr".into(),
        kind: "hikvision".into(),
        reachable: true,
        channels,
        ..Recorder::default()
    }
}

fn channel(zone: &str, online: bool, segment_end: Option<Timestamp>) -> Channel {
    Channel {
        id: "1".into(),
        zone: zone.into(),
        online: Some(online),
        last_segment_end: segment_end,
        ..Channel::default()
    }
}

const RECORDING: &str =
    "      kind: cctv.recording\n      zones: [front-road]\n      max_segment_age: 10m";

#[test]
fn cctv_recording() {
    let with = |rec: Recorder| Report {
        recorders: vec![rec],
        ..report()
    };
    let cases = [
        (
            "fresh segment",
            with(recorder(vec![channel("front-road", true, Some(ago(30)))])),
            Status::Ok,
        ),
        (
            "stale segment",
            with(recorder(vec![channel("front-road", true, Some(ago(601)))])),
            Status::Fail,
        ),
        (
            "camera offline",
            with(recorder(vec![channel("front-road", false, Some(ago(30)))])),
            Status::Fail,
        ),
        (
            "other zone only",
            with(recorder(vec![channel("interior", true, Some(ago(30)))])),
            Status::Fail,
        ),
        (
            "no segment info",
            with(recorder(vec![channel("front-road", true, None)])),
            Status::Fail,
        ),
        (
            "recorder unreachable",
            with(Recorder {
                reachable: false,
                ..recorder(vec![channel("front-road", true, Some(ago(30)))])
            }),
            Status::Fail,
        ),
    ];
    for (what, r, want) in cases {
        assert_eq!(
            run(RECORDING, r),
            vec![("zone:front-road".into(), want)],
            "{what}"
        );
    }
}

#[test]
fn cctv_recording_ages_a_measured_segment_by_the_reports_age() {
    // 590 s old when observed, observed 5 s ago: 595 s, inside 10m; then 15 s later, outside.
    let ch = Channel {
        segment_age_s: Some(590),
        ..channel("front-road", true, None)
    };
    let r = Report {
        recorders: vec![recorder(vec![ch])],
        ..report()
    };
    assert_eq!(one(RECORDING, r.clone()), Status::Ok);
    let later = evaluate(
        &letter(RECORDING),
        &office(r),
        now() + SignedDuration::from_secs(15),
    );
    assert_eq!(later.items[0].status, Status::Fail);
}

#[test]
fn cctv_storage() {
    let disk = |status: &str, healthy: bool, free: u64| RecorderDisk {
        id: "1".into(),
        status: status.into(),
        healthy,
        capacity_bytes: Some(1 << 40),
        free_bytes: Some(free),
    };
    let rec = |d: RecorderDisk, overwrite: Option<bool>| Report {
        recorders: vec![Recorder {
            disks: vec![d],
            overwrite,
            ..recorder(vec![])
        }],
        ..report()
    };
    let check = "      kind: cctv.storage";
    assert_eq!(one(check, rec(disk("ok", true, 1 << 30), None)), Status::Ok);
    assert_eq!(
        one(check, rec(disk("error", false, 1 << 30), None)),
        Status::Fail
    );
    assert_eq!(
        one(check, rec(disk("full", false, 0), Some(true))),
        Status::Ok,
        "full + overwrite"
    );
    assert_eq!(
        one(check, rec(disk("ok", true, 0), Some(false))),
        Status::Fail,
        "full, no overwrite"
    );
    let down = Report {
        recorders: vec![Recorder {
            reachable: false,
            ..recorder(vec![])
        }],
        ..report()
    };
    assert_eq!(run(check, down), vec![("nvr".into(), Status::Fail)]);
}

const ONLINE: &str = "      kind: agent.online\n      interval: 30s\n      missed: 3";

#[test]
fn agent_online() {
    let status = |state: &OfficeState| {
        let e = evaluate(&letter(ONLINE), state, now());
        e.items[0]
            .findings
            .iter()
            .map(|f| (f.subject.clone(), f.status))
            .collect::<Vec<_>>()
    };
    let mut s = office(report());
    assert_eq!(status(&s), vec![("gw".into(), Status::Ok)]);
    s.agents[0].last_seen = Some(ago(91));
    assert_eq!(
        status(&s),
        vec![("gw".into(), Status::Fail)],
        "silent for more than 3 x 30s"
    );
    s.agents[0].last_seen = Some(ago(5));
    s.agents[0].online = false;
    assert_eq!(
        status(&s),
        vec![("gw".into(), Status::Fail)],
        "the Last Will"
    );
    let mut fresh = AgentView::new("gw");
    fresh.online = true;
    fresh.online_since = Some(ago(10));
    s.agents = vec![fresh];
    assert_eq!(
        status(&s),
        vec![("gw".into(), Status::Ok)],
        "just connected, first report due"
    );
    s.agents.clear();
    assert_eq!(status(&s), vec![("office".into(), Status::Fail)]);
}

#[test]
fn attestation() {
    let check = "      kind: attestation";
    let mut s = office(report());
    assert_eq!(
        evaluate(&letter(check), &s, now()).items[0].status,
        Status::Pending
    );
    s.attestations.insert(
        ("l".into(), "x".into()),
        Attestation {
            by: "kepala".into(),
            at: ago(60),
        },
    );
    assert_eq!(
        evaluate(&letter(check), &s, now()).items[0].status,
        Status::Ok
    );
}

#[test]
fn an_offline_agent_inhibits_every_item_that_needs_its_data() {
    // Built in, as the demo does: one full-workspace run failed to open
    // this path (NotFound) although it never moved.
    let text = include_str!("../../../../policies/kotim-idul-fitri-2018.yaml");
    let kotim = crate::from_text(Path::new("k.yaml"), text.into(), None).unwrap();
    let printer_on = plugs(vec![plug("printer", "printer", Some(true))]);
    let mut s = office(printer_on);
    s.agents[0].online = false;
    let e = evaluate(&kotim, &s, now());
    assert_eq!(e.down, vec!["gw".to_owned()]);
    for item in &e.items {
        let fails = item
            .findings
            .iter()
            .filter(|f| f.status == Status::Fail)
            .count();
        match item.kind {
            "agent.online" => assert_eq!(fails, 1),
            "attestation" => assert_eq!(item.status, Status::Pending),
            _ => assert_eq!((item.status, fails), (Status::NoData, 0), "{}", item.item),
        }
    }
}

#[test]
fn outside_the_window_the_checklist_is_computed_but_not_enforced() {
    let r = plugs(vec![plug("printer", "printer", Some(true))]);
    let before = "2018-06-01T00:00:00Z".parse().unwrap();
    let mut state = office(r);
    state.agents[0].last_seen = Some(before);
    let e = evaluate(&letter("      kind: power.off"), &state, before);
    assert!(!e.enforced);
    assert_eq!(e.items[0].status, Status::Fail);
}
