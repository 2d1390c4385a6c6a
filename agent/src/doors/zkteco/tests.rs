//! The ZKTeco listener over real TCP on 127.0.0.1, keeping into a real
//! outbox (SQLite in a temporary directory) through a real [`Hub`], as a
//! device and as an attacker on the office LAN would call it.
#![allow(clippy::unwrap_used)]

mod attack;
mod rig;

use jiff::tz::Offset;
use ronda_wire::{DoorEventKind as K, DoorState};

use crate::fixture::read;
use rig::{Rig, SN};

#[tokio::test]
async fn the_handshake_gives_the_office_time_zone_and_the_stamps() {
    let rig = Rig::start().await;
    let (status, head, body) = rig
        .get(&format!(
            "/iclock/cdata?SN={SN}&options=all&pushver=2.4.1&language=73"
        ))
        .await;
    assert_eq!(status, 200);
    assert!(
        body.starts_with(&format!("GET OPTION FROM: {SN}\n")),
        "{body}"
    );
    for line in [
        "TimeZone=7",
        "Realtime=1",
        "Delay=10",
        "ErrorDelay=30",
        "ATTLOGStamp=None",
    ] {
        assert!(
            body.lines().any(|l| l == line),
            "{line} missing from {body}"
        );
    }
    let date = head
        .lines()
        .find_map(|l| l.strip_prefix("date: "))
        .expect("a Date header");
    assert!(
        jiff::fmt::strtime::parse("%a, %d %b %Y %H:%M:%S GMT", date).is_ok(),
        "{date}"
    );
    let board = rig.controller("door-main");
    assert!(board.reachable && board.error.is_none() && board.last_contact.is_some());

    let (_, _, other) = rig.get("/iclock/cdata?SN=OTHER0002&options=all").await;
    assert!(other.lines().any(|l| l == "TimeZone=330"), "{other}");
}

#[tokio::test]
async fn attlog_is_kept_before_it_is_answered() {
    let rig = Rig::start().await;
    let body = read("zkteco", "attlog_7_fields.txt");
    let (status, _, answer) = rig.post_table("ATTLOG&Stamp=100", &body).await;
    assert_eq!((status, answer.as_str()), (200, "OK:2"));
    let events = rig.events();
    assert_eq!(events.len(), 2);
    let e = &events[0];
    assert_eq!(
        (e.device.as_str(), e.kind, e.who.as_deref()),
        ("door-main", K::Granted, Some("1001"))
    );
    assert_eq!(e.at.to_string(), "2026-12-24T07:58:03+07:00");
    assert_eq!(
        (e.number, e.door_no, e.code.as_str()),
        (None, None, "ATTLOG")
    );
    assert_eq!(rig.cursor("door-main").as_deref(), Some("attlog:100"));
}

/// A device's backlog as big as the caps allow is taken whole: the caps
/// stop floods, not real uploads.
#[tokio::test]
async fn a_backlog_just_under_the_caps_is_kept_whole() {
    let rig = Rig::start().await;
    let start = jiff::civil::date(2026, 12, 20).at(0, 0, 0, 0);
    let body: String = (0..28_000)
        .map(|i| {
            let t = start + jiff::SignedDuration::from_secs(i * 7);
            format!(
                "{}\t{}\t0\t1\t0\t0\t0\n",
                1000 + i % 500,
                t.strftime("%Y-%m-%d %H:%M:%S")
            )
        })
        .collect();
    assert!(body.len() > 900_000 && body.len() < 1 << 20);
    let (status, _, answer) = rig.post_table("ATTLOG&Stamp=9", &body).await;
    assert_eq!((status, answer.as_str()), (200, "OK:28000"));
    assert_eq!(rig.events().len(), 28_000);
}

#[tokio::test]
async fn rtlog_events_are_kept_with_their_doors_named() {
    let rig = Rig::start().await;
    let (status, _, answer) = rig
        .post_table("rtlog", &read("zkteco", "rtlog_events.txt"))
        .await;
    assert_eq!((status, answer.as_str()), (200, "OK"));
    let events = rig.events();
    let kinds: Vec<K> = events.iter().map(|e| e.kind).collect();
    use K::*;
    assert_eq!(
        kinds,
        [
            Granted,
            RemoteOpen,
            Denied,
            Denied,
            HeldOpen,
            Tamper,
            Granted,
            Forced,
            Open,
            DeviceStart
        ]
    );
    let forced = &events[7];
    assert_eq!(
        (forced.door_no, forced.door.as_deref()),
        (Some(2), Some("server-room"))
    );
    assert_eq!(forced.code, "rtlog 102");
    assert_eq!(events[0].door.as_deref(), Some("main-door"));
    // 201 said door 1 closed after 200 said it opened.
    assert_eq!(rig.door_state("door-main", 1), Some(DoorState::Closed));
}

#[tokio::test]
async fn operlog_alarms_are_kept_and_names_never_are() {
    let rig = Rig::start().await;
    let (_, _, a) = rig
        .post_table("OPERLOG&Stamp=7", &read("zkteco", "operlog_alarm_obj2.txt"))
        .await;
    let (_, _, b) = rig
        .post_table("OPERLOG&Stamp=8", &read("zkteco", "operlog_mixed.txt"))
        .await;
    assert_eq!((a.as_str(), b.as_str()), ("OK:6", "OK:6"));
    let codes: Vec<String> = rig.events().into_iter().map(|e| e.code).collect();
    assert_eq!(
        codes,
        [
            "OPERLOG 3/54",
            "OPERLOG 3/55",
            "OPERLOG 3/51",
            "OPERLOG 3/58",
            "OPERLOG 0",
            "OPERLOG 2"
        ]
    );
    let stored = rig.outbox_text();
    for private in ["Budi", "123456", "AB12", "TWJT"] {
        assert!(!stored.contains(private), "{private} reached the outbox");
    }
    assert_eq!(rig.cursor("door-main").as_deref(), Some("operlog:8"));
}

#[tokio::test]
async fn an_upload_not_kept_gets_an_error_and_its_resend_is_kept_once() {
    let rig = Rig::start().await;
    let body = read("zkteco", "attlog_7_fields.txt");
    rig.refuse_next(1);
    let (status, _, _) = rig.post_table("ATTLOG&Stamp=100", &body).await;
    assert_eq!(status, 503);
    assert!(rig.events().is_empty());
    assert_eq!(rig.cursor("door-main"), None);
    for _ in 0..2 {
        let (status, _, answer) = rig.post_table("ATTLOG&Stamp=100", &body).await;
        assert_eq!((status, answer.as_str()), (200, "OK:2"));
    }
    assert_eq!(rig.events().len(), 2);
}

#[tokio::test]
async fn a_whole_log_sent_again_adds_nothing() {
    let rig = Rig::start().await;
    let first = read("zkteco", "attlog_7_fields.txt");
    let second = read("zkteco", "attlog_10_fields_crlf.txt");
    rig.post_table("ATTLOG&Stamp=1", &first).await;
    rig.post_table("ATTLOG&Stamp=2", &second).await;
    let records = rig.outbox_len();
    let (_, _, answer) = rig
        .post_table("ATTLOG&Stamp=3", &format!("{second}{first}"))
        .await;
    assert_eq!(answer, "OK:3");
    assert_eq!(rig.events().len(), 3);
    // Nothing new: not even an empty record, and the stamp is the device's.
    assert_eq!(rig.outbox_len(), records);
    assert_eq!(rig.cursor("door-main").as_deref(), Some("attlog:3"));
}

#[tokio::test]
async fn a_restarted_agent_answers_the_stamps_it_kept() {
    let rig = Rig::start().await;
    rig.post_table(
        "ATTLOG&Stamp=1735000000",
        &read("zkteco", "attlog_7_fields.txt"),
    )
    .await;
    rig.post_table(
        "OPERLOG&Stamp=42",
        &read("zkteco", "operlog_alarm_obj1.txt"),
    )
    .await;
    let again = rig.restart().await;
    let (_, _, body) = again
        .get(&format!("/iclock/cdata?SN={SN}&options=all"))
        .await;
    assert!(
        body.contains("\nATTLOGStamp=1735000000\nOPERLOGStamp=42\n"),
        "{body}"
    );
}

#[tokio::test]
async fn heartbeats_and_other_tables_are_answered_ok() {
    let rig = Rig::start().await;
    let (status, _, body) = rig
        .get(&format!(
            "/iclock/getrequest?SN={SN}&INFO=Ver%202.0.12,0,0,0,192.168.1.9,10,7,15,0,111"
        ))
        .await;
    assert_eq!((status, body.as_str()), (200, "OK"));
    assert!(rig.controller("door-main").last_contact.is_some());
    let cmd = read("zkteco", "devicecmd.txt");
    let (_, _, body) = rig
        .post(&format!("/iclock/devicecmd?SN={SN}"), cmd.as_bytes())
        .await;
    assert_eq!(body, "OK");
    for table in ["options", "ATTPHOTO", "tabledata", "..%0A%1B[31m"] {
        let photo = b"PIN=20261225-1001.jpg\nSN=x\nsize=4\nCMD=uploadphoto\0\xff\xd8\xff\xe0";
        let (status, _, body) = rig
            .post(&format!("/iclock/cdata?SN={SN}&table={table}"), photo)
            .await;
        assert_eq!((status, body.as_str()), (200, "OK"), "{table}");
    }
    let (_, _, body) = rig.post_table("rtlog", "").await;
    assert_eq!(body, "OK");
    assert!(rig.events().is_empty());
}

#[tokio::test]
async fn the_access_dialect_registers_and_sends_door_states() {
    let rig = Rig::start().await;
    let (_, _, reg) = rig
        .post(&format!("/iclock/registry?SN={SN}"), b"DeviceType=acc")
        .await;
    let code = reg.trim().strip_prefix("RegistryCode=").unwrap().to_owned();
    let (_, _, push) = rig.post(&format!("/iclock/push?SN={SN}"), b"").await;
    assert!(
        push.contains(&format!("RegistryCode={code}\n"))
            && push.contains("TransTables=Transaction\n")
    );
    let (_, _, ok) = rig
        .post_table("rtstate", &read("zkteco", "rtstate_door.txt"))
        .await;
    assert_eq!(ok, "OK");
    assert_eq!(rig.door_state("door-main", 1), Some(DoorState::Open));
    // Door 2's state was not readable: the board says nothing of it.
    assert_eq!(rig.door_state("door-main", 2), None);
}

#[tokio::test]
async fn the_clock_is_read_only_from_real_time_uploads() {
    let rig = Rig::start().await;
    let wib = Offset::from_seconds(7 * 3600).unwrap();
    let ahead = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
    let local = ahead.to_zoned(jiff::tz::TimeZone::fixed(wib)).datetime();
    let line = |t: jiff::civil::DateTime| {
        format!("1001\t{}\t0\t1\t0\t0\t0\n", t.strftime("%Y-%m-%d %H:%M:%S"))
    };
    // A backlog of two records, before any heartbeat: no reading.
    rig.post_table(
        "ATTLOG",
        &format!(
            "{}{}",
            line(local),
            line(local - jiff::SignedDuration::from_hours(2))
        ),
    )
    .await;
    assert_eq!(rig.controller("door-main").clock_skew_s, None);
    rig.get(&format!("/iclock/getrequest?SN={SN}")).await;
    rig.post_table("ATTLOG", &line(local + jiff::SignedDuration::from_secs(5)))
        .await;
    let skew = rig.controller("door-main").clock_skew_s.unwrap();
    // One hour ahead, less however long the request took.
    assert!((3300..=3605).contains(&skew), "{skew}");
}

#[tokio::test]
async fn a_device_that_stops_calling_becomes_unreachable() {
    let rig = Rig::start_with_silence(std::time::Duration::from_millis(200)).await;
    rig.get(&format!("/iclock/getrequest?SN={SN}")).await;
    let error = ronda_testkit::eventually("the device marked unreachable", || async {
        let c = rig.controller("door-main");
        (!c.reachable).then_some(c.error)
    })
    .await;
    assert!(error.unwrap().contains("has not called"));
}
