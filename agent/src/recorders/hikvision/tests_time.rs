//! Hikvision times: the recorder's clock in every shape firmware writes it,
//! and the search-time convention found from the answers.

use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};

use super::*;

use super::tests::{fixture, ts, wib};

/// The device's clock in these tests: 08:00 WIB.
fn now() -> Timestamp {
    ts("2018-06-11T01:00:00Z")
}

fn status(text: &str) -> Stated {
    stated(text).unwrap()
}

// --- the recorder's clock -------------------------------------------------

#[test]
fn a_status_without_offset_takes_the_zone_from_system_time() {
    let system = parse_system_time(&fixture("system_time.xml")).unwrap();
    let clock = resolve(
        parse_status(&fixture("status_local.xml")).unwrap(),
        Some(system),
    )
    .unwrap();
    assert_eq!((clock.now, clock.offset), (now(), Some(wib())));
    assert_eq!(
        clock.note,
        "clock: no offset in currentDeviceTime; zone from System/time (+07:00)"
    );
}

#[test]
fn a_status_z_is_told_wall_clock_or_utc_by_system_time() {
    let system = parse_system_time(&fixture("system_time.xml")).unwrap();
    let wall = resolve(
        parse_status(&fixture("status_wall_z.xml")).unwrap(),
        Some(system),
    )
    .unwrap();
    assert_eq!((wall.now, wall.offset), (now(), Some(wib())));
    assert!(wall.note.contains("Z is the wall clock"), "{}", wall.note);
    let utc = resolve(status("2018-06-11T01:00:01Z"), Some(system)).unwrap();
    assert_eq!(utc.now, ts("2018-06-11T01:00:01Z"));
    assert!(utc.note.contains("in UTC"), "{}", utc.note);
}

#[test]
fn a_zone_string_alone_gives_the_offset_unless_it_has_daylight_saving() {
    let zone_only = |zone: &str| SystemTime {
        local: None,
        zone: posix_zone(zone),
    };
    let clock = resolve(
        status("2018-06-11T08:00:00"),
        Some(zone_only("CST-7:00:00")),
    )
    .unwrap();
    assert_eq!((clock.now, clock.offset), (now(), Some(wib())));
    // Whether daylight saving applies now is not known from the rule alone.
    let dst = "CST-1:00:00DST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00";
    let clock = resolve(status("2018-06-11T08:00:00"), Some(zone_only(dst))).unwrap();
    assert_eq!(clock.offset, None);
    // With localTime's own offset it is known.
    let system = parse_system_time(&fixture("system_time_dst.xml")).unwrap();
    let clock = resolve(status("2022-03-02T17:08:16"), Some(system)).unwrap();
    assert_eq!(clock.offset, Some(Offset::constant(1)));
    assert_eq!(clock.now, ts("2022-03-02T16:08:16Z"));
}

#[test]
fn without_any_zone_ages_stay_on_the_wall_clock_and_no_skew_is_claimed() {
    for text in ["2018-06-11T08:00:00", "2018-06-11T08:00:00Z"] {
        let clock = resolve(status(text), None).unwrap();
        assert_eq!(clock.offset, None, "{text}");
        assert_eq!(clock.now, ts("2018-06-11T08:00:00Z"), "wall frame");
        assert!(clock.note.contains("skew unknown"), "{}", clock.note);
    }
    // A Z with only a zone string cannot say which clock it is.
    let system = SystemTime {
        local: None,
        zone: posix_zone("CST-7:00:00"),
    };
    let clock = resolve(status("2018-06-11T08:00:00Z"), Some(system)).unwrap();
    assert_eq!(clock.offset, None);
}

#[test]
fn posix_zones_are_read_with_their_sign_inverted() {
    let zone = |t: &str| posix_zone(t).map(|z| (z.offset.seconds(), z.dst));
    assert_eq!(zone("CST-7:00:00"), Some((7 * 3600, false)));
    assert_eq!(zone("CST+3:00:00"), Some((-3 * 3600, false)));
    assert_eq!(zone("CST3"), Some((-3 * 3600, false)));
    assert_eq!(zone("CST-5:45:00"), Some((5 * 3600 + 45 * 60, false)));
    assert_eq!(zone("<+07>-7"), Some((7 * 3600, false)));
    assert_eq!(
        zone("\nCST-1:00:00DST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00\n"),
        Some((3600, true))
    );
    for bad in [
        "",
        "CST",
        "-7",
        "CST-99",
        "CST-7:00:00:00",
        "CST-7::00",
        "<CST",
    ] {
        assert_eq!(zone(bad), None, "{bad:?}");
    }
}

// --- the search-time convention -------------------------------------------

/// A channel's newest end as the search wrote it (`…Z`).
fn end(digits: &str) -> Result<Found, ProbeError> {
    Ok(Found {
        newest: Some(stamp(&format!("{digits}Z")).unwrap()),
        complete: true,
    })
}

fn settle(
    memory: &mut Memory,
    at: Timestamp,
    results: &[(&str, Result<Found, ProbeError>)],
) -> (Vec<Ends>, &'static str) {
    let mode = memory.mode(Some(wib()));
    match memory.settle(mode, at, wib(), results) {
        Settled::Done(ends, line) => (ends, line),
        Settled::Redo => panic!("redo"),
    }
}

#[test]
fn a_wall_clock_firmware_is_known_from_one_round() {
    let mut m = Memory::default();
    // 07:59:56 WIB, 4 s ago: read as UTC it would end 7 h in the future.
    let (ends, line) = settle(&mut m, now(), &[("1", end("2018-06-11T07:59:56"))]);
    assert_eq!(line, "search-times: wall clock");
    assert_eq!(ends[0].end, Some(now() - SignedDuration::from_secs(4)));
    assert_eq!(ends[0].other, None);
    assert_eq!(m.mode(Some(wib())), Mode::Known(SearchTimes::Wall));
}

#[test]
fn a_utc_firmware_is_known_once_a_segment_grows() {
    let mut m = Memory::default();
    let (ends, line) = settle(&mut m, now(), &[("1", end("2018-06-11T00:59:56"))]);
    assert_eq!(line, "search-times: not yet known");
    // Both candidates, never one picked: fresh as UTC, 7 h old as wall.
    assert_eq!(ends[0].end, Some(now() - SignedDuration::from_secs(4)));
    assert_eq!(
        ends[0].other,
        Some(now() - SignedDuration::from_secs(4 + 7 * 3600))
    );
    let later = now() + SignedDuration::from_secs(60);
    let (ends, line) = settle(&mut m, later, &[("1", end("2018-06-11T01:00:56"))]);
    assert_eq!(line, "search-times: utc");
    assert_eq!(
        (ends[0].end, ends[0].other),
        (Some(later - SignedDuration::from_secs(4)), None)
    );
}

#[test]
fn a_camera_that_stopped_exactly_offset_ago_is_not_taken_for_a_recording_one() {
    // Wall-clock firmware; the only camera stopped 7 h ago, which its
    // digits put at "now" when read as UTC.
    let mut m = Memory::default();
    for at in [now(), now() + SignedDuration::from_secs(60)] {
        let (ends, line) = settle(&mut m, at, &[("1", end("2018-06-11T01:00:00"))]);
        assert_eq!(line, "search-times: not yet known");
        assert_eq!(ends[0].other, Some(now() - SignedDuration::from_hours(7)));
    }
}

#[test]
fn a_segment_that_appears_supports_the_reading_that_puts_it_now() {
    let mut m = Memory::default();
    let none = Ok(Found {
        newest: None,
        complete: true,
    });
    settle(&mut m, now(), &[("1", none)]);
    let later = now() + SignedDuration::from_secs(60);
    let (_, line) = settle(&mut m, later, &[("1", end("2018-06-11T01:00:50"))]);
    assert_eq!(line, "search-times: utc");
}

#[test]
fn growth_over_a_gap_near_the_offset_is_no_support() {
    let mut m = Memory::default();
    settle(&mut m, now(), &[("1", end("2018-06-11T00:59:56"))]);
    let later = now() + SignedDuration::from_hours(7);
    let (_, line) = settle(&mut m, later, &[("1", end("2018-06-11T07:59:56"))]);
    assert_eq!(line, "search-times: not yet known");
}

#[test]
fn an_incomplete_search_gives_no_support() {
    let mut m = Memory::default();
    let partial = Ok(Found {
        newest: Some(stamp("2018-06-11T00:10:00Z").unwrap()),
        complete: false,
    });
    settle(&mut m, now(), &[("1", partial)]);
    let later = now() + SignedDuration::from_secs(60);
    let (_, line) = settle(&mut m, later, &[("1", end("2018-06-11T01:00:56"))]);
    assert_eq!(line, "search-times: not yet known");
}

#[test]
fn a_known_convention_refuted_by_a_future_segment_is_detected_again() {
    let mut m = Memory::default();
    settle(&mut m, now(), &[("1", end("2018-06-11T00:59:56"))]);
    let later = now() + SignedDuration::from_secs(60);
    settle(&mut m, later, &[("1", end("2018-06-11T01:00:56"))]);
    assert_eq!(m.mode(Some(wib())), Mode::Known(SearchTimes::Utc));
    // The firmware now answers in its wall clock: 7 h ahead as UTC.
    let results = [("1", end("2018-06-11T08:01:56"))];
    assert_eq!(
        m.settle(Mode::Known(SearchTimes::Utc), later, wib(), &results),
        Settled::Redo
    );
    assert_eq!(m.mode(Some(wib())), Mode::Detect);
}

#[test]
fn a_wall_clock_firmware_updated_to_utc_is_noticed() {
    let mut m = Memory::default();
    settle(&mut m, now(), &[("1", end("2018-06-11T07:59:56"))]);
    assert_eq!(m.mode(Some(wib())), Mode::Known(SearchTimes::Wall));
    // After the update the camera records now, written in UTC: read as wall
    // time it is 7 h old, and nothing lies in the future to refute it.
    let results = [("1", end("2018-06-11T00:59:56"))];
    assert_eq!(
        m.settle(Mode::Known(SearchTimes::Wall), now(), wib(), &results),
        Settled::Redo
    );
    // A search window now hours from the UTC footage finds nothing at all:
    // that too is looked at both ways again.
    settle(&mut m, now(), &[("1", end("2018-06-11T07:59:56"))]);
    let nothing = [(
        "1",
        Ok(Found {
            newest: None,
            complete: true,
        }),
    )];
    assert_eq!(
        m.settle(Mode::Known(SearchTimes::Wall), now(), wib(), &nothing),
        Settled::Redo
    );
    // A camera that merely stopped an hour ago keeps what is known.
    settle(&mut m, now(), &[("1", end("2018-06-11T07:59:56"))]);
    let stopped = [
        ("1", end("2018-06-11T07:00:00")),
        ("2", end("2018-06-11T07:59:56")),
    ];
    assert!(matches!(
        m.settle(Mode::Known(SearchTimes::Wall), now(), wib(), &stopped),
        Settled::Done(..)
    ));
}

#[test]
fn segments_in_the_future_under_both_readings_are_no_fact() {
    let mut m = Memory::default();
    let results = [
        ("1", end("2018-06-11T20:00:00")),
        (
            "2",
            Ok(Found {
                newest: None,
                complete: true,
            }),
        ),
        ("3", Err(ProbeError::Device("recorder refused: 4".into()))),
    ];
    let (ends, line) = settle(&mut m, now(), &results);
    assert_eq!(line, "search-times: not yet known");
    assert!(
        ends[0].error.as_deref().unwrap().contains("either reading"),
        "{ends:?}"
    );
    assert_eq!(
        ends[1],
        Ends::default(),
        "nothing found is a fact either way"
    );
    assert!(ends[2]
        .error
        .as_deref()
        .unwrap()
        .starts_with("recording search failed"));
}

#[test]
fn decisions_follow_refutation_then_support() {
    let e = |refuted, supported| Evidence { refuted, supported };
    let (t, f) = (true, false);
    assert_eq!(decide(e([t, f], [f, f])), Some(SearchTimes::Wall));
    assert_eq!(decide(e([f, t], [t, f])), Some(SearchTimes::Utc));
    assert_eq!(decide(e([f, f], [f, t])), Some(SearchTimes::Wall));
    assert_eq!(decide(e([f, f], [t, t])), None);
    assert_eq!(decide(e([f, f], [f, f])), None);
    assert_eq!(decide(e([t, t], [t, t])), None);
}

#[test]
fn a_utc_wall_clock_and_an_unknown_zone_need_no_detection() {
    let mut m = Memory::default();
    assert_eq!(m.mode(Some(Offset::UTC)), Mode::Same);
    let got = m.settle(
        Mode::Same,
        now(),
        Offset::UTC,
        &[("1", end("2018-06-11T00:59:56"))],
    );
    let Settled::Done(ends, line) = got else {
        panic!()
    };
    assert_eq!(line, "search-times: utc (wall clock is UTC)");
    assert_eq!(ends[0].end, Some(now() - SignedDuration::from_secs(4)));
    assert_eq!(m.mode(None), Mode::Blind);
}

#[test]
fn with_the_zone_unknown_only_a_segment_near_the_clock_is_a_fact() {
    let mut m = Memory::default();
    let stale = end("2018-06-11T00:30:00");
    let none = Ok(Found {
        newest: None,
        complete: true,
    });
    let results = [("1", end("2018-06-11T00:59:56")), ("2", stale), ("3", none)];
    let Settled::Done(ends, _) = m.settle(Mode::Blind, now(), Offset::UTC, &results) else {
        panic!()
    };
    assert_eq!(ends[0].end, Some(now() - SignedDuration::from_secs(4)));
    for e in &ends[1..] {
        assert_eq!(e.end, None);
        assert!(
            e.error.as_deref().unwrap().contains("no time zone"),
            "{e:?}"
        );
    }
}

#[test]
fn windows_cover_the_wanted_instants_under_both_readings_while_unknown() {
    let h = SignedDuration::from_hours;
    let text =
        |(a, b): (jiff::civil::DateTime, jiff::civil::DateTime)| (search::text(a), search::text(b));
    let first = |mode| text(spans(mode, now(), wib(), h(1))[0]);
    let both = (
        "2018-06-11T00:00:00Z".to_owned(),
        "2018-06-11T08:05:00Z".to_owned(),
    );
    assert_eq!(first(Mode::Detect), both);
    // Known: from its own reading, and up to past now under both, so that
    // a firmware that changed its mind shows a segment in the future.
    assert_eq!(first(Mode::Known(SearchTimes::Utc)), both);
    assert_eq!(
        first(Mode::Known(SearchTimes::Wall)).0,
        "2018-06-11T07:00:00Z"
    );
    let older = text(spans(Mode::Known(SearchTimes::Wall), now(), wib(), h(4))[1]);
    assert_eq!(
        older,
        ("2018-06-11T04:00:00Z".into(), "2018-06-11T07:00:00Z".into())
    );
}

#[test]
fn the_fixtures_of_either_firmware_are_read_their_own_way() {
    let page = |name| {
        let newest = parse_search(&fixture(name)).unwrap().newest;
        Ok(Found {
            newest,
            complete: true,
        })
    };
    // The same segment, ending 07:59:58 WIB, as each firmware writes it.
    let (ends, line) = settle(
        &mut Memory::default(),
        now(),
        &[("1", page("search_result.xml"))],
    );
    assert_eq!(line, "search-times: wall clock");
    assert_eq!(ends[0].end, Some(ts("2018-06-11T00:59:58Z")));
    let utc = [("1", page("search_result_utc.xml"))];
    let (ends, line) = settle(&mut Memory::default(), now(), &utc);
    assert_eq!(line, "search-times: not yet known");
    assert_eq!(ends[0].end, Some(ts("2018-06-11T00:59:58Z")));
    assert_eq!(ends[0].other, Some(ts("2018-06-10T17:59:58Z")));
}

#[test]
fn a_device_clock_at_the_ends_of_time_is_no_panic() {
    let week = SignedDuration::from_hours(168);
    for at in [Timestamp::MAX, Timestamp::MIN] {
        for mode in [Mode::Detect, Mode::Known(SearchTimes::Wall), Mode::Blind] {
            assert!(!spans(mode, at, wib(), week).is_empty());
        }
        let results = [
            ("1", end("9999-12-31T23:59:59")),
            ("2", end("-009999-01-01T00:00:00")),
        ];
        let mut m = Memory::default();
        for mode in [Mode::Detect, Mode::Blind, Mode::Same] {
            let _ = m.settle(mode, at, wib(), &results);
        }
    }
}
