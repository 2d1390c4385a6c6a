//! When the engine must look again by itself: the earliest grace time or
//! acknowledgement expiry still to come. Finding it walks every open alert,
//! so it is worked out again only after alerts changed or it passed; and a
//! due time that passed while the worker was busy with a message is acted
//! on at once, not at the next sweep a second later.

use jiff::Timestamp;

/// The due time last worked out, and the alert changes it was worked out
/// after.
pub struct Due {
    changes: u64,
    at: Option<Timestamp>,
}

/// What the worker does next.
#[derive(Debug, PartialEq)]
pub enum Next {
    /// A due time passed and nothing acted on it: evaluate now.
    Tick,
    /// Wait for messages, and for this time if there is one.
    Wait(Option<Timestamp>),
}

impl Default for Due {
    fn default() -> Self {
        Due {
            changes: u64::MAX,
            at: None,
        }
    }
}

impl Due {
    /// As of `now`, after `changes` alert changes so far; `next_due` walks
    /// the open alerts for the next due time after `now`.
    pub fn next(
        &mut self,
        changes: u64,
        now: Timestamp,
        next_due: impl FnOnce() -> Option<Timestamp>,
    ) -> Next {
        let passed = self.at.is_some_and(|t| t <= now);
        if passed && self.changes == changes {
            // Another message won the race with the due time's wake-up:
            // the alert it was for is still pending. Work it out afresh
            // after the tick.
            self.changes = u64::MAX;
            return Next::Tick;
        }
        if passed || self.changes != changes {
            *self = Due {
                changes,
                at: next_due(),
            };
        }
        Next::Wait(self.at)
    }

    /// The wake-up at the due time fired and the engine evaluated: work the
    /// next one out afresh, without a second tick.
    pub fn acted(&mut self) {
        self.changes = u64::MAX;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    #[test]
    fn a_due_time_that_passed_while_a_message_was_handled_is_acted_on_at_once() {
        let mut due = Due::default();
        assert_eq!(due.next(5, at(0), || Some(at(2))), Next::Wait(Some(at(2))));
        // A report arrives and is handled past the due time; it changed
        // no alert (another office's, already firing).
        assert_eq!(
            due.next(5, at(2) + SignedDuration::from_millis(3), || None),
            Next::Tick
        );
        // After the tick (which fired the alert), the next one.
        assert_eq!(
            due.next(6, at(2) + SignedDuration::from_millis(4), || Some(at(9))),
            Next::Wait(Some(at(9)))
        );
    }

    #[test]
    fn the_wake_up_that_acted_is_not_followed_by_a_second_tick() {
        let mut due = Due::default();
        due.next(1, at(0), || Some(at(2)));
        // The wake-up fired at the due time; the tick changed nothing (the
        // failure had cleared a moment before).
        due.acted();
        assert_eq!(due.next(1, at(2), || None), Next::Wait(None));
    }

    #[test]
    fn nothing_changed_and_nothing_passed_walks_no_alert() {
        let mut due = Due::default();
        due.next(3, at(0), || Some(at(10)));
        let walked = || panic!("the open alerts were walked again");
        assert_eq!(due.next(3, at(5), walked), Next::Wait(Some(at(10))));
    }
}
