//! When the engine must look again by itself: the earliest grace time or
//! acknowledgement expiry still to come. Finding it walks every open alert,
//! so it is worked out again only after alerts changed or it passed; and a
//! due time that passed while the worker was busy with a message is acted
//! on at once, not at the next sweep a second later.

use jiff::Timestamp;

/// The due time last worked out, the alert changes it was worked out
/// after, and the last moment every office was evaluated at.
pub struct Due {
    changes: u64,
    at: Option<Timestamp>,
    evaluated: Timestamp,
}

/// What the worker does next.
#[derive(Debug, PartialEq)]
pub enum Next {
    /// A due time came after the last evaluation of every office: evaluate
    /// now.
    Tick,
    /// Wait for messages, and for this time if there is one.
    Wait(Option<Timestamp>),
}

impl Default for Due {
    fn default() -> Self {
        Due {
            changes: u64::MAX,
            at: None,
            evaluated: Timestamp::MIN,
        }
    }
}

impl Due {
    /// As of `now`, after `changes` alert changes so far. `next_due(after)`
    /// walks the open alerts for the earliest due time after `after`. Due
    /// times are counted from the last evaluation of every office, not
    /// from `now`: one that passed while the worker handled a message (which
    /// may have changed other alerts) is still owed its evaluation.
    pub fn next(
        &mut self,
        changes: u64,
        now: Timestamp,
        next_due: impl FnOnce(Timestamp) -> Option<Timestamp>,
    ) -> Next {
        if self.changes != changes || self.at.is_some_and(|t| t <= now) {
            self.changes = changes;
            self.at = next_due(self.evaluated);
        }
        match self.at {
            Some(t) if t <= now => Next::Tick,
            at => Next::Wait(at),
        }
    }

    /// Every office was evaluated as of `now`: due times up to it are
    /// settled (fired, or waiting on data the next report brings).
    pub fn evaluated(&mut self, now: Timestamp) {
        self.evaluated = now;
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
    fn a_due_time_that_passed_while_a_message_fired_another_alert_is_acted_on_at_once() {
        let mut due = Due::default();
        due.evaluated(at(0));
        assert_eq!(due.next(5, at(0), |_| Some(at(2))), Next::Wait(Some(at(2))));
        // A message handled just past the due time fired an alert of
        // another office: alerts changed, and the due one is still pending.
        let now = at(2) + SignedDuration::from_millis(3);
        assert_eq!(
            due.next(6, now, |after| {
                assert_eq!(after, at(0), "counted from the last evaluation");
                Some(at(2))
            }),
            Next::Tick
        );
        // The tick fired it; the next one is later.
        due.evaluated(now);
        assert_eq!(due.next(7, now, |_| Some(at(9))), Next::Wait(Some(at(9))));
    }

    #[test]
    fn a_due_time_that_passed_while_a_message_changed_nothing_is_acted_on_at_once() {
        let mut due = Due::default();
        due.evaluated(at(0));
        due.next(5, at(0), |_| Some(at(2)));
        let now = at(2) + SignedDuration::from_millis(3);
        assert_eq!(due.next(5, now, |_| Some(at(2))), Next::Tick);
    }

    #[test]
    fn once_evaluated_a_due_time_waiting_on_data_does_not_spin() {
        let mut due = Due::default();
        due.next(1, at(0), |_| Some(at(2)));
        // The wake-up at the due time evaluated every office; the alert
        // waits on an offline agent. Only later due times count now.
        due.evaluated(at(2));
        let next = due.next(1, at(2), |after| {
            assert_eq!(after, at(2));
            Some(at(7))
        });
        assert_eq!(next, Next::Wait(Some(at(7))));
    }

    #[test]
    fn nothing_changed_and_nothing_passed_walks_no_alert() {
        let mut due = Due::default();
        due.next(3, at(0), |_| Some(at(10)));
        let walked = |_| panic!("the open alerts were walked again");
        assert_eq!(due.next(3, at(5), walked), Next::Wait(Some(at(10))));
    }
}
