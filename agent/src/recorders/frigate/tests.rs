//! Frigate parsing against every fixture written from the Frigate source
//! (`sim/fixtures/frigate/`), including the odd and bad cases.

use serde_json::json;

use super::*;

fn fixture(name: &str) -> String {
    crate::fixture::read("frigate", name)
}

const MIB: u64 = 1_048_576;

#[test]
fn cameras_capturing_at_zero_fps_and_missing() {
    let stats = parse_stats(&fixture("stats.json")).unwrap();
    assert_eq!(camera_fps(&stats, "depan"), Some(5.1));
    assert_eq!(camera_fps(&stats, "gerbang"), Some(5.0));
    assert_eq!(
        camera_fps(&stats, "halaman"),
        Some(0.0),
        "stream lost: listed at 0 fps"
    );
    assert_eq!(camera_fps(&stats, "gudang"), None, "not in the stats");
    assert_eq!(
        camera_fps(&stats, "service"),
        None,
        "0.13+ cameras are only under `cameras`"
    );
}

#[test]
fn the_recordings_mount_in_mib_since_0_13() {
    let stats = parse_stats(&fixture("stats.json")).unwrap();
    assert_eq!(stats_version(&stats), Some("0.14.1-f4f3cfa"));
    let disk = recordings_disk(&stats).unwrap();
    assert_eq!(
        (disk.id.as_str(), disk.status.as_str(), disk.healthy),
        ("/media/frigate/recordings", "ext4", true)
    );
    // 953861.7 MiB and 393241.5 MiB, rounded to bytes.
    assert_eq!(disk.capacity_bytes, Some(953_861 * MIB + 734_003));
    assert_eq!(disk.free_bytes, Some(393_241 * MIB + MIB / 2));
}

#[test]
fn frigate_0_12_puts_cameras_at_the_top_and_counts_mb() {
    let stats = parse_stats(&fixture("stats_0_12.json")).unwrap();
    assert_eq!(camera_fps(&stats, "depan"), Some(5.1));
    assert_eq!(camera_fps(&stats, "halaman"), Some(0.0));
    assert_eq!(camera_fps(&stats, "gudang"), None);
    let disk = recordings_disk(&stats).unwrap();
    assert_eq!(disk.capacity_bytes, Some(1_000_202_300_000));
    assert_eq!(disk.free_bytes, Some(412_343_500_000));
    // Without a version the 0.12 shape alone says MB.
    let shape = json!({"depan": {"camera_fps": 5.0}, "service": {"storage": {
        RECORDINGS_MOUNT: {"total": 2.0, "free": 1.0, "used": 1.0}}}});
    assert_eq!(
        recordings_disk(&shape).unwrap().capacity_bytes,
        Some(2_000_000)
    );
}

#[test]
fn a_missing_recordings_mount_is_an_unhealthy_disk() {
    // 0.13+ lists a path it cannot measure as `{}`.
    let empty = json!({"cameras": {}, "service": {"version": "0.14.1-f4f3cfa",
        "storage": {RECORDINGS_MOUNT: {}, "/tmp/cache": {"total": 1000.0, "free": 990.1}}}});
    let disk = recordings_disk(&empty).unwrap();
    assert_eq!((disk.status.as_str(), disk.healthy), ("missing", false));
    assert_eq!((disk.capacity_bytes, disk.free_bytes), (None, None));
    let no_free = json!({"cameras": {}, "service": {"version": "0.14.1-f4f3cfa",
        "storage": {RECORDINGS_MOUNT: {"total": 10.0, "used": 4.0}}}});
    assert_eq!(recordings_disk(&no_free).unwrap().free_bytes, Some(6 * MIB));
    let absent = json!({"cameras": {}, "service": {"storage": {}}});
    assert!(!recordings_disk(&absent).unwrap().healthy);
    assert_eq!(
        recordings_disk(&json!({"cameras": {}})),
        None,
        "no storage: no opinion"
    );
}

#[test]
fn truncated_or_odd_stats_are_parse_errors() {
    let e = parse_stats(&fixture("stats_truncated.json")).unwrap_err();
    assert!(matches!(e, ProbeError::Parse(_)), "{e:?}");
    assert!(parse_stats("[]").is_err());
    assert!(parse_stats("<html>502 Bad Gateway</html>").is_err());
}

#[test]
fn the_version_is_plain_text() {
    assert_eq!(
        parse_version(&fixture("version.txt")).unwrap(),
        "0.14.1-f4f3cfa"
    );
    assert_eq!(parse_version("0.14.1-f4f3cfa\n").unwrap(), "0.14.1-f4f3cfa");
    for bad in ["", "<html><body>Bad Gateway</body></html>", "{\"v\":1}"] {
        assert!(parse_version(bad).is_err(), "{bad}");
    }
}

#[test]
fn the_newest_recording_is_the_latest_end() {
    let t = newest_recording(&fixture("recordings.json")).unwrap();
    assert_eq!(
        t,
        Some(Timestamp::from_millisecond(1_528_678_790_020).unwrap())
    );
    // Order does not matter, only the latest end.
    let reversed = r#"[{"end_time":1528678790.0,"start_time":1528678780.0},{"end_time":1528678780.0,"start_time":1528678770.0}]"#;
    assert_eq!(
        newest_recording(reversed).unwrap(),
        Some(Timestamp::from_second(1_528_678_790).unwrap())
    );
}

#[test]
fn no_recording_in_the_window() {
    assert_eq!(
        newest_recording(&fixture("recordings_empty.json")).unwrap(),
        None
    );
}

#[test]
fn truncated_or_odd_recordings_are_parse_errors() {
    let e = newest_recording(&fixture("recordings_truncated.json")).unwrap_err();
    assert!(matches!(e, ProbeError::Parse(_)), "{e:?}");
    assert!(newest_recording("{\"success\":false}").is_err());
    assert!(newest_recording("[{\"start_time\":1528678780.0}]").is_err());
}

#[test]
fn windows_walk_back_from_now_within_the_lookback() {
    let m = SignedDuration::from_mins;
    assert_eq!(windows(m(5)), [(m(5), m(0))]);
    assert_eq!(
        windows(m(130)),
        [(m(10), m(0)), (m(70), m(10)), (m(130), m(70))]
    );
    let day = windows(SignedDuration::from_hours(24));
    assert_eq!(day.len(), MAX_REQUESTS);
    assert_eq!(day[MAX_REQUESTS - 1], (m(430), m(370)));
}

#[test]
fn camera_names_stay_one_path_segment() {
    assert_eq!(path_segment("depan"), "depan");
    assert_eq!(path_segment("pos_satpam-2"), "pos_satpam-2");
    assert_eq!(path_segment("a/../b c"), "a%2F..%2Fb%20c");
}

/// Issue 17 point 8: Frigate's clock is the stats' `last_updated`; stats
/// without it give no clock, so that no age is claimed.
#[test]
fn the_stats_time_is_frigates_clock() {
    let t: Timestamp = "2018-06-11T01:00:00Z".parse().unwrap();
    for name in ["stats.json", "stats_0_12.json"] {
        let stats = parse_stats(&fixture(name)).unwrap();
        assert_eq!(stats_time(&stats), Some(t), "{name}");
    }
    let frac = json!({"service": {"last_updated": 1528678800.5}});
    assert_eq!(
        stats_time(&frac),
        Some(t + jiff::SignedDuration::from_millis(500))
    );
    for none in [
        json!({"service": {}}),
        json!({"service": {"last_updated": "soon"}}),
        json!({"service": {"last_updated": -1}}),
        json!({"service": {"last_updated": 1e300}}),
    ] {
        assert_eq!(stats_time(&none), None, "{none}");
    }
}
