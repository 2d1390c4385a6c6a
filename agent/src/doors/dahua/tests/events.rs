//! Records from the device's pages to the outbox: what each becomes, who
//! is named, paging from the last second taken, and what the report says.

use ronda_wire::{DoorEventKind as K, DoorState};

use super::device::{fixture, param, Dahua};
use super::{config, stepped, Reply, DEVICE_NOW, FIND, ID};

#[tokio::test]
async fn an_evening_of_records_becomes_door_events_across_capped_pages() {
    let dahua = Dahua::new();
    let server = dahua.serve().await;
    let (office, mut poller) = stepped(None, config(&server.url));
    poller.step().await;

    let got: Vec<_> = office
        .events()
        .into_iter()
        .map(|e| (e.number.unwrap(), e.kind, e.who, e.door))
        .collect();
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        got,
        [
            (501, K::Granted, s("1023"), s("main-door")),
            // No user id: the card number is the id.
            (502, K::Denied, s("3523464398"), s("main-door")),
            (503, K::RemoteOpen, None, s("server-room")),
            (504, K::Open, None, s("main-door")),
            // A name typed as UserID: nobody named.
            (505, K::Granted, None, s("main-door")),
            // A duress password still opened the door.
            (506, K::Granted, s("7"), s("main-door")),
            // 507 has a Status Ronda does not know: skipped.
            (508, K::Granted, s("9"), s("server-room")),
            (509, K::Denied, s("10"), s("server-room")),
        ]
    );
    let first = &office.events()[0];
    assert_eq!(first.at.to_string(), "2025-12-25T18:30:00+07:00");
    assert_eq!(first.code, "cardrec 1/16");
    assert_eq!(office.cursor(ID).as_deref(), Some("509"));

    // The device capped each page at 3; each next page asked again from
    // the newest second taken, so 508 and 509 (one second) both came.
    let starts: Vec<_> = server
        .asked(FIND)
        .iter()
        .map(|r| param(r, "StartTime"))
        .collect();
    let t = |rec: usize| Some(1_766_662_200 + [0, 1800, 6300, 9000, 10800, 13200, 13800][rec]);
    assert_eq!(starts, [Some(DEVICE_NOW - 86_400), t(2), t(4), t(6)]);
    let last = &server.asked(FIND)[0];
    assert_eq!(param(last, "EndTime"), Some(DEVICE_NOW + 86_400));
    assert_eq!(param(last, "count"), Some(100));

    let c = office.controller(ID);
    assert!(c.reachable, "{c:?}");
    assert_eq!(c.error, None);
    assert_eq!(c.last_event, Some(509));
    assert_eq!(c.model.as_deref(), Some("DHI-ASI7213X-T1"));
    assert_eq!(c.serial.as_deref(), Some("7E0ABCD123456F"));
    assert!(c.clock_skew_s.is_some());
    let doors: Vec<_> = c.doors.iter().map(|d| (d.no, d.state)).collect();
    assert_eq!(
        doors,
        [(1, Some(DoorState::Closed)), (2, Some(DoorState::Open))]
    );
    assert!(
        c.detected
            .iter()
            .any(|d| d == "unmapped-records: 1 skipped"),
        "{:?}",
        c.detected
    );
}

#[tokio::test]
async fn the_documented_page_and_records_in_local_time() {
    let dahua = Dahua::new();
    dahua.answer_searches(|_| Some(Reply::text(fixture("records_page.txt"))));
    let server = dahua.serve().await;
    let (office, mut poller) = stepped(None, config(&server.url));
    poller.step().await;
    let got: Vec<_> = office
        .events()
        .into_iter()
        .map(|e| (e.number, e.kind, e.who))
        .collect();
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        got,
        [
            (Some(601), K::Granted, s("101")),
            (Some(602), K::Denied, s("DEADBEEF")),
            (Some(603), K::Granted, s("102")),
        ]
    );

    dahua.answer_searches(|_| Some(Reply::text(fixture("records_local_time.txt"))));
    let (office, mut poller) = stepped(None, config(&server.url));
    poller.step().await;
    let at: Vec<_> = office.events().iter().map(|e| e.at.to_string()).collect();
    assert_eq!(
        at,
        ["2025-12-25T21:00:00+07:00", "2025-12-25T21:05:00+07:00"]
    );
}

#[tokio::test]
async fn a_door_word_ronda_does_not_know_is_no_state_and_is_shown() {
    let dahua = Dahua::new();
    *dahua.doors.lock().unwrap() = ["door_status_unknown.txt", "door_status_open.txt"];
    let server = dahua.serve().await;
    let (office, mut poller) = stepped(None, config(&server.url));
    poller.step().await;
    let c = office.controller(ID);
    let doors: Vec<_> = c.doors.iter().map(|d| (d.no, d.state)).collect();
    assert_eq!(doors, [(1, None), (2, Some(DoorState::Open))]);
    assert!(
        c.detected
            .iter()
            .any(|d| d == "door 1 status `Break` not known"),
        "{:?}",
        c.detected
    );
}
