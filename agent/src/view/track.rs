//! What the agent remembers of one channel between samples: its last
//! samples for the report, how long its snapshot bytes have stayed the
//! same, and the device's clock at the previous sample.

use std::collections::VecDeque;
use std::hash::{DefaultHasher, Hasher};
use std::time::Instant;

use jiff::Timestamp;
use ronda_wire::{View, ViewEvent, ViewSample, ViewStats, VIEW_SAMPLES};

/// One channel's memory.
#[derive(Debug, Default)]
pub struct Track {
    /// Newest first, at most [`VIEW_SAMPLES`].
    samples: VecDeque<ViewSample>,
    same: Option<Same>,
    /// The device's clock at the last sample that read it.
    clock: Option<Timestamp>,
}

/// Since when the snapshot has had these bytes.
#[derive(Debug, Clone, Copy)]
struct Same {
    hash: u64,
    since: Instant,
    since_device: Option<Timestamp>,
}

/// What one sample saw, before the track adds its memory to it.
#[derive(Debug, Default)]
pub struct Seen {
    pub events: Vec<ViewEvent>,
    /// The numbers and the hash of the JPEG bytes, or why there are none.
    pub picture: Option<Result<(ViewStats, u64), String>>,
    /// The device's clock at this sample, when it tells it.
    pub clock: Option<Timestamp>,
}

impl Track {
    /// Add a sample taken at `at` (agent clock) and `now` (monotonic).
    pub fn push(&mut self, seen: Seen, at: Timestamp, now: Instant) {
        let clock_advanced = match (self.clock, seen.clock) {
            (Some(before), Some(then)) => Some(then > before),
            _ => None,
        };
        if seen.clock.is_some() {
            self.clock = seen.clock;
        }
        let (stats, error, unchanged_s) = match seen.picture {
            Some(Ok((stats, hash))) => {
                let same = self.unchanged(hash, seen.clock, now);
                (Some(stats), None, Some(same))
            }
            Some(Err(e)) => (None, Some(e), None),
            None => (None, None, None),
        };
        self.samples.push_front(ViewSample {
            at,
            events: seen.events,
            stats,
            error,
            unchanged_s,
            clock_advanced,
        });
        self.samples.truncate(VIEW_SAMPLES);
    }

    /// Seconds the bytes hashing to `hash` have come back, on the device's
    /// clock when it told it both times, else on the agent's monotonic one.
    /// 0 when they changed (or are new).
    fn unchanged(&mut self, hash: u64, device: Option<Timestamp>, now: Instant) -> u64 {
        match self.same {
            Some(s) if s.hash == hash => match (s.since_device, device) {
                (Some(a), Some(b)) => u64::try_from(b.duration_since(a).as_secs()).unwrap_or(0),
                _ => now.saturating_duration_since(s.since).as_secs(),
            },
            _ => {
                self.same = Some(Same {
                    hash,
                    since: now,
                    since_device: device,
                });
                0
            }
        }
    }

    /// The samples for the report; `None` before the first.
    pub fn view(&self) -> Option<View> {
        (!self.samples.is_empty()).then(|| View {
            samples: self.samples.iter().cloned().collect(),
        })
    }
}

/// A 64-bit hash of a snapshot's bytes, to tell a repeated picture. Not
/// kept beyond the agent's run, so the std hasher's fixed keys do.
pub fn bytes_hash(jpeg: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    h.write(jpeg);
    h.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::Duration;

    use super::*;

    fn seen(hash: u64, clock: Option<&str>) -> Seen {
        Seen {
            events: vec![],
            picture: Some(Ok((ViewStats::default(), hash))),
            clock: clock.map(|c| c.parse().unwrap()),
        }
    }

    #[test]
    fn the_same_bytes_count_up_on_the_device_clock() {
        let (mut t, t0, at) = (Track::default(), Instant::now(), Timestamp::now());
        t.push(seen(7, Some("2026-12-24T01:00:00Z")), at, t0);
        // The agent's clock says 5 s, the device's 20 minutes: the device's counts.
        t.push(
            seen(7, Some("2026-12-24T01:20:00Z")),
            at,
            t0 + Duration::from_secs(5),
        );
        let v = t.view().unwrap();
        assert_eq!(v.samples[0].unchanged_s, Some(1200));
        assert_eq!(v.samples[0].clock_advanced, Some(true));
        assert_eq!(v.samples[1].unchanged_s, Some(0));
        assert_eq!(v.samples[1].clock_advanced, None, "no previous clock");
        // New bytes start again from 0.
        t.push(
            seen(8, Some("2026-12-24T01:40:00Z")),
            at,
            t0 + Duration::from_secs(9),
        );
        assert_eq!(t.view().unwrap().samples[0].unchanged_s, Some(0));
    }

    #[test]
    fn without_a_device_clock_the_agents_monotonic_clock_counts() {
        let (mut t, t0, at) = (Track::default(), Instant::now(), Timestamp::now());
        t.push(seen(7, None), at, t0);
        t.push(seen(7, None), at, t0 + Duration::from_secs(600));
        let s = &t.view().unwrap().samples[0];
        assert_eq!((s.unchanged_s, s.clock_advanced), (Some(600), None));
    }

    #[test]
    fn a_stopped_device_clock_is_told() {
        let (mut t, t0, at) = (Track::default(), Instant::now(), Timestamp::now());
        let stuck = Some("2026-12-24T01:00:00Z");
        t.push(seen(7, stuck), at, t0);
        t.push(seen(7, stuck), at, t0 + Duration::from_secs(600));
        let s = &t.view().unwrap().samples[0];
        assert_eq!((s.unchanged_s, s.clock_advanced), (Some(0), Some(false)));
    }

    #[test]
    fn a_failed_snapshot_keeps_the_count_going_and_three_samples_are_kept() {
        let (mut t, t0, at) = (Track::default(), Instant::now(), Timestamp::now());
        t.push(seen(7, None), at, t0);
        let failed = Seen {
            picture: Some(Err("no answer within 5s".into())),
            events: vec![ViewEvent::VideoLoss],
            clock: None,
        };
        t.push(failed, at, t0 + Duration::from_secs(60));
        t.push(seen(7, None), at, t0 + Duration::from_secs(120));
        t.push(seen(7, None), at, t0 + Duration::from_secs(180));
        let v = t.view().unwrap();
        assert_eq!(v.samples.len(), VIEW_SAMPLES);
        assert_eq!(v.samples[0].unchanged_s, Some(180));
        let f = &v.samples[2];
        assert_eq!((f.stats.as_ref(), f.unchanged_s), (None, None));
        assert_eq!(f.error.as_deref(), Some("no answer within 5s"));
        assert_eq!(f.events, vec![ViewEvent::VideoLoss]);
    }

    #[test]
    fn the_bytes_hash_tells_one_changed_byte() {
        assert_eq!(bytes_hash(b"abc"), bytes_hash(b"abc"));
        assert_ne!(bytes_hash(b"abc"), bytes_hash(b"abd"));
        assert!(Track::default().view().is_none());
    }
}
