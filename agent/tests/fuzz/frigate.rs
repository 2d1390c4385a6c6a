//! Frigate JSON: stats, version and recordings on any text, mutated
//! fixtures and any JSON value (beyond the list: the answers come
//! from the NVR as well).

use proptest::prelude::*;
use ronda_agent::recorders::frigate::*;

use super::support::{check, mutated_any};

fn all_parsers(body: &str) -> Result<(), TestCaseError> {
    if let Ok(stats) = parse_stats(body) {
        on_stats(&stats)?;
    }
    if let Ok(v) = parse_version(body) {
        prop_assert!(!v.is_empty() && v.len() <= 64);
    }
    let _ = newest_recording(body);
    Ok(())
}

fn on_stats(stats: &serde_json::Value) -> Result<(), TestCaseError> {
    let _ = camera_fps(stats, "depan");
    // Frigate's clock, if stated, is a time, and later reads of the same
    // stated time never put Frigate's clock back.
    if let Some(t) = stats_time(stats) {
        let first = std::time::Instant::now();
        let (now, seen) = advance(None, t, first);
        prop_assert_eq!(now, t);
        let later = first + std::time::Duration::from_secs(61);
        prop_assert!(advance(Some(seen), t, later).0 >= t);
    }
    let _ = stats_version(stats);
    let unit = storage_unit(stats);
    prop_assert!(unit > 0.0);
    // A mount Frigate measured is healthy, one it does not measure is
    // missing. (Free space is passed on as Frigate states it, even above
    // the total: the agent does not second-guess the NVR's own numbers.)
    if let Some(d) = recordings_disk(stats) {
        prop_assert_eq!(d.healthy, d.capacity_bytes.is_some());
        prop_assert!(d.healthy || d.free_bytes.is_none());
    }
    Ok(())
}

#[test]
fn fuzz_frigate_any_text() {
    check(any::<String>(), |body| all_parsers(&body));
}

#[test]
fn fuzz_frigate_mutated_fixtures() {
    check(
        mutated_any(super::fixtures("frigate"), super::JSON_BRACKETS),
        |body| all_parsers(&body),
    );
}

#[test]
fn fuzz_frigate_any_json() {
    check(super::json_value(), |v| {
        on_stats(&v)?;
        all_parsers(&serde_json::json!([{ "end_time": v }]).to_string())
    });
}
