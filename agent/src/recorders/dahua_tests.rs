//! Dahua parsing against fixtures written from the Dahua HTTP API document.

use super::*;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../sim/fixtures/dahua/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    text.split_once("\n\n")
        .map_or(text.clone(), |(_, b)| b.to_owned())
}

fn wib() -> TimeZone {
    TimeZone::fixed(jiff::tz::offset(7))
}

#[test]
fn disks_with_errors_are_unhealthy_and_free_space_is_total_minus_used() {
    let disks = parse_disks(&parse_kv(&fixture("storage_error.txt")).unwrap());
    assert_eq!(disks.len(), 2);
    assert_eq!(
        (disks[0].id.as_str(), disks[0].healthy, disks[0].free_bytes),
        ("/dev/sda", true, Some(0))
    );
    assert_eq!(
        (disks[1].status.as_str(), disks[1].healthy),
        ("Error", false)
    );
    assert_eq!(disks[1].free_bytes, Some(2_000_398_934_016 - 12_582_912));
}

#[test]
fn record_modes_by_channel() {
    let kv = parse_kv(&fixture("record_mode.txt")).unwrap();
    assert_eq!(
        [0, 1, 2, 3].map(|i| record_mode(&kv, i)),
        [Some(true), Some(true), Some(false), None]
    );
}

#[test]
fn found_files_give_the_newest_end_in_local_time() {
    let (found, newest) =
        parse_found(&parse_kv(&fixture("find_next.txt")).unwrap(), &wib()).unwrap();
    assert_eq!(found, 2);
    assert_eq!(newest, Some("2018-06-11T00:59:30Z".parse().unwrap()));
    let (none, nothing) =
        parse_found(&parse_kv(&fixture("find_next_none.txt")).unwrap(), &wib()).unwrap();
    assert_eq!((none, nothing), (0, None));
}

#[test]
fn an_error_body_is_the_device_refusing() {
    let e = parse_kv(&fixture("error_bad_request.txt")).unwrap_err();
    assert_eq!(e.to_string(), "recorder says Error: Bad Request!");
    assert!(parse_found(&[], &wib()).is_err());
}

#[test]
fn dates_without_leading_zeros() {
    assert_eq!(
        local("2018-6-11 8:00:00", &wib()),
        Some("2018-06-11T01:00:00Z".parse().unwrap())
    );
    assert_eq!(local("yesterday", &wib()), None);
}
