//! The agent's Hikvision adapter against every firmware time variant of the
//! simulated NVR (issue 17 points 2 and 8): search times in UTC or in the
//! wall clock, `currentDeviceTime` with or without its offset, and device
//! clocks far from true time. No round may say anything false.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::nvr::*;
use jiff::{SignedDuration, Timestamp};
use ronda_sim::state::{SearchClock, TimeFormat};

/// Ten minutes: a letter's usual "has recorded in the last …".
const FRESH_S: u64 = 600;

/// What a report lets the policy say about a channel: fresh only when every
/// candidate age is, stale only when every one is ("did not record"
/// included); `None` when they disagree or it could not be read.
fn verdict(ch: &ronda_wire::Channel) -> Option<bool> {
    if ch.error.is_some() {
        return None;
    }
    let ages = [ch.segment_age_s, ch.segment_age_other_s];
    let fresh = |a: Option<u64>| a.is_some_and(|a| a <= FRESH_S);
    match (ch.segment_age_s, ch.segment_age_other_s) {
        (None, None) => Some(false),
        _ if ages.iter().flatten().all(|a| *a <= FRESH_S) => Some(true),
        _ if !ages.iter().any(|a| fresh(*a)) => Some(false),
        _ => None,
    }
}

/// Probe an NVR whose channels `recording` record now and the others
/// stopped two hours ago, over rounds a minute apart on its clock: no
/// round says anything false, and from the second round on each age is the
/// device's own, within a few seconds. Returns the last `search-times`.
async fn ages_are_right(nvr: &Nvr, recording: &[&str], case: &str) -> String {
    let stopped_at = whole_second(nvr.device_now()) - SignedDuration::from_hours(2);
    nvr.change(|s| {
        let ids: Vec<String> = s.channels.iter().map(|c| c.id.clone()).collect();
        for id in ids.iter().filter(|id| !recording.contains(&id.as_str())) {
            stop(s, id, Timestamp::now() - SignedDuration::from_hours(2));
        }
    });
    let mut line = String::new();
    for round in 1..=3 {
        let r = nvr.report().await;
        let now = nvr.device_now();
        assert!(r.reachable, "{case}: {r:?}");
        for ch in &r.channels {
            let records = recording.contains(&ch.id.as_str());
            let v = verdict(ch);
            assert_ne!(
                v,
                Some(!records),
                "{case}, round {round}: a false fact: {ch:?}"
            );
            if round < 2 {
                continue;
            }
            let want = if records {
                4
            } else {
                now.duration_since(stopped_at).as_secs()
            };
            let got = ch.segment_age_s.map(|a| i64::try_from(a).unwrap());
            assert!(
                got.is_some_and(|a| (a - want).abs() <= 5),
                "{case}, round {round}: age {got:?}, want {want}: {ch:?}"
            );
        }
        line = r
            .detected
            .iter()
            .find(|d| d.starts_with("search-times"))
            .unwrap()
            .clone();
        nvr.change(|s| s.clock_skew_s += 60);
    }
    line
}

const SIX_HOURS: Duration = Duration::from_secs(6 * 3600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_firmware_time_variant_gives_the_recorders_own_ages() {
    let formats = [TimeFormat::Offset, TimeFormat::WallZ, TimeFormat::Local];
    let fault_cases: [&[&str]; 3] = [&["1", "2", "3", "4"], &[], &["1"]];
    for clock in [SearchClock::Wall, SearchClock::Utc] {
        for format in formats {
            for recording in fault_cases {
                let case = format!("{clock:?} search, {format:?} status, recording {recording:?}");
                let nvr = Nvr::start_with(PASSWORD, Duration::from_secs(3), SIX_HOURS, |s| {
                    (s.search_clock, s.time_format) = (clock, format);
                })
                .await;
                let line = ages_are_right(&nvr, recording, &case).await;
                let right = match clock {
                    SearchClock::Wall => "search-times: wall clock",
                    SearchClock::Utc => "search-times: utc",
                };
                // Only NVRs with no camera recording may leave it open, and
                // then only when the wrong reading is never refuted.
                if recording.is_empty() && clock == SearchClock::Utc {
                    assert!(
                        line == right || line.contains("not yet known"),
                        "{case}: {line}"
                    );
                } else {
                    assert_eq!(line, right, "{case}");
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_clock_far_from_true_time_still_gives_the_right_ages() {
    for skew in [7 * 3600, -86_400, 2 * 3600] {
        for clock in [SearchClock::Wall, SearchClock::Utc] {
            let case = format!("clock {skew:+} s, {clock:?} search");
            let nvr = Nvr::start_with(PASSWORD, Duration::from_secs(3), SIX_HOURS, |s| {
                (s.clock_skew_s, s.search_clock) = (skew, clock);
            })
            .await;
            ages_are_right(&nvr, &["1", "3"], &case).await;
            let r = nvr.report().await;
            let told = r.clock_skew_s.unwrap();
            assert!((told - skew - 180).abs() <= 3, "{case}: skew {told}");
        }
    }
}
