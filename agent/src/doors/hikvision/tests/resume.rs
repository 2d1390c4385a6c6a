//! Where the log stands across restarts, failed writes and firmware that
//! search differently: nothing lost, nothing twice, and a refused login
//! left alone.

use std::collections::BTreeSet;

use ronda_testkit::eventually;
use ronda_wire::PauseReason;

use super::device::{condition, Hik, Serial};
use super::office::{numbers, Office};
use super::server::Login;
use super::{config, stepped, ID};

const SEARCH: &str = "/ISAPI/AccessControl/AcsEvent";

fn unique(n: &[u64]) -> bool {
    n.iter().collect::<BTreeSet<_>>().len() == n.len()
}

#[tokio::test]
async fn a_restart_resumes_after_the_saved_serial_with_nothing_lost_or_twice() {
    let hik = Hik::new(Serial::Honour);
    let server = hik.serve().await;
    let office = Office::start(None, &[config(&server.url)]).await;
    eventually("the evening", || async {
        (office.cursor(ID).as_deref() == Some("3012")).then_some(())
    })
    .await;
    assert_eq!(office.events().len(), 11);
    let dir = office.close().await;

    // While the agent is down, the door is forced and opened remotely.
    hik.add(5, 27, "2025-12-25T22:58:00+07:00", 3013);
    hik.add(3, 1024, "2025-12-25T22:59:00+07:00", 3014);
    let before = server.asked(SEARCH).len();
    let office = Office::start(Some(dir), &[config(&server.url)]).await;
    eventually("the night's events", || async {
        (office.events().len() == 13).then_some(())
    })
    .await;

    let n = numbers(&office.events());
    assert!(unique(&n), "{n:?}");
    assert_eq!(&n[11..], [3013, 3014]);
    let first = condition(&server.asked(SEARCH)[before]);
    assert_eq!(
        first["beginSerialNo"], 3013,
        "resumed from the saved cursor"
    );
    assert!(first.get("startTime").is_none());
    office.close().await;
}

#[tokio::test]
async fn firmware_that_ignores_or_refuses_begin_serial_no_is_searched_by_time() {
    for (flavour, line) in [
        (Serial::Ignore, "event-search: time (beginSerialNo ignored)"),
        (Serial::Refuse, "event-search: time (beginSerialNo refused)"),
    ] {
        let hik = Hik::new(flavour);
        let server = hik.serve().await;
        let office = Office::start(None, &[config(&server.url)]).await;
        eventually("the evening", || async {
            (office.events().len() == 11).then_some(())
        })
        .await;
        eventually("the firmware found out", || async {
            office
                .controller(ID)
                .detected
                .iter()
                .any(|d| d == line)
                .then_some(())
        })
        .await;
        hik.add(5, 28, "2025-12-25T22:59:00+07:00", 3013);
        eventually("the new event", || async {
            (office.events().len() == 12).then_some(())
        })
        .await;
        // The next search starts at the last event's time, as the device wrote it.
        eventually("a search from the last event", || async {
            let asked = server.asked(SEARCH);
            let from = |r: &super::server::Request| {
                condition(r)["startTime"] == "2025-12-25T22:59:00+07:00"
            };
            asked.iter().any(from).then_some(())
        })
        .await;
        let n = numbers(&office.events());
        assert!(unique(&n), "{flavour:?}: {n:?}");
        assert_eq!(office.cursor(ID).as_deref(), Some("3013"));
        office.close().await;
    }
}

#[tokio::test]
async fn a_restart_on_time_searched_firmware_pages_through_what_it_had_kept() {
    // More events than one poll reads (10 pages of 4), all kept before the
    // restart: the search by time must move past them, not read them again.
    let hik = Hik::empty(Serial::Ignore);
    for i in 0..60u64 {
        let t = format!("2025-12-25T20:{:02}:{:02}+07:00", i / 6, i % 6 * 10);
        hik.add(5, 25, &t, 4001 + i);
    }
    let server = hik.serve().await;
    let office = Office::start(None, &[config(&server.url)]).await;
    eventually("the backlog", || async {
        (office.cursor(ID).as_deref() == Some("4060")).then_some(())
    })
    .await;
    let dir = office.close().await;

    hik.add(5, 27, "2025-12-25T22:58:00+07:00", 4061);
    let office = Office::start(Some(dir), &[config(&server.url)]).await;
    eventually("the event after the backlog", || async {
        (office.cursor(ID).as_deref() == Some("4061")).then_some(())
    })
    .await;
    let n = numbers(&office.events());
    assert_eq!(n.len(), 61);
    assert!(unique(&n));
    office.close().await;
}

#[tokio::test]
async fn a_failed_keep_does_not_advance_the_cursor() {
    let hik = Hik::new(Serial::Honour);
    let server = hik.serve().await;
    let (office, mut poller) = stepped(None, config(&server.url));
    poller.step().await;
    assert_eq!(office.cursor(ID).as_deref(), Some("3012"));

    hik.add(5, 27, "2025-12-25T22:58:00+07:00", 3013);
    hik.add(5, 28, "2025-12-25T22:59:00+07:00", 3014);
    let blocker = office.block_writes();
    poller.step().await;
    let c = office.controller(ID);
    assert!(
        c.error
            .as_deref()
            .is_some_and(|e| e.contains("did not keep")),
        "{c:?}"
    );
    assert_eq!(office.events().len(), 11);
    assert_eq!(office.cursor(ID).as_deref(), Some("3012"));
    assert_eq!(c.last_event, Some(3012));

    drop(blocker);
    let before = server.asked(SEARCH).len();
    poller.step().await;
    let again = condition(&server.asked(SEARCH)[before]);
    assert_eq!(
        again["beginSerialNo"], 3013,
        "asked again from where it stood"
    );
    let n = numbers(&office.events());
    assert_eq!(&n[11..], [3013, 3014]);
    assert!(unique(&n));
    assert_eq!(office.cursor(ID).as_deref(), Some("3014"));
    assert_eq!(office.controller(ID).error, None);
}

#[tokio::test]
async fn a_wrong_password_pauses_the_device_and_is_not_retried() {
    let cases = [
        ("user_check_wrong_password.xml", PauseReason::WrongPassword),
        ("user_check_locked.xml", PauseReason::Locked),
    ];
    for (body, reason) in cases {
        let hik = Hik::new(Serial::Honour);
        let refusal = crate::fixture::read("hikvision", body);
        let server = hik.serve_as(Login::Refuse(refusal)).await;
        let (office, mut poller) = stepped(None, config(&server.url));
        for _ in 0..5 {
            poller.step().await;
        }
        // One request, one digest answer; then the device is left alone.
        assert_eq!(server.requests().len(), 2, "{body}");
        let c = office.controller(ID);
        let paused = c.paused.clone().unwrap();
        assert_eq!(paused.reason, reason);
        assert_eq!(paused.failures, 1);
        assert!(!c.reachable);
        assert!(
            c.error
                .as_deref()
                .is_some_and(|e| e.contains("not asked again until")),
            "{c:?}"
        );
        assert!(office.events().is_empty());
    }
}
