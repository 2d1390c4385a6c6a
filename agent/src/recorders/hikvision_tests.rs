//! Hikvision parsing against fixtures written from the ISAPI developer guide.

use super::*;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../sim/fixtures/hikvision/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    // Drop the header naming the source document (see sim/src/fixture.rs).
    let body = text.split_once("\n\n").map_or(text.as_str(), |(_, b)| b);
    body.to_owned()
}

fn wib() -> Offset {
    Offset::constant(7)
}

#[test]
fn device_info_gives_model_and_firmware() {
    let (model, firmware) = parse_device_info(&fixture("deviceInfo.xml")).unwrap();
    assert_eq!(model, "DS-7608NI-K2/8P");
    assert_eq!(firmware, "V4.22.005 build 191206");
}

#[test]
fn status_gives_the_clock_and_its_offset() {
    let (t, offset) = parse_status(&fixture("status.xml")).unwrap();
    assert_eq!(t, "2018-06-11T01:00:00Z".parse::<Timestamp>().unwrap());
    assert_eq!(offset, wib());
}

#[test]
fn failed_and_unformatted_disks_are_unhealthy() {
    let disks = parse_storage(&fixture("storage_error.xml")).unwrap();
    let health: Vec<_> = disks
        .iter()
        .map(|d| (d.id.as_str(), d.status.as_str(), d.healthy))
        .collect();
    assert_eq!(
        health,
        [
            ("1", "ok", true),
            ("2", "error", false),
            ("3", "unformatted", false)
        ]
    );
    assert_eq!(disks[0].capacity_bytes, Some(1_907_729 * 1024 * 1024));
    assert_eq!(
        disks[0].free_bytes,
        Some(0),
        "a full disk in overwrite mode is still healthy"
    );
}

#[test]
fn tracks_say_which_channels_record_and_whether_they_overwrite() {
    let tracks = parse_tracks(&fixture("tracks.xml")).unwrap();
    assert_eq!(
        tracks.iter().map(|t| (t.id, t.enabled)).collect::<Vec<_>>(),
        [(101, true), (201, false)]
    );
    assert_eq!(overwrite(&tracks), Some(true));
    assert_eq!(overwrite(&[]), None);
}

#[test]
fn unknown_detect_results_leave_online_to_the_device() {
    let links = parse_channel_status(&fixture("channels_status.xml")).unwrap();
    let online: Vec<_> = links.iter().map(|l| (l.id.as_str(), l.online)).collect();
    assert_eq!(
        online,
        [("1", Some(true)), ("2", Some(false)), ("3", Some(true))]
    );
}

#[test]
fn search_reads_the_newest_end_in_device_time_in_either_namespace() {
    let r = parse_search(&fixture("search_result_hikvision_ns.xml"), wib()).unwrap();
    // 07:59:40 on the WIB wall clock is 00:59:40 UTC.
    assert_eq!(r.newest, Some("2018-06-11T00:59:40Z".parse().unwrap()));
    assert!(r.more, "MORE means another page");
    let none = parse_search(&fixture("search_no_match.xml"), wib()).unwrap();
    assert_eq!(
        none,
        SearchResult {
            newest: None,
            more: false
        }
    );
}

#[test]
fn a_truncated_answer_is_a_parse_error() {
    let e = parse_search(&fixture("search_result_truncated.xml"), wib()).unwrap_err();
    assert!(matches!(e, ProbeError::Parse(_)), "{e:?}");
}

#[test]
fn search_requests_use_the_vendor_spelling_and_device_wall_clock() {
    let t: Timestamp = "2018-06-11T01:00:00Z".parse().unwrap();
    assert_eq!(wall(t, wib()), "2018-06-11T08:00:00Z");
    let body = search_request(101, "a", "b", 50);
    assert!(
        body.contains("<searchResultPostion>50</searchResultPostion>"),
        "{body}"
    );
    assert!(body.contains("<trackID>101</trackID>"));
}

#[test]
fn times_with_their_own_offset_are_taken_as_written() {
    let t = device_time("2018-06-11T08:00:00+07:00", Offset::UTC).unwrap();
    assert_eq!(t, "2018-06-11T01:00:00Z".parse::<Timestamp>().unwrap());
}
