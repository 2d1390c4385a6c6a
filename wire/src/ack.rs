//! End-to-end delivery: the server's "committed up to seq N" and how it is counted.
//!
//! A broker's PUBACK only says the broker has the message in memory, so the
//! agent keeps each report in its outbox until the server says it is
//! committed. The server acknowledges cumulatively, and only over an
//! unbroken run of sequence numbers, so a report the broker lost in the
//! middle is never acknowledged by the ones after it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// Server to agent on `…/ack`: every report with `seq <= through` is
/// committed, and the agent may forget it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ack {
    pub through: u64,
}

impl Ack {
    pub fn decode(payload: &[u8]) -> Result<Ack, serde_json::Error> {
        serde_json::from_slice(payload)
    }

    pub fn encode(&self) -> Vec<u8> {
        format!("{{\"through\":{}}}", self.through).into_bytes()
    }
}

/// The agent's outbox as it stood when this copy of a report was sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// The lowest seq the agent still holds: every report below it was
    /// acknowledged or dropped, so the server need not wait for it.
    pub floor: u64,
    /// Reports waiting in the outbox, this one included.
    pub pending: u64,
    /// Reports dropped since the outbox was created, because it was full,
    /// too old or damaged. A rise is a gap in the office's history.
    pub dropped: u64,
    /// The newest seq the agent has made. A report below it is back-fill:
    /// it belongs in the history, not in the live view.
    pub newest: u64,
}

impl Delivery {
    /// Whether the report `seq` is older than the agent's newest.
    pub fn is_backfill(&self, seq: u64) -> bool {
        seq < self.newest
    }
}

/// The server's count for one agent: the highest seq below which nothing is
/// missing, and the committed seqs above it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    through: u64,
    above: BTreeSet<u64>,
}

impl Progress {
    /// Continue from an acknowledgement already given (after a restart).
    pub fn resume(through: u64) -> Progress {
        Progress {
            through,
            above: BTreeSet::new(),
        }
    }

    /// The seq to acknowledge.
    pub fn through(&self) -> u64 {
        self.through
    }

    /// Whether `seq` is already counted as committed.
    pub fn has(&self, seq: u64) -> bool {
        seq <= self.through || self.above.contains(&seq)
    }

    /// Count `seq` as committed. `floor` is the sender's [`Delivery::floor`];
    /// without one (an agent with no outbox) nothing before `seq` is awaited.
    /// Returns false when `seq` was already counted.
    pub fn commit(&mut self, seq: u64, floor: Option<u64>) -> bool {
        let new = seq > self.through && self.above.insert(seq);
        let floor = floor.unwrap_or(seq).min(seq);
        let settled = floor.saturating_sub(1);
        if settled > self.through {
            self.through = settled;
            self.above = self.above.split_off(&(settled + 1));
        }
        while self.above.first() == Some(&(self.through + 1)) {
            self.above.pop_first();
            self.through += 1;
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hole_holds_the_acknowledgement_until_it_is_filled() {
        let mut p = Progress::default();
        assert!(p.commit(1, Some(1)));
        assert!(p.commit(3, Some(1)));
        assert_eq!(p.through(), 1, "2 is missing");
        assert!(p.commit(2, Some(1)));
        assert_eq!(p.through(), 3);
        assert!(!p.commit(2, Some(1)), "a repeat is not new");
        assert!(p.has(3) && !p.has(4));
    }

    #[test]
    fn the_floor_settles_what_the_agent_no_longer_holds() {
        let mut p = Progress::default();
        p.commit(5, Some(5));
        assert_eq!(p.through(), 5, "1..=4 were dropped or acknowledged");
        p.commit(9, Some(8));
        assert_eq!(p.through(), 7);
        p.commit(8, Some(8));
        assert_eq!(p.through(), 9);
        // A floor above its own seq is nonsense, and cannot skip ahead.
        p.commit(10, Some(50));
        assert_eq!(p.through(), 10);
    }

    #[test]
    fn without_an_outbox_every_report_is_acknowledged_alone() {
        let mut p = Progress::resume(100);
        assert!(!p.commit(90, None));
        assert!(p.commit(104, None));
        assert_eq!(p.through(), 104);
    }

    #[test]
    fn ack_payload_round_trips_and_refuses_junk() {
        let a = Ack { through: 42 };
        assert_eq!(Ack::decode(&a.encode()).unwrap(), a);
        assert!(Ack::decode(b"{\"through\":-1}").is_err());
        assert!(Ack::decode(b"{\"through\":1,\"x\":2}").is_err());
    }
}
