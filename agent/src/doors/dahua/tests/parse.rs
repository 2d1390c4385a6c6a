//! The parsers on the fixtures written from the Dahua access-control
//! reference, and on the shapes it leaves open.

use jiff::tz::Offset;
use ronda_wire::DoorState;

use super::device::fixture;
use crate::doors::dahua::parse::*;
use crate::probe::ProbeError;

#[test]
fn a_find_answer_gives_its_counts_and_records() {
    let f = parse_records(&fixture("records_page.txt")).unwrap();
    assert_eq!((f.found, f.total), (Some(3), Some(3)));
    let r = &f.records[0];
    assert_eq!(r.rec_no, Some(601));
    assert_eq!(r.user_id.as_deref(), Some("101"));
    assert_eq!(r.card_no.as_deref(), Some("A1B2C3D4"));
    assert_eq!(
        (r.door, r.method, r.status),
        (Some(1), Some(14), Some(true))
    );
    assert_eq!(f.records[1].status, Some(false));
    assert_eq!(f.records[1].user_id, None, "an empty UserID is none");

    let empty = parse_records(&fixture("records_empty.txt")).unwrap();
    assert_eq!((empty.found, empty.records.len()), (Some(0), 0));
    let local = parse_records(&fixture("records_local_time.txt")).unwrap();
    assert_eq!((local.found, local.total), (Some(2), None));
}

#[test]
fn create_time_is_epoch_or_a_local_time_in_the_configured_offset() {
    let wib = Some(Offset::constant(7));
    let epoch = record_time("1766662200", None).unwrap();
    assert_eq!(epoch.to_string(), "2025-12-25T11:30:00Z");
    let local = record_time("2025-12-25 18:30:00", wib).unwrap();
    assert_eq!(local, epoch);
    assert_eq!(
        record_time("2025-12-25 18:30:00", None),
        None,
        "no offset, no guess"
    );
    for bad in ["", "soon", "99999999999999999999", "2025-13-01 00:00:00"] {
        assert_eq!(record_time(bad, wib), None, "{bad}");
    }
}

#[test]
fn door_status_is_open_close_or_a_word_kept_as_such() {
    assert_eq!(
        parse_door_status(&fixture("door_status_open.txt")).unwrap(),
        Said::State(DoorState::Open)
    );
    assert_eq!(
        parse_door_status(&fixture("door_status_close.txt")).unwrap(),
        Said::State(DoorState::Closed)
    );
    assert_eq!(
        parse_door_status(&fixture("door_status_unknown.txt")).unwrap(),
        Said::Unknown("Break".into())
    );
    assert!(matches!(
        parse_door_status("Error\r\nBad Request!\r\n"),
        Err(ProbeError::Device(_))
    ));
    assert!(matches!(
        parse_door_status("status=1"),
        Err(ProbeError::Parse(_))
    ));
}

#[test]
fn garbage_and_hostile_indexes_are_bounded() {
    assert!(parse_records("<html>").is_err());
    let many: String = (0..5000u64)
        .map(|i| format!("records[{}].RecNo={i}\r\n", i * 1_000_003))
        .collect();
    assert_eq!(parse_records(&many).unwrap().records.len(), MAX_RECORDS);
    let huge_index = "found=1\r\nrecords[99999999999999999999].RecNo=1\r\n";
    assert!(parse_records(huge_index).unwrap().records.is_empty());
}

#[test]
fn system_info_gives_model_and_serial() {
    let (model, serial) = parse_system_info(&fixture("system_info.txt")).unwrap();
    assert_eq!(model.as_deref(), Some("DHI-ASI7213X-T1"));
    assert_eq!(serial.as_deref(), Some("7E0ABCD123456F"));
}
