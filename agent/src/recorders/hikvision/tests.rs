//! Hikvision parsing against every fixture under `sim/fixtures/hikvision/`,
//! each written from the ISAPI developer guide.

use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};

use super::*;

pub(super) fn fixture(name: &str) -> String {
    crate::fixture::read("hikvision", name)
}

pub(super) fn wib() -> Offset {
    Offset::constant(7)
}

pub(super) fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// A search end as written, with `Z` or without an offset.
fn civil(text: &str) -> Stamp {
    Stamp {
        civil: text.parse().unwrap(),
        exact: false,
    }
}

#[test]
fn device_info_gives_model_and_firmware() {
    let (model, firmware) = parse_device_info(&fixture("deviceInfo.xml")).unwrap();
    assert_eq!(model, "DS-7608NI-K2/8P");
    assert_eq!(firmware, "V4.22.005 build 191206");
}

#[test]
fn status_gives_the_clock_and_its_offset() {
    let status = parse_status(&fixture("status.xml")).unwrap();
    assert_eq!(status.suffix, Suffix::Offset(wib()));
    let clock = resolve(status, None).unwrap();
    assert_eq!(clock.now, ts("2018-06-11T01:00:00Z"));
    assert_eq!(clock.offset, Some(wib()));
}

#[test]
fn an_unreadable_clock_is_a_parse_error() {
    let e =
        parse_status("<DeviceStatus><currentDeviceTime>soon</currentDeviceTime></DeviceStatus>");
    assert!(matches!(e, Err(ProbeError::Parse(_))), "{e:?}");
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
    assert_eq!(disks[0].free_bytes, Some(0));
    // A failed disk reads 0 free: still a failed disk, not a full one.
    assert_eq!(disks[1].free_bytes, Some(0));
}

#[test]
fn only_good_disks_at_rest_join_ok_among_the_isapi_disk_states() {
    // The ISAPI `hdd/status` enumeration, and `sleeping` from NVR power saving.
    let states = [
        ("ok", true),
        ("idle", true),
        ("sleeping", true),
        ("unformatted", false),
        ("error", false),
        ("mismatch", false),
        ("offline", false),
        ("smartFailed", false),
        ("reparing", false),
        ("formating", false),
        ("notexist", false),
        ("unRecordHostFormatted", false),
        ("unformated", false),
    ];
    let disks = parse_storage(&fixture("storage_states.xml")).unwrap();
    let got: Vec<_> = disks
        .iter()
        .map(|d| (d.status.as_str(), d.healthy))
        .collect();
    assert_eq!(got, states);
}

#[test]
fn a_new_unformatted_disk_is_unhealthy() {
    let disks = parse_storage(&fixture("storage_unformatted.xml")).unwrap();
    assert_eq!(disks.len(), 1);
    assert_eq!(disks[0].status, "unformatted");
    assert!(!disks[0].healthy);
    assert_eq!(disks[0].capacity_bytes, Some(3_815_447 * 1024 * 1024));
}

#[test]
fn a_truncated_storage_answer_is_a_parse_error() {
    let full = fixture("storage_error.xml");
    let e = parse_storage(&full[..full.len() / 2]).unwrap_err();
    assert!(matches!(e, ProbeError::Parse(_)), "{e:?}");
}

#[test]
fn sleeping_disks_are_healthy_and_unknown_words_are_not() {
    let hdd = |id: &str, status: &str| {
        format!("<hdd><id>{id}</id><status>{status}</status><capacity>10</capacity></hdd>")
    };
    let body = format!(
        "<storage xmlns=\"http://www.std-cgi.com/ver20/XMLSchema\"><hddList>{}{}{}</hddList></storage>",
        hdd("1", "idle"),
        hdd("2", "sleeping"),
        hdd("3", "smartFailed")
    );
    let disks = parse_storage(&body).unwrap();
    let healthy: Vec<_> = disks.iter().map(|d| d.healthy).collect();
    assert_eq!(healthy, [true, true, false]);
    assert_eq!(disks[0].capacity_bytes, Some(10 << 20));
    assert_eq!(
        disks[0].free_bytes, None,
        "a missing freeSpace stays unknown"
    );
}

#[test]
fn tracks_say_which_channels_record_and_whether_they_overwrite() {
    let tracks = parse_tracks(&fixture("tracks.xml")).unwrap();
    assert_eq!(
        tracks.iter().map(|t| (t.id, t.enabled)).collect::<Vec<_>>(),
        [
            (101, true),
            (201, false),
            (301, true),
            (401, true),
            (501, true),
            (601, true),
            (701, true),
            (801, true)
        ]
    );
    assert_eq!(tracks_overwrite(&tracks), Some(true));
    assert_eq!(tracks_overwrite(&[]), None);
}

#[test]
fn tracks_without_loop_enable_leave_overwrite_unknown() {
    let tracks = parse_tracks(&fixture("tracks_no_loop.xml")).unwrap();
    assert_eq!(
        tracks.iter().map(|t| (t.id, t.enabled)).collect::<Vec<_>>(),
        [(101, true), (201, false)]
    );
    assert_eq!(tracks_overwrite(&tracks), None);
}

#[test]
fn unknown_detect_results_leave_online_to_the_device() {
    let links = parse_channel_status(&fixture("channels_status.xml")).unwrap();
    let online: Vec<_> = links.iter().map(|l| (l.id.as_str(), l.online)).collect();
    let mut want: Vec<(&str, Option<bool>)> = ["1", "2", "3", "4", "5", "6", "7", "8"]
        .map(|id| (id, Some(true)))
        .to_vec();
    want[1].1 = Some(false);
    assert_eq!(online, want);
}

#[test]
fn overwrite_is_the_storage_extension_setting() {
    assert_eq!(
        parse_storage_extension(&fixture("storage_extension.xml")).unwrap(),
        [true]
    );
    assert_eq!(
        parse_storage_extension(&fixture("storage_extension_no_overwrite.xml")).unwrap(),
        [false]
    );
    assert_eq!(
        parse_storage_extension("<storageExtension/>").unwrap(),
        Vec::<bool>::new()
    );
}

#[test]
fn search_reads_the_newest_end_as_written() {
    let page = parse_search(&fixture("search_result_hikvision_ns.xml")).unwrap();
    // The digits only: whether `Z` means UTC or the wall clock is the
    // firmware's convention, found per device. (This test used to read
    // every `Z` as the wall clock: the defect of issue 17, point 2.)
    assert_eq!(page.newest, Some(civil("2018-06-11T07:59:40")));
    assert_eq!(page.matches, 2);
    assert!(page.more, "MORE means another page");
}

#[test]
fn the_last_page_in_the_std_cgi_namespace_reads_alike() {
    let page = parse_search(&fixture("search_result_std_ns.xml")).unwrap();
    assert_eq!(page.newest, Some(civil("2018-06-11T08:00:05")));
    assert_eq!((page.matches, page.more), (1, false));
}

#[test]
fn both_namespaces_read_alike() {
    let hik = fixture("search_result_hikvision_ns.xml");
    let std = hik.replace("www.hikvision.com/ver20", "www.std-cgi.com/ver20");
    assert_ne!(hik, std);
    assert_eq!(parse_search(&hik), parse_search(&std));
}

#[test]
fn no_match_is_no_segment() {
    let page = parse_search(&fixture("search_no_match.xml")).unwrap();
    assert_eq!(
        page,
        SearchPage {
            newest: None,
            matches: 0,
            more: false
        }
    );
}

#[test]
fn a_truncated_answer_is_a_parse_error() {
    let e = parse_search(&fixture("search_result_truncated.xml")).unwrap_err();
    assert!(matches!(e, ProbeError::Parse(_)), "{e:?}");
}

#[test]
fn a_response_status_to_a_search_is_the_device_refusing() {
    let e = parse_search(&fixture("response_status_not_found.xml")).unwrap_err();
    assert_eq!(
        e,
        ProbeError::Device("recorder refused: 4 Invalid Operation (notSupport)".into())
    );
}

#[test]
fn search_requests_use_the_vendor_spelling_and_either_clock() {
    let t = ts("2018-06-11T01:00:00Z");
    assert_eq!(
        text(SearchTimes::Wall.digits(t, wib())),
        "2018-06-11T08:00:00Z"
    );
    assert_eq!(
        text(SearchTimes::Utc.digits(t, wib())),
        "2018-06-11T01:00:00Z"
    );
    let body = search_request("{X}", 101, "a", "b", 50);
    assert!(
        body.contains("<searchResultPostion>50</searchResultPostion>"),
        "{body}"
    );
    assert!(body.contains("<trackID>101</trackID>"), "{body}");
    assert!(body.contains("<searchID>{X}</searchID>"), "{body}");
    crate::xml::parse(&body).unwrap();
}

#[test]
fn search_times_with_their_own_offset_are_instants() {
    let s = stamp("2018-06-11T08:00:00+07:00").unwrap();
    assert_eq!(
        s,
        Stamp {
            civil: "2018-06-11T01:00:00".parse().unwrap(),
            exact: true
        }
    );
    for r in [SearchTimes::Utc, SearchTimes::Wall] {
        assert_eq!(r.read(s, wib()), Some(ts("2018-06-11T01:00:00Z")), "{r:?}");
    }
    let z = stamp("2018-06-11T08:00:00Z").unwrap();
    assert_eq!(
        SearchTimes::Wall.read(z, wib()),
        Some(ts("2018-06-11T01:00:00Z"))
    );
    assert_eq!(
        SearchTimes::Utc.read(z, wib()),
        Some(ts("2018-06-11T08:00:00Z"))
    );
    assert!(matches!(stamp("08:00"), Err(ProbeError::Parse(_))));
}

#[test]
fn the_lookback_is_searched_newest_window_first() {
    let h = SignedDuration::from_hours;
    assert_eq!(windows(h(1)), [(h(1), h(0))]);
    assert_eq!(
        windows(SignedDuration::from_mins(10)),
        [(SignedDuration::from_mins(10), h(0))]
    );
    assert_eq!(
        windows(h(168)),
        [
            (h(1), h(0)),
            (h(4), h(1)),
            (h(16), h(4)),
            (h(64), h(16)),
            (h(168), h(64))
        ]
    );
}

/// Found by `fuzz_hikvision_mutated_fixtures`: a few hundred nested
/// elements overflowed the stack inside roxmltree and aborted the process.
#[test]
fn a_deeply_nested_answer_is_a_parse_error_not_a_crash() {
    let deep = fixture("status.xml").replace(
        "<currentDeviceTime>",
        &("<a>".repeat(100_000) + "<currentDeviceTime>"),
    );
    let e = parse_status(&deep).unwrap_err();
    assert!(e.to_string().contains("nested deeper"), "{e}");
}

#[test]
fn a_locked_account_answer_gives_the_time_left() {
    assert_eq!(
        read_lock(&fixture("user_check_locked.xml")),
        Some(Some(std::time::Duration::from_secs(1800)))
    );
    let no_time = "<userCheck><lockStatus>lock</lockStatus></userCheck>";
    assert_eq!(read_lock(no_time), Some(None));
    let huge = "<userCheck><lockStatus>lock</lockStatus><unlockTime>99999999999999</unlockTime></userCheck>";
    assert_eq!(read_lock(huge), Some(Some(MAX_LOCK)));
}

#[test]
fn a_wrong_password_or_another_refusal_is_no_lock() {
    assert_eq!(read_lock(&fixture("user_check_wrong_password.xml")), None);
    assert_eq!(read_lock(&fixture("response_status_not_found.xml")), None);
    assert_eq!(
        read_lock(
            "<!DOCTYPE html><html><body><h2>Access Error: 401 -- Unauthorized</h2></body></html>"
        ),
        None
    );
    assert_eq!(read_lock(""), None);
}
