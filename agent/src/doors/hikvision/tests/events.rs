//! Events from the vendor's pages to the outbox: what each code becomes,
//! who is named, paging by `MORE`, and what the report says.

use jiff::tz::Offset;
use ronda_testkit::eventually;
use ronda_wire::{DoorEventKind as K, DoorState};

use super::device::{condition, fixture, Hik, Serial};
use super::office::{numbers, Office};
use super::server::Reply;
use super::{config, stepped, ID};

/// The two documented example pages (§1.3), served by position.
fn documented_pages(hik: &Hik) {
    hik.answer_searches(|r| {
        let page = match condition(r)["searchResultPosition"].as_u64() {
            Some(0) => "acs_event_more.json",
            Some(2) => "acs_event_ok.json",
            _ => return Some(Reply::status(400, "bad position")),
        };
        Some(Reply::json(fixture(page)))
    });
}

#[tokio::test]
async fn the_documented_pages_become_a_forced_door_a_grant_held_open_remote_open_and_mains_off() {
    let hik = Hik::empty(Serial::Honour);
    documented_pages(&hik);
    let server = hik.serve().await;
    let (office, mut poller) = stepped(None, config(&server.url));
    poller.step().await;

    let got: Vec<_> = office
        .events()
        .into_iter()
        .map(|e| (e.number, e.kind, e.who, e.door, e.code))
        .collect();
    let door = |s: &str| Some(s.to_owned());
    assert_eq!(
        got,
        [
            (
                Some(1184),
                K::Granted,
                door("1023"),
                door("main-door"),
                "5/75".into()
            ),
            (
                Some(1185),
                K::Forced,
                None,
                door("main-door"),
                "5/27".into()
            ),
            (
                Some(1186),
                K::HeldOpen,
                None,
                door("main-door"),
                "5/28".into()
            ),
            (
                Some(1187),
                K::RemoteOpen,
                None,
                door("main-door"),
                "3/1024".into()
            ),
            (Some(1188), K::PowerLost, None, None, "2/1029".into()),
        ]
    );
    let forced = &office.events()[1];
    assert_eq!(forced.at.to_string(), "2025-12-25T22:40:51+07:00");
    assert_eq!(forced.door_no, Some(1));
    assert_eq!(forced.device, ID);

    // Paging moved by the items received (2), not by the 30 asked for.
    let searches = server.asked("/ISAPI/AccessControl/AcsEvent");
    let positions: Vec<_> = searches
        .iter()
        .map(|r| condition(r)["searchResultPosition"].as_u64())
        .collect();
    assert_eq!(positions, [Some(0), Some(2)]);
    let first = condition(&searches[0]);
    assert_eq!(first["maxResults"], 30);
    assert_eq!(
        (first["major"].as_u64(), first["minor"].as_u64()),
        (Some(0), Some(0))
    );
    // First start: the last 24 hours on the device's clock, as it writes it.
    assert_eq!(first["startTime"], "2025-12-24T23:00:00+07:00");
    assert_eq!(first["endTime"], "2025-12-26T23:00:00+07:00");
    assert!(first.get("beginSerialNo").is_none());
    assert_eq!(office.cursor(ID).as_deref(), Some("1188"));

    let c = office.controller(ID);
    assert!(c.reachable, "{c:?}");
    assert_eq!(c.error, None);
    assert!(c.last_contact.is_some());
    assert_eq!(c.last_event, Some(1188));
    assert_eq!(c.model.as_deref(), Some("DS-K1T341AM"));
    assert_eq!(
        c.serial.as_deref(),
        Some("DS-K1T341AM20210315V030200ENF12345678")
    );
    assert!(c.clock_skew_s.is_some());
    let doors: Vec<_> = c
        .doors
        .iter()
        .map(|d| (d.no, d.door.as_deref(), d.state))
        .collect();
    assert_eq!(
        doors,
        [
            (1, Some("main-door"), Some(DoorState::Closed)),
            (2, Some("server-room"), Some(DoorState::Open)),
            (3, None, Some(DoorState::AlwaysOpen)),
            (4, None, None),
        ]
    );
    assert!(
        c.detected
            .iter()
            .any(|d| d == "event-search: serial (not yet confirmed)"),
        "{:?}",
        c.detected
    );
    assert!(c
        .detected
        .iter()
        .any(|d| d.starts_with("clock: System/time with its offset (+07:00)")));
}

#[tokio::test]
async fn a_holiday_evening_is_taken_whole_across_capped_pages_then_by_serial() {
    let hik = Hik::new(Serial::Honour);
    let server = hik.serve().await;
    let office = Office::start(None, &[config(&server.url)]).await;
    eventually("the evening's events", || async {
        (office.events().len() == 11).then_some(())
    })
    .await;

    let got: Vec<_> = office
        .events()
        .into_iter()
        .map(|e| (e.number.unwrap(), e.kind, e.who))
        .collect();
    let who = |s: &str| Some(s.to_owned());
    assert_eq!(
        got,
        [
            (3001, K::DeviceStart, None),
            (3002, K::Granted, who("1023")),
            (3003, K::Open, None),
            (3005, K::Denied, None),
            (3006, K::Forced, None),
            (3007, K::HeldOpen, None),
            (3008, K::RemoteOpen, None),
            (3009, K::Tamper, None),
            (3010, K::PowerLost, None),
            // Its person ID is a name: no `who`.
            (3011, K::Granted, None),
            (3012, K::Open, None),
        ]
    );
    assert_eq!(office.events()[4].door.as_deref(), Some("server-room"));

    // The next event comes by serial number, and that confirms the firmware.
    hik.add(5, 27, "2025-12-25T22:59:00+07:00", 3013);
    eventually("the new event", || async {
        (office.events().len() == 12).then_some(())
    })
    .await;
    let c = eventually("serial search confirmed", || async {
        let c = office.controller(ID);
        c.detected
            .iter()
            .any(|d| d == "event-search: serial")
            .then_some(c)
    })
    .await;
    assert!(
        c.detected.iter().any(|d| d == "unmapped-events: 1 skipped"),
        "{:?}",
        c.detected
    );
    let by_serial = server
        .asked("/ISAPI/AccessControl/AcsEvent")
        .iter()
        .any(|r| condition(r)["beginSerialNo"] == 3013);
    assert!(by_serial);
    assert_eq!(numbers(&office.events()).last(), Some(&3013));
    office.close().await;
}

#[tokio::test]
async fn odd_items_are_skipped_counted_or_cleaned_never_guessed() {
    let hik = Hik::empty(Serial::Honour);
    hik.answer_searches(|_| Some(Reply::json(fixture("acs_event_odd.json"))));
    let server = hik.serve().await;
    let (office, mut poller) = stepped(None, config(&server.url));
    poller.step().await;

    let got: Vec<_> = office
        .events()
        .into_iter()
        .map(|e| (e.number, e.kind, e.who))
        .collect();
    assert_eq!(
        got,
        [
            (Some(2001), K::Granted, None),
            (Some(2005), K::Granted, Some("10023".to_owned())),
        ]
    );
    // The unmapped ones are still behind the cursor: not asked for again.
    assert_eq!(office.cursor(ID).as_deref(), Some("2005"));
    let c = office.controller(ID);
    assert!(c.reachable);
    assert!(
        c.error
            .as_deref()
            .is_some_and(|e| e.contains("1 events unreadable")),
        "{c:?}"
    );
    assert!(
        c.detected.iter().any(|d| d == "unmapped-events: 2 skipped"),
        "{:?}",
        c.detected
    );
}

#[tokio::test]
async fn times_without_an_offset_are_used_only_with_the_configured_one() {
    let hik = Hik::empty(Serial::Honour);
    hik.answer_searches(|_| Some(Reply::json(fixture("acs_event_no_offset.json"))));
    let server = hik.serve().await;

    let (office, mut poller) = stepped(None, config(&server.url));
    poller.step().await;
    assert!(
        office.events().is_empty(),
        "no offset, none configured: nothing guessed"
    );
    let c = office.controller(ID);
    assert!(
        c.error
            .as_deref()
            .is_some_and(|e| e.contains("set `utc_offset`")),
        "{c:?}"
    );

    let mut wib = config(&server.url);
    wib.offset = Some(Offset::constant(7));
    let (office, mut poller) = stepped(None, wib);
    poller.step().await;
    // The device repeats the same unnumbered page: kept once.
    poller.step().await;
    let got: Vec<_> = office
        .events()
        .into_iter()
        .map(|e| (e.kind, e.who, e.door, e.number, e.at.to_string()))
        .collect();
    let door = Some("server-room".to_owned());
    assert_eq!(
        got,
        [
            (
                K::Granted,
                Some("77".into()),
                door.clone(),
                None,
                "2025-12-25T21:00:00+07:00".into()
            ),
            (
                K::Forced,
                None,
                door,
                None,
                "2025-12-25T21:05:00+07:00".into()
            ),
        ]
    );
    assert_eq!(office.controller(ID).error, None);
}
