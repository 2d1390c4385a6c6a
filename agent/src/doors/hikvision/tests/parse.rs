//! The parsers on the fixtures written from the Access Control on Person
//! guide, and on the shapes the guide leaves open.

use ronda_wire::DoorState;

use super::device::fixture;
use crate::doors::hikvision::parse::*;
use crate::probe::ProbeError;

#[test]
fn a_page_says_whether_more_remain_and_what_it_holds() {
    let more = parse_events(&fixture("acs_event_more.json")).unwrap();
    assert_eq!(more.status, More::More);
    assert_eq!(more.events.len(), 2);
    let grant = &more.events[0];
    assert_eq!(
        (grant.major, grant.minor, grant.serial),
        (5, 75, Some(1184))
    );
    assert_eq!(grant.employee.as_deref(), Some("1023"));
    assert_eq!(grant.door, Some(1));
    assert_eq!(grant.time, "2025-12-25T09:14:02+07:00");

    // numOfMatches as strings, as the guide's skeleton has them.
    let ok = parse_events(&fixture("acs_event_ok.json")).unwrap();
    assert_eq!(ok.status, More::Done);
    assert_eq!(ok.events.len(), 3);

    let none = parse_events(&fixture("acs_event_no_match.json")).unwrap();
    assert_eq!(none.status, More::NoMatch);
    assert!(none.events.is_empty());
}

#[test]
fn the_older_employee_no_and_a_missing_serial_are_read() {
    let page = parse_events(&fixture("acs_event_no_offset.json")).unwrap();
    assert_eq!(page.events[0].employee.as_deref(), Some("77"));
    assert_eq!(page.events[0].serial, None);
}

#[test]
fn an_item_without_its_code_is_counted_not_guessed() {
    let page = parse_events(&fixture("acs_event_odd.json")).unwrap();
    assert_eq!(page.events.len(), 4);
    assert_eq!(page.malformed, 1);
    // A number where the guide says string is still the person's id.
    assert_eq!(page.events[3].employee.as_deref(), Some("10023"));
}

#[test]
fn a_refusal_is_the_devices_word_and_garbage_a_parse_error() {
    let e = parse_events(&fixture("response_status_bad_parameters.json")).unwrap_err();
    assert!(
        matches!(&e, ProbeError::Device(t) if t.contains("badParameters")),
        "{e:?}"
    );
    for bad in [
        "",
        "<html>",
        "{}",
        "[]",
        r#"{"AcsEvent":{}}"#,
        r#"{"AcsEvent":{"responseStatusStrg":"PERHAPS"}}"#,
        r#"{"AcsEvent":{"responseStatusStrg":"OK","InfoList":{}}}"#,
    ] {
        assert!(
            matches!(parse_events(bad), Err(ProbeError::Parse(_))),
            "{bad}"
        );
    }
}

#[test]
fn work_status_gives_each_doors_state_only_where_the_device_says() {
    let doors = parse_work_status(&fixture("work_status.json")).unwrap();
    assert_eq!(
        doors,
        [
            (1, Some(DoorState::Closed)),
            (2, Some(DoorState::Open)),
            (3, Some(DoorState::AlwaysOpen)),
            // Broken-circuit alarm on the contact: no state.
            (4, None),
        ]
    );
    let locked = r#"{"AcsWorkStatus":{"doorStatus":[3],"magneticStatus":[1]}}"#;
    assert_eq!(
        parse_work_status(locked).unwrap(),
        [(1, Some(DoorState::AlwaysClosed))]
    );
    assert_eq!(parse_work_status(r#"{"AcsWorkStatus":{}}"#).unwrap(), []);
    let many = format!(
        r#"{{"AcsWorkStatus":{{"magneticStatus":[{}0]}}}}"#,
        "0,".repeat(10_000)
    );
    assert_eq!(parse_work_status(&many).unwrap().len(), MAX_DOORS);
    assert!(parse_work_status("{").is_err());
}

#[test]
fn device_info_gives_model_and_serial() {
    let (model, serial) = parse_device_info(&fixture("device_info.xml")).unwrap();
    assert_eq!(model.as_deref(), Some("DS-K1T341AM"));
    assert!(serial.unwrap().starts_with("DS-K1T341AM2021"));
}
