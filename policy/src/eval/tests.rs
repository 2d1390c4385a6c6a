//! Table-driven tests for every check kind, on a clock the test holds.

use std::path::Path;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use ronda_wire::{
    Channel, Disk, Host, Memory, Plug, PowerOn, Recorder, RecorderDisk, Report, Service,
};

use super::*;

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

fn plug(id: &str, class: &str, on: Option<bool>) -> Plug {
    Plug {
        id: id.into(),
        kind: "tasmota".into(),
        class: class.into(),
        reachable: on.is_some(),
        relay_on: on,
        ..Plug::default()
    }
}

fn plugs(p: Vec<Plug>) -> Report {
    Report {
        plugs: p,
        ..report()
    }
}

#[test]
fn power_off() {
    let check = "      kind: power.off";
    let got = run(
        check,
        plugs(vec![
            plug("printer", "printer", Some(true)),
            plug("pc", "pc", Some(false)),
            plug("rack", "server", Some(true)),
            plug("ac", "air-conditioner", None),
        ]),
    );
    assert_eq!(
        got,
        vec![
            ("printer".into(), Status::Fail),
            ("pc".into(), Status::Ok),
            ("ac".into(), Status::NoData)
        ],
        "the server rack is an exception; an unanswering plug is not judged"
    );
    let comes_back = Plug {
        power_on: Some(PowerOn::On),
        ..plug("pc", "pc", Some(false))
    };
    let stays_off = Plug {
        power_on: Some(PowerOn::Previous),
        ..plug("tv", "tv", Some(false))
    };
    assert_eq!(
        run(check, plugs(vec![comes_back, stays_off])),
        vec![
            ("pc".into(), Status::Ok),
            ("pc:power-on".into(), Status::Fail),
            ("tv".into(), Status::Ok)
        ]
    );
}

#[test]
fn power_on() {
    let check = "      kind: power.on";
    let got = run(
        check,
        plugs(vec![
            plug("rack", "server", Some(true)),
            plug("sw", "network", Some(false)),
            plug("tv", "cctv-monitor", None),
            plug("pc", "pc", Some(false)),
        ]),
    );
    assert_eq!(
        got,
        vec![
            ("rack".into(), Status::Ok),
            ("sw".into(), Status::Fail),
            ("tv".into(), Status::Fail)
        ]
    );
}

#[test]
fn power_safe() {
    let check = "      kind: power.safe\n      max_power_w: 1000\n      max_current_a: 5\n      max_temperature_c: 60";
    let base = plug("rack", "server", Some(true));
    let cases = [
        (
            "within limits",
            Plug {
                power_w: Some(200.0),
                current_a: Some(1.0),
                temperature_c: Some(40.0),
                ..base.clone()
            },
            Status::Ok,
        ),
        (
            "watts",
            Plug {
                power_w: Some(1200.0),
                ..base.clone()
            },
            Status::Fail,
        ),
        (
            "amps",
            Plug {
                current_a: Some(5.5),
                ..base.clone()
            },
            Status::Fail,
        ),
        (
            "heat",
            Plug {
                temperature_c: Some(61.0),
                ..base.clone()
            },
            Status::Fail,
        ),
        (
            "fault",
            Plug {
                faults: vec!["overpower".into()],
                ..base.clone()
            },
            Status::Fail,
        ),
    ];
    for (what, p, want) in cases {
        assert_eq!(one(check, plugs(vec![p])), want, "{what}");
    }
}

#[test]
fn service_up() {
    let check = "      kind: service.up\n      max_latency: 2s\n      min_tls_days: 14";
    let good = Service {
        id: "sipd".into(),
        url: "https://x".into(),
        reachable: true,
        status: Some(200),
        status_ok: Some(true),
        latency_ms: Some(300),
        body_matched: Some(true),
        tls_days_left: Some(60),
        ..Service::default()
    };
    let cases = [
        ("good", good.clone(), Status::Ok),
        (
            "down",
            Service {
                reachable: false,
                error: Some("refused".into()),
                ..good.clone()
            },
            Status::Fail,
        ),
        (
            "503",
            Service {
                status: Some(503),
                status_ok: Some(false),
                ..good.clone()
            },
            Status::Fail,
        ),
        (
            "text",
            Service {
                body_matched: Some(false),
                ..good.clone()
            },
            Status::Fail,
        ),
        (
            "slow",
            Service {
                latency_ms: Some(2001),
                ..good.clone()
            },
            Status::Fail,
        ),
        (
            "certificate",
            Service {
                tls_days_left: Some(13),
                ..good.clone()
            },
            Status::Fail,
        ),
    ];
    for (what, s, want) in cases {
        assert_eq!(
            one(
                check,
                Report {
                    services: vec![s],
                    ..report()
                }
            ),
            want,
            "{what}"
        );
    }
    let only = "      kind: service.up\n      services: [sipd]";
    let other = Service {
        id: "web".into(),
        reachable: false,
        ..good.clone()
    };
    assert_eq!(
        run(
            only,
            Report {
                services: vec![good, other],
                ..report()
            }
        ),
        vec![("sipd".into(), Status::Ok)]
    );
}

fn host(disk_avail: u64, mem_avail: u64) -> Host {
    Host {
        hostname: "srv".into(),
        uptime_s: 86_400,
        boot_time: ago(86_400),
        memory: Memory {
            total_bytes: 100,
            available_bytes: mem_avail,
            ..Memory::default()
        },
        disks: vec![Disk {
            mount: "/".into(),
            fs: "ext4".into(),
            total_bytes: 100,
            available_bytes: disk_avail,
        }],
        ..Host::default()
    }
}

#[test]
fn host_up() {
    let check = "      kind: host.up\n      max_disk_percent: 90\n      max_memory_percent: 95";
    let with = |h: Host| Report {
        host: Some(h),
        ..report()
    };
    assert_eq!(one(check, with(host(50, 50))), Status::Ok);
    assert_eq!(one(check, with(host(5, 50))), Status::Fail, "disk 95% full");
    assert_eq!(
        one(check, with(host(50, 4))),
        Status::Fail,
        "memory 96% used"
    );
    let mut state = office(with(host(50, 50)));
    state.agents[0].reboots.push(ago(600));
    let e = evaluate(&letter(check), &state, now());
    assert_eq!(
        e.items[0].status,
        Status::Fail,
        "a reboot seen in the window"
    );
    assert!(
        e.items[0].findings[0]
            .message
            .contains("rebooted at 2018-06-12 09:50 WIB"),
        "{:?}",
        e.items[0].findings
    );
    state.agents[0].reboots = vec!["2018-06-10T00:00:00Z".parse().unwrap()];
    assert_eq!(
        evaluate(&letter(check), &state, now()).items[0].status,
        Status::Ok,
        "before the window"
    );
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
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../policies/kotim-idul-fitri-2018.yaml"
    ))
    .unwrap();
    let kotim = crate::from_text(Path::new("k.yaml"), text, None).unwrap();
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
