//! service.up and host.up.

use ronda_wire::{Disk, Host, Memory, Service};

use super::*;

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
            .en
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

/// Issue 17, defect 8: the server measures each agent's clock and says so
/// when it is off, as a warning; nothing else changes.
#[test]
fn an_agent_clock_off_by_more_than_the_limit_is_a_warning() {
    let online = "      kind: agent.online\n      max_clock_offset: 5m";
    let at = |offset_s: Option<i64>| {
        let mut s = office(report());
        s.agents[0].clock_offset = offset_s.map(SignedDuration::from_secs);
        let e = evaluate(&letter(online), &s, now());
        let clock: Vec<_> = e.items[0]
            .findings
            .iter()
            .filter(|f| f.subject == "clock:gw")
            .map(|f| (f.status, f.advisory, f.message.en.clone()))
            .collect();
        (e.items[0].status, clock)
    };
    let (item, clock) = at(Some(-7 * 3600));
    assert_eq!(item, Status::Ok, "the item is the agent reporting");
    assert_eq!(
        (clock[0].0, clock[0].1),
        (Status::Fail, Some(Severity::Warning))
    );
    assert!(clock[0].2.contains("7 h behind"), "{}", clock[0].2);
    let (_, clock) = at(Some(2 * 3600));
    assert!(clock[0].2.contains("2 h ahead"), "{}", clock[0].2);
    let (_, clock) = at(Some(40));
    assert_eq!(clock[0].0, Status::Ok);
    let (_, clock) = at(None);
    assert!(clock.is_empty(), "not measured, not claimed");
}
