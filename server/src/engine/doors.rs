//! Door events reach the engine between reports: each one new to its
//! office is kept for the lookback, and the office is evaluated at once.

use jiff::Timestamp;
use ronda_policy::eval::{DoorSeen, DOOR_LOOKBACK};

use super::{Effects, Engine};

/// Door events kept in memory per office, at most: past it the oldest go
/// (they stay in the store).
const MAX_DOOR_EVENTS: usize = 5_000;

impl Engine {
    /// Door events from `agent`: each one new to the office is kept (a log
    /// a device sent again adds nothing), then the office is evaluated.
    pub fn door_events(
        &mut self,
        office: &str,
        agent: &str,
        events: Vec<ronda_wire::DoorEvent>,
        received: Timestamp,
        now: Timestamp,
    ) -> Effects {
        let state = self.office(office);
        let mut added = false;
        for event in events {
            let key = event.key();
            let known = state
                .door_events
                .iter()
                .any(|s| s.event.device == event.device && s.event.key() == key);
            if !known {
                state.door_events.push(DoorSeen {
                    agent: agent.to_owned(),
                    event,
                    received,
                });
                added = true;
            }
        }
        if !added {
            return Effects::default();
        }
        let lookback = jiff::SignedDuration::try_from(DOOR_LOOKBACK).unwrap_or_default();
        let oldest = now.checked_sub(lookback).unwrap_or(now);
        state.door_events.retain(|s| s.received >= oldest);
        state.door_events.sort_by_key(|s| s.event.at.instant);
        let extra = state.door_events.len().saturating_sub(MAX_DOOR_EVENTS);
        state.door_events.drain(..extra);
        self.evaluated.insert(office.to_owned(), now);
        self.evaluate_office(office, now)
    }
}
