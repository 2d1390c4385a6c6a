//! Frigate's own clock, from the one time its API states: `/api/stats`
//! `service.last_updated`, `int(time.time())` on the Frigate host when the
//! stats were taken (`frigate/stats/util.py` `stats_snapshot`).
//!
//! Since 0.13 `/api/stats` answers the stats emitter's latest snapshot, taken
//! every `mqtt.stats_interval` (60 s by default), so the stated time may lag
//! Frigate's now by up to that; and an emitter thread that died leaves it
//! frozen. A stated time is a lower bound of Frigate's now, and so is that
//! time plus the time elapsed since the agent first saw it, measured on the
//! agent's monotonic clock (its rate is right even where its wall clock is
//! hours off). The bound starts afresh whenever the stated time changes, so
//! a step of Frigate's clock is followed, not carried over. Ages measured
//! against a lower bound err short by at most the lag at first sight.

use std::sync::Mutex;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};

/// The stated time last seen, and when (monotonic) it was first seen.
#[derive(Debug, Default)]
pub struct FrigateClock {
    seen: Mutex<Option<(Timestamp, Instant)>>,
}

impl FrigateClock {
    /// Frigate's time now (at least), given the time its stats state and
    /// the monotonic instant of this read.
    pub fn now(&self, stated: Timestamp, at: Instant) -> Timestamp {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let (now, first) = advance(*seen, stated, at);
        *seen = Some(first);
        now
    }
}

/// The bound from a stated time and the previous sighting: the stated time
/// advanced by the time since it was first seen, when it has not changed.
pub fn advance(
    seen: Option<(Timestamp, Instant)>,
    stated: Timestamp,
    at: Instant,
) -> (Timestamp, (Timestamp, Instant)) {
    match seen {
        Some((t, first)) if t == stated => {
            let elapsed = SignedDuration::try_from(at.saturating_duration_since(first))
                .unwrap_or(SignedDuration::ZERO);
            (stated.saturating_add(elapsed).unwrap_or(stated), (t, first))
        }
        _ => (stated, (stated, at)),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_frozen_stated_time_still_advances_with_real_time() {
        let t: Timestamp = "2018-06-11T01:00:00Z".parse().unwrap();
        let start = Instant::now();
        let clock = FrigateClock::default();
        assert_eq!(clock.now(t, start), t);
        // The same snapshot 90 s later: Frigate's clock has moved on.
        let later = start + Duration::from_secs(90);
        assert_eq!(clock.now(t, later), t + SignedDuration::from_secs(90));
        // A new snapshot is taken as stated, even one that went back.
        let back = t - SignedDuration::from_hours(1);
        assert_eq!(clock.now(back, later), back);
        let after = later + Duration::from_secs(5);
        assert_eq!(clock.now(back, after), back + SignedDuration::from_secs(5));
    }
}
