//! The ZKTeco PUSH text on the fixtures of `sim/fixtures/zkteco/`, each
//! following a section of the vendor document.

use jiff::civil::date;
use jiff::tz::Offset;
use ronda_wire::{DoorEventKind as K, DoorState};

use super::*;
use crate::fixture::read;

fn upload(table: Table, name: &str) -> Upload {
    parse_upload(table, read("zkteco", name).as_bytes()).unwrap()
}

fn kinds(up: &Upload) -> Vec<Option<K>> {
    up.records.iter().map(|r| r.kind).collect()
}

#[test]
fn attlog_records_are_punches_by_pin_at_local_time() {
    let up = upload(Table::AttLog, "attlog_7_fields.txt");
    assert_eq!(up.lines, 2);
    assert_eq!(kinds(&up), vec![Some(K::Granted); 2]);
    let first = &up.records[0];
    assert_eq!(first.who.as_deref(), Some("1001"));
    assert_eq!(first.time, date(2026, 12, 24).at(7, 58, 3, 0));
    assert_eq!((first.door_no, first.code.as_str()), (None, "ATTLOG"));

    let crlf = upload(Table::AttLog, "attlog_10_fields_crlf.txt");
    assert_eq!((crlf.lines, crlf.bad), (1, 0));
    assert_eq!(crlf.records[0].time, date(2026, 12, 25).at(22, 13, 5, 0));
}

#[test]
fn a_keyed_line_under_attlog_is_read_by_key() {
    let up = upload(Table::AttLog, "attlog_keyed.txt");
    let r = &up.records[0];
    assert_eq!(
        (r.kind, r.who.as_deref(), r.door_no),
        (Some(K::Granted), Some("1004"), Some(1))
    );
    assert_eq!(r.code, "rtlog 0");
}

#[test]
fn a_name_in_the_pin_field_gives_no_who() {
    for pin in ["Budi Santoso", "<script>", "0", "", &"7".repeat(33)] {
        let line = format!("{pin}\t2026-12-24 07:58:03\t0\t1\t0\t0\t0");
        let Entry::Record(r) = parse_attlog(&line) else {
            panic!("{pin:?} not read");
        };
        assert_eq!((r.kind, r.who), (Some(K::Granted), None), "{pin:?}");
    }
}

#[test]
fn oplog_alarms_are_read_from_either_object() {
    let obj2 = upload(Table::OperLog, "operlog_alarm_obj2.txt");
    // 50 (door closed) and 65535 (alarm cancelled) are no event.
    assert_eq!(
        kinds(&obj2),
        vec![
            Some(K::Forced),
            Some(K::Tamper),
            Some(K::Open),
            Some(K::Denied)
        ]
    );
    let codes: Vec<&str> = obj2.records.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "OPERLOG 3/54",
            "OPERLOG 3/55",
            "OPERLOG 3/51",
            "OPERLOG 3/58"
        ]
    );
    assert_eq!((obj2.lines, obj2.ignored), (6, 2));

    let obj1 = upload(Table::OperLog, "operlog_alarm_obj1.txt");
    assert_eq!(kinds(&obj1), vec![Some(K::Forced), Some(K::Tamper)]);
    assert_eq!(obj1.records[0].time, date(2026, 12, 25).at(2, 20, 0, 0));
}

#[test]
fn oplog_users_and_templates_are_dropped_unread() {
    let up = upload(Table::OperLog, "operlog_mixed.txt");
    assert_eq!(kinds(&up), vec![Some(K::DeviceStart), Some(K::Denied)]);
    assert_eq!(up.records[1].who.as_deref(), Some("1005"));
    // Menu and set-time operations: known, not door events.
    assert_eq!(
        up.unmapped_codes.iter().copied().collect::<Vec<_>>(),
        [4, 21]
    );
    assert_eq!((up.lines, up.ignored, up.bad), (6, 2, 0));
    let kept = format!("{:?}", up.records);
    for private in ["Budi", "123456", "AB12", "TWJT"] {
        assert!(!kept.contains(private), "{private} kept");
    }
}

#[test]
fn oplog_written_with_spaces_reads_the_same() {
    let up = upload(Table::OperLog, "operlog_spaces.txt");
    assert_eq!(kinds(&up), vec![Some(K::Forced)]);
    assert_eq!(up.records[0].time, date(2026, 12, 25).at(3, 0, 0, 0));
    assert_eq!(up.unmapped, 1);
}

#[test]
fn rtlog_codes_map_as_the_document_says() {
    let up = upload(Table::RtLog, "rtlog_events.txt");
    assert_eq!(up.bad, 0);
    type Seen<'a> = (String, Option<K>, Option<u32>, Option<&'a str>);
    let got: Vec<Seen> = up
        .records
        .iter()
        .map(|r| (r.code.clone(), r.kind, r.door_no, r.who.as_deref()))
        .collect();
    let want = [
        ("rtlog 0", Some(K::Granted), Some(1), Some("1001")),
        ("rtlog 8", Some(K::RemoteOpen), Some(1), None),
        ("rtlog 23", Some(K::Denied), Some(1), Some("1002")),
        ("rtlog 27", Some(K::Denied), Some(2), None),
        ("rtlog 28", Some(K::HeldOpen), Some(1), None),
        ("rtlog 100", Some(K::Tamper), None, None),
        ("rtlog 101", Some(K::Granted), Some(1), Some("1003")),
        ("rtlog 102", Some(K::Forced), Some(2), None),
        ("rtlog 200", Some(K::Open), Some(1), None),
        ("rtlog 201", None, Some(1), None),
        ("rtlog 206", Some(K::DeviceStart), None, None),
    ]
    .map(|(c, k, d, w)| (c.to_owned(), k, d, w));
    assert_eq!(got, want);
    assert_eq!(up.records[8].state, Some(DoorState::Open));
    assert_eq!(up.records[9].state, Some(DoorState::Closed));
}

#[test]
fn rtlog_fields_in_another_order_read_the_same() {
    let up = upload(Table::RtLog, "rtlog_reordered.txt");
    let r = &up.records[0];
    assert_eq!(
        (r.kind, r.door_no, r.who.clone()),
        (Some(K::Forced), Some(2), None)
    );
    assert_eq!(r.time, date(2026, 12, 25).at(3, 30, 0, 0));
}

#[test]
fn rtlog_odd_lines_are_counted_not_guessed() {
    assert_eq!(upload(Table::RtLog, "rtlog_transaction.txt").bad, 1);
    assert_eq!(upload(Table::RtLog, "rtlog_empty.txt"), Upload::default());
    let twice = "time=2026-12-25 02:00:00\tevent=0\tevent=102\teventaddr=1";
    assert_eq!(parse_keyed(twice), Entry::Bad);
    let same_twice = "time=2026-12-25 02:00:00\tevent=102\tevent=102\teventaddr=1";
    assert!(matches!(parse_keyed(same_twice), Entry::Record(_)));
    let unknown = "time=2026-12-25 02:00:00\tevent=4242\teventaddr=1";
    assert_eq!(parse_keyed(unknown), Entry::Unmapped(4242));
    assert_eq!(
        parse_keyed("time=2026-12-25 02:00:00\tevent=214"),
        Entry::Ignored
    );
}

#[test]
fn rtstate_says_a_door_state_only_where_both_readings_agree() {
    let synthetic = upload(Table::RtState, "rtstate.txt");
    // 0xAABB and 0xBBAA: doors 2 and 4 read 2 (open) either way; doors 1
    // and 3 read 3, which means nothing.
    let open = [(2, DoorState::Open), (4, DoorState::Open)];
    assert_eq!(synthetic.states[0].doors, open);
    assert_eq!(
        synthetic.states[0].time,
        Some(date(2026, 8, 20).at(9, 0, 0, 0))
    );
    let one = upload(Table::RtState, "rtstate_door.txt");
    assert_eq!(one.states[0].doors, [(1, DoorState::Open)]);
    // 0x0201 as one number: door 1 closed; byte-reversed 0x0102: door 1
    // open. They disagree on door 1 and agree on no door.
    assert_eq!(parse_rtstate("sensor=0201").unwrap().doors, []);
    assert_eq!(
        parse_rtstate("sensor=1").unwrap().doors,
        [(1, DoorState::Closed)]
    );
    assert_eq!(parse_rtstate("relay=00"), None);
}

#[test]
fn uploads_are_bounded() {
    let flood = "x\n".repeat(MAX_LINES + 1);
    assert_eq!(
        parse_upload(Table::RtLog, flood.as_bytes()),
        Err(TooManyLines)
    );
    let long = format!("1001\t2026-12-24 07:58:03{}", "\t0".repeat(MAX_LINE));
    let up = parse_upload(Table::AttLog, long.as_bytes()).unwrap();
    assert_eq!((up.lines, up.bad, up.records.len()), (1, 1, 0));
    let blank = "\n\r\n   \n\t\n".repeat(1000);
    assert_eq!(
        parse_upload(Table::AttLog, blank.as_bytes()).unwrap().lines,
        0
    );
}

#[test]
fn times_are_read_exactly_as_written_or_not_at_all() {
    assert_eq!(
        local_time("2026-12-24 07:58:03"),
        Some(date(2026, 12, 24).at(7, 58, 3, 0))
    );
    for bad in [
        "2026-02-30 00:00:00",
        "2026-1-1 0:0:0",
        "2026-12-24T07:58:03",
        "2026-12-24 24:00:00",
        "+026-12-24 07:58:03",
        "2026-12-24 07:58",
        "",
    ] {
        assert_eq!(local_time(bad), None, "{bad}");
    }
}

#[test]
fn time_zone_is_in_hours_or_minutes_as_the_spec_says() {
    let tz = |h: i32, m: i32| time_zone(Offset::from_seconds(h * 3600 + m * 60).unwrap());
    assert_eq!(tz(7, 0), Some(7));
    assert_eq!(tz(9, 0), Some(9));
    assert_eq!(tz(0, 0), Some(0));
    assert_eq!(tz(-11, 0), Some(-11));
    assert_eq!(tz(5, 30), Some(330));
    assert_eq!(tz(-9, -30), Some(-570));
    assert_eq!(tz(12, 0), Some(720));
    assert_eq!(tz(-12, 0), Some(-720));
    assert_eq!(tz(13, 45), Some(825));
    assert_eq!(tz(0, 30), None);
}

#[test]
fn the_options_block_matches_the_golden_file() {
    let wib = Offset::from_seconds(7 * 3600).unwrap();
    let reply = options_reply("CKJX201960001", &Stamps::default(), Some(wib));
    assert_eq!(reply, read("zkteco", "options_reply.txt"));
    let stamps = Stamps {
        attlog: Some("1735000000".into()),
        operlog: None,
    };
    let reply = options_reply("CKJX201960001", &stamps, Some(wib));
    assert!(reply.contains("\nATTLOGStamp=1735000000\nOPERLOGStamp=None\n"));
}

#[test]
fn queries_decode_and_take_the_first_value() {
    let q = Query::parse(&read("zkteco", "handshake_pushver.txt"));
    assert_eq!(q.get("SN"), Some("CKJX201960001"));
    assert_eq!(q.get("language"), Some("73"));
    let q = Query::parse(&read("zkteco", "handshake_no_pushver.txt"));
    assert_eq!(
        (q.get("sn"), q.get("pushver")),
        (Some("CKJX201960001"), None)
    );
    let q = Query::parse("SN=A%42C&SN=other&table=rt%6Cog&x=%zz%4&y=a+b");
    assert_eq!(q.get("SN"), Some("ABC"));
    assert_eq!(q.get("table"), Some("rtlog"));
    assert_eq!((q.get("x"), q.get("y")), (Some("%zz%4"), Some("a b")));
    let flood = format!("SN=1&{}", "a=b&".repeat(10_000));
    assert_eq!(Query::parse(&flood).get("SN"), Some("1"));
}

#[test]
fn stamps_round_trip_through_the_cursor() {
    let s = Stamps {
        attlog: Some("9999".into()),
        operlog: Some("123".into()),
    };
    assert_eq!(s.cursor().as_deref(), Some("attlog:9999 operlog:123"));
    assert_eq!(Stamps::parse("attlog:9999 operlog:123"), s);
    assert_eq!(Stamps::default().cursor(), None);
    let odd = Stamps::parse("attlog:\nTimeZone=0 operlog:12 junk");
    assert_eq!((odd.attlog, odd.operlog.as_deref()), (None, Some("12")));
    assert!(!valid_stamp("1\nRealtime=0") && !valid_stamp("") && valid_stamp("0"));
}

#[test]
fn shown_text_is_escaped_and_bounded() {
    assert_eq!(shown("CKJX\n\u{1b}[31m"), "CKJX\\n\\u{1b}[31m");
    let long = shown(&"A".repeat(10_000));
    assert!(long.len() < 80 && long.ends_with('…'));
}
