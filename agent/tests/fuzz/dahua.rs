//! Dahua `key=value` text: the line reader and every parser over its pairs
//! on any text and on mutated fixtures; pairs and device times read back as
//! written.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use proptest::prelude::*;
use ronda_agent::recorders::dahua::*;

use super::support::{check, mutated_any, soup};

/// Disk `State` words of `storageDevice.cgi?action=getDeviceAllInfo`, as
/// the vendor writes them, and whether a disk in that state can record;
/// `IsError` is the status shown for a `Success` disk with a partition in
/// error. Any other word is a disk nobody can vouch for: not healthy.
const DISK_STATE: [(&str, bool); 3] = [("Success", true), ("Error", false), ("IsError", false)];

/// What the table owes a disk in `state`.
fn owed(state: &str) -> bool {
    DISK_STATE.iter().any(|(w, ok)| *w == state && *ok)
}

const BRACKETS: &[(&str, &str)] = &[("[", "]")];

/// Every parser on one body: each answers Ok or a clean error, and what it
/// answers holds together.
fn all_parsers(body: &str, index: usize) -> Result<(), TestCaseError> {
    let _ = find_file_answer(body);
    // A lock is only read from Dahua's own answer, and says a real time.
    if let Some(Some(left)) = parse_lock(body) {
        prop_assert!(!left.is_zero());
    }
    let _ = civil(body);
    let _ = wall_time(body, &TimeZone::UTC);
    let Ok(kv) = parse_kv(body) else {
        return Ok(());
    };
    for (k, v) in &kv {
        prop_assert!(k.trim() == k && v.trim() == v, "untrimmed {:?}={:?}", k, v);
        prop_assert!(!k.contains('\n') && !v.contains('\n'));
    }
    let _ = parse_device_type(&kv);
    let _ = parse_model(&kv);
    if let Ok(firmware) = parse_firmware(&kv) {
        prop_assert!(!firmware.is_empty());
    }
    let _ = parse_time_zone(&kv);
    let _ = parse_overwrite(&kv);
    let _ = parse_current_time(&kv);
    let _ = record_mode(&kv, index);
    if let Ok(disks) = parse_disks(&kv) {
        for d in disks {
            prop_assert_eq!(d.healthy, owed(&d.status), "{}", d.status);
            if let (Some(total), Some(free)) = (d.capacity_bytes, d.free_bytes) {
                prop_assert!(free <= total);
            }
        }
    }
    if let Ok(page) = parse_found(&kv) {
        prop_assert!(page.newest.is_none() || page.found > 0);
    }
    if let Ok(object) = parse_object(&kv) {
        prop_assert!(!object.is_empty() && object.bytes().all(|b| b.is_ascii_digit()));
    }
    Ok(())
}

fn index() -> impl Strategy<Value = usize> {
    prop_oneof![0usize..8, any::<usize>()]
}

#[test]
fn fuzz_dahua_any_text() {
    check(
        (
            prop_oneof![
                any::<String>(),
                soup(r"a-zA-Z0-9.\[\]=:\- \r\n", 300),
                soup(r#"{}":,a-zA-Z0-9\-"#, 200),
            ],
            index(),
        ),
        |(body, i)| all_parsers(&body, i),
    );
}

/// A disk whose `State` is a vendor word (or any other), with or without a
/// partition in error: healthy exactly when the table says it can record.
#[test]
fn fuzz_dahua_disk_state_words() {
    let word = prop_oneof![
        proptest::sample::select(DISK_STATE.map(|(w, _)| w.to_owned()).to_vec()),
        "[a-zA-Z]{1,16}",
    ];
    check((word, any::<bool>()), |(word, error)| {
        let body = format!(
            "list.info[0].Name=/dev/sda\r\nlist.info[0].State={word}\r\n\
             list.info[0].Detail[0].IsError={error}\r\nlist.info[0].Detail[0].TotalBytes=100.000000\r\n"
        );
        let disks = parse_disks(&parse_kv(&body).unwrap()).unwrap();
        prop_assert_eq!(disks.len(), 1);
        prop_assert_eq!(
            disks[0].healthy,
            owed(&word) && !error,
            "{} IsError={}",
            word,
            error
        );
        Ok(())
    });
}

#[test]
fn fuzz_dahua_mutated_fixtures() {
    check(
        (mutated_any(super::fixtures("dahua"), BRACKETS), index()),
        |(body, i)| all_parsers(&body, i),
    );
}

/// `key=value` lines (CRLF, as on the wire) read back as the pairs written,
/// trimmed.
#[test]
fn fuzz_dahua_kv_round_trips() {
    let pair = (
        "[a-zA-Z0-9._\\[\\]]{1,30}",
        "[ -~]{0,40}".prop_map(|v: String| v.trim().to_owned()),
    );
    check(proptest::collection::vec(pair, 0..20), |pairs| {
        let body: String = pairs.iter().map(|(k, v)| format!("{k}={v}\r\n")).collect();
        prop_assert_eq!(parse_kv(&body).ok(), Some(pairs));
        Ok(())
    });
}

fn datetime() -> impl Strategy<Value = DateTime> {
    (1i16..=9999, 1i8..=12, 1i8..=31, 0i8..24, 0i8..60, 0i8..60)
        .prop_filter_map("no such day", |(y, mo, d, h, mi, s)| {
            DateTime::new(y, mo, d, h, mi, s, 0).ok()
        })
}

/// A device time reads back whether the firmware pads it or not, and the
/// search window's URL form holds the same time.
#[test]
fn fuzz_dahua_time_round_trips() {
    check(datetime(), |dt| {
        for format in ["%Y-%m-%d %H:%M:%S", "%Y-%-m-%-d %-H:%-M:%-S"] {
            let text = dt.strftime(format).to_string();
            prop_assert_eq!(civil(&text), Some(dt), "{}", text);
        }
        prop_assert_eq!(civil(&query_time(dt).replace("%20", " ")), Some(dt));
        Ok(())
    });
}
