//! The simulated ZKTeco PUSH device against a tiny receiver on 127.0.0.1
//! (real HTTP), held to docs/vendors/zkteco-push.md: it shakes hands,
//! polls, uploads events in its dialect and local time, sends again what
//! was not answered `OK`, sends its whole log again when told, falls
//! silent when told, and never does a queued door command.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::VecDeque;

use common::push::*;
use ronda_sim::access::layout::{GUARD, STAFF};
use ronda_sim::access::zkteco::proto::local;
use ronda_sim::access::Dialect;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shakes_hands_reads_the_options_uploads_and_polls() {
    let mut b = bench(OPTIONS, |_, _| {}).await;
    let hello = b.next().await;
    assert_eq!(hello.method, "GET");
    assert_eq!(
        hello.target,
        format!("/iclock/cdata?SN={SN}&options=all&pushver=3.1.2&language=73")
    );
    // Its own start, as an rtlog line.
    let boot = b.next_upload().await;
    assert_eq!(boot.target, format!("/iclock/cdata?SN={SN}&table=rtlog"));
    assert!(boot.body.contains("\tevent=206\t"), "{}", boot.body);
    assert_eq!(indexes(&boot.body), [1]);
    let poll = b.next().await;
    assert_eq!(poll.target, format!("/iclock/getrequest?SN={SN}"));
    let s = b.doors.state(ID);
    assert_eq!((s.access.push.delay_s, s.access.push.error_delay_s), (2, 1));
    assert_eq!(s.access.push.options["TimeZone"], "7");
    assert_eq!(
        s.access.push.server_date.as_deref(),
        Some("Fri, 03 Jul 2015 06:53:01 GMT")
    );
    // An event goes at once (Realtime=1), in the device's local time.
    b.doors
        .change(ID, json!({"door_event": "forced", "door": 1}))
        .await;
    let forced = b.next_upload().await;
    let line = forced.body.trim_end();
    let at = b.doors.state(ID).access.log[1].at;
    let want = format!(
        "time={}\tpin=0\tcardno=0\teventaddr=1\tevent=102\tinoutstatus=0\tverifytype=200\tindex=2",
        local(at, jiff::tz::Offset::constant(7))
    );
    assert_eq!(line, want);
    b.doors
        .change(ID, json!({"door_event": "entry", "user": GUARD}))
        .await;
    let entry = b.next_upload().await;
    let events: Vec<&str> = entry
        .body
        .lines()
        .map(|l| l.split('\t').find(|f| f.starts_with("event=")).unwrap())
        .collect();
    assert_eq!(events, ["event=0", "event=200", "event=201"]);
    assert!(entry.body.starts_with("time="));
    assert!(entry
        .body
        .lines()
        .next()
        .unwrap()
        .contains(&format!("\tpin={GUARD}\t")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_answered_ok_is_sent_again() {
    let mut b = bench(OPTIONS, |_, s| {
        s.uploads = VecDeque::from([(500, "ERROR".into()), (200, "ERROR: busy".into())]);
    })
    .await;
    let first = b.next_upload().await;
    let second = b.next_upload().await;
    let third = b.next_upload().await;
    assert_eq!(first.body, second.body, "sent again after an HTTP error");
    assert_eq!(
        second.body, third.body,
        "sent again after a body other than OK"
    );
    assert_eq!(b.doors.state(ID).access.push.refused, 2);
    // Answered OK: what goes next is only what is new.
    b.doors
        .change(ID, json!({"door_event": "denied", "user": "4242"}))
        .await;
    let next = b.next_upload().await;
    assert_eq!(indexes(&next.body), [2]);
    assert!(
        next.body.contains("\tevent=27\t"),
        "unregistered: {}",
        next.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn told_to_it_sends_its_whole_log_again() {
    let mut b = bench(OPTIONS, |_, _| {}).await;
    assert_eq!(indexes(&b.next_upload().await.body), [1]);
    b.doors
        .change(ID, json!({"door_event": "entry", "user": STAFF}))
        .await;
    assert_eq!(indexes(&b.next_upload().await.body), [2, 3, 4]);
    b.doors.change(ID, json!({"resend_all": true})).await;
    assert_eq!(indexes(&b.next_upload().await.body), [1, 2, 3, 4]);
    assert!(!b.doors.state(ID).access.push.resend_all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_device_calls_nobody_until_it_is_back() {
    let mut b = bench(OPTIONS, |_, _| {}).await;
    b.next_upload().await;
    b.doors.change(ID, json!({"hang": true})).await;
    b.doors.change(ID, json!({"door_event": "forced"})).await;
    // Wait until the device has looked at its state since the forced door
    // (every change wakes it), then everything it sent before is here.
    looked(&b).await;
    let before = b.doors.state(ID).access.push.requests;
    while let Ok(s) = b.seen.try_recv() {
        assert!(!s.body.contains("event=102"), "sent while silent: {s:?}");
    }
    looked(&b).await;
    assert_eq!(b.doors.state(ID).access.push.requests, before, "silent");
    assert!(b.seen.try_recv().is_err());
    b.doors.change(ID, json!({"hang": false})).await;
    let back = b.next_not_poll().await;
    assert!(
        back.target.contains("options=all"),
        "shakes hands again: {back:?}"
    );
    assert!(b.next_upload().await.body.contains("\tevent=102\t"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_attendance_dialect_sends_attlog_and_oplog_in_local_time() {
    let options = OPTIONS.replace("ATTLOGStamp=None", "ATTLOGStamp=0");
    let mut b = bench(&options, |d, _| {
        d.access.push.dialect = Dialect::Attendance;
        d.clock_skew_s = -86_400;
    })
    .await;
    assert!(b.next().await.target.contains("pushver=2.4.1"));
    let boot = b.next_upload().await;
    assert_eq!(
        boot.target,
        format!("/iclock/cdata?SN={SN}&table=OPERLOG&Stamp=1")
    );
    assert!(boot.body.starts_with("OPLOG 0\t0\t"), "{}", boot.body);
    b.doors
        .change(ID, json!({"door_event": "entry", "user": GUARD}))
        .await;
    let att = b.next_upload().await;
    assert_eq!(
        att.target,
        format!("/iclock/cdata?SN={SN}&table=ATTLOG&Stamp=2")
    );
    let at = b.doors.state(ID).access.log[1].at;
    let day_behind = jiff::Timestamp::now().duration_since(at).as_secs();
    assert!((day_behind - 86_400).abs() < 120, "{day_behind}");
    let wib = jiff::tz::Offset::constant(7);
    assert_eq!(
        att.body,
        format!("{GUARD}\t{}\t0\t15\t0\t0\t0\n", local(at, wib))
    );
    let oplog = b.next_upload().await;
    assert_eq!(
        oplog.target,
        format!("/iclock/cdata?SN={SN}&table=OPERLOG&Stamp=4")
    );
    b.doors.change(ID, json!({"tamper": true})).await;
    let tamper = b.next_upload().await;
    assert!(
        tamper.body.starts_with("OPLOG 3\t0\t") && tamper.body.contains("\t0\t55\t0\t0"),
        "{}",
        tamper.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_door_commands_are_refused_and_check_shakes_hands_again() {
    let mut b = bench(OPTIONS, |_, s| {
        s.polls = VecDeque::from(["C:7:AC_UNLOCK\nC:8:CHECK".to_owned()]);
    })
    .await;
    // The handshake and the boot upload come first.
    let mut result = b.next_not_poll().await;
    for _ in 0..3 {
        if result.target.starts_with("/iclock/devicecmd") {
            break;
        }
        result = b.next_not_poll().await;
    }
    assert_eq!(result.target, format!("/iclock/devicecmd?SN={SN}"));
    assert_eq!(
        result.body,
        "ID=7&Return=-1002&CMD=AC_UNLOCK\nID=8&Return=0&CMD=CHECK"
    );
    assert!(b.next_not_poll().await.target.contains("options=all"));
    assert_eq!(
        b.doors.state(ID).access.push.commands,
        ["C:7:AC_UNLOCK", "C:8:CHECK"]
    );
}

/// A server that is not ours, or that hangs: the device takes nothing from
/// it and shakes hands again after its error delay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_hanging_handshake_is_not_taken() {
    let mut b = bench(OPTIONS, |_, s| {
        s.handshakes = VecDeque::from([
            Some("GET OPTION FROM: SOMEONEELSE\nDelay=1\n".to_owned()),
            Some("<html>captive portal</html>".to_owned()),
            None,
            Some(format!(
                "GET OPTION FROM: {SN}\nRealtime=1\n{}",
                "x".repeat(200_000)
            )),
        ]);
    })
    .await;
    for _ in 0..4 {
        let s = b.next().await;
        assert!(s.target.contains("options=all"), "{s:?}");
    }
    // The fourth answer is for this device (too long: read in part), so
    // only now does it upload.
    assert!(b.next().await.is_upload());
    let s = b.doors.state(ID);
    assert_eq!(s.access.push.handshakes, 1);
    assert_eq!(
        s.access.push.refused, 2,
        "two answers refused, one timed out"
    );
    assert!(b.script.lock().unwrap().handshakes.is_empty());
}
