//! The camera views pinned by a head or IT, in the engine's office state:
//! loaded at start, changed when a pin is set or removed, so that the next
//! evaluation judges `moved` and `blurred` against them.

use jiff::Timestamp;
use ronda_policy::eval::{Light, OfficeState, ViewPin};
use serde::{Deserialize, Serialize};

use super::{Effects, Engine};
use crate::store::view_pins::PinRow;

/// A pin set (with `stats`) or removed (without). Serializable: a server
/// that does not lead forwards it (`crate::cluster::ask`). The store has
/// it already; this only brings the engine up to date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PinRequest {
    pub office: String,
    pub agent: String,
    pub recorder: String,
    pub channel: String,
    /// `day` or `night`.
    pub light: String,
    pub stats: Option<ronda_wire::ViewStats>,
    pub by: String,
    pub at_ms: i64,
}

impl From<PinRow> for PinRequest {
    fn from(p: PinRow) -> Self {
        PinRequest {
            office: p.office,
            agent: p.agent,
            recorder: p.recorder,
            channel: p.channel,
            light: p.light,
            stats: Some(p.stats),
            by: p.by,
            at_ms: p.at_ms,
        }
    }
}

/// Put `p` into an office's pins: replace the pin of its light, or take it
/// away. A light other than day or night changes nothing.
pub(super) fn put(state: &mut OfficeState, p: PinRequest) {
    let Some(light) = Light::parse(&p.light) else {
        return;
    };
    let key = (p.agent, p.recorder, p.channel);
    let pins = state.view_pins.entry(key.clone()).or_default();
    pins.retain(|v| v.light != light);
    if let Some(stats) = p.stats {
        pins.push(ViewPin {
            light,
            stats,
            by: p.by,
            at: Timestamp::from_millisecond(p.at_ms).unwrap_or_default(),
        });
        pins.sort_by_key(|v| v.light);
    }
    if pins.is_empty() {
        state.view_pins.remove(&key);
    }
}

impl Engine {
    /// A pin set or removed: the office is evaluated against it at once.
    pub fn pin(&mut self, p: PinRequest, now: Timestamp) -> Effects {
        let office = p.office.clone();
        put(self.office(&office), p);
        if !self.judged(&office) {
            return Effects::default();
        }
        self.evaluate_office(&office, now)
    }

    /// The pins the engine holds for one camera (tests and checks).
    pub fn pins(&self, office: &str, agent: &str, recorder: &str, channel: &str) -> Vec<ViewPin> {
        let key = (agent.to_owned(), recorder.to_owned(), channel.to_owned());
        self.offices
            .get(office)
            .and_then(|s| s.view_pins.get(&key))
            .cloned()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn req(light: &str, stats: Option<&str>) -> PinRequest {
        PinRequest {
            office: "dinkes".into(),
            agent: "gw".into(),
            recorder: "nvr".into(),
            channel: "1".into(),
            light: light.into(),
            stats: stats.map(|h| ronda_wire::ViewStats {
                hash: h.into(),
                ..Default::default()
            }),
            by: "kepala".into(),
            at_ms: 0,
        }
    }

    #[test]
    fn a_pin_replaces_its_light_and_removing_the_last_leaves_no_entry() {
        let mut s = OfficeState::default();
        put(&mut s, req("night", Some("02")));
        put(&mut s, req("day", Some("01")));
        put(&mut s, req("day", Some("03")));
        put(&mut s, req("dusk", Some("04")));
        let key = ("gw".to_owned(), "nvr".to_owned(), "1".to_owned());
        let pins = &s.view_pins[&key];
        let got: Vec<_> = pins
            .iter()
            .map(|p| (p.light, p.stats.hash.as_str()))
            .collect();
        assert_eq!(got, vec![(Light::Day, "03"), (Light::Night, "02")]);
        put(&mut s, req("day", None));
        put(&mut s, req("night", None));
        assert!(s.view_pins.is_empty());
    }

    #[tokio::test]
    async fn pins_stored_are_loaded_at_start_and_a_pin_message_changes_the_engine() {
        let row = PinRow {
            office: "dinkes".into(),
            agent: "gw".into(),
            recorder: "nvr".into(),
            channel: "1".into(),
            light: "night".into(),
            stats: ronda_wire::ViewStats::default(),
            by: "it".into(),
            at_ms: 0,
        };
        let seed = crate::store::Seed {
            open_alerts: vec![],
            last_alert_id: 0,
            agents: vec![],
            attestations: Default::default(),
            door_events: vec![],
            view_pins: vec![row],
        };
        let engine = Engine::new(std::sync::Arc::default(), None, seed, Default::default());
        let night = engine.pins("dinkes", "gw", "nvr", "1");
        assert_eq!(night.len(), 1);
        assert_eq!((night[0].light, night[0].by.as_str()), (Light::Night, "it"));
        // No store behind it: the worker's flush finds none and goes on.
        let (store, _) = tokio::sync::mpsc::channel(1);
        let mut w = super::super::worker::Worker::new(engine, store, None, false);
        let (reply, done) = tokio::sync::oneshot::channel();
        let msg = super::super::worker::Msg::Pin {
            pin: req("day", Some("00000000000000ff")),
            reply,
        };
        w.step(msg, Timestamp::now()).await;
        done.await.unwrap();
        let both = w.engine.pins("dinkes", "gw", "nvr", "1");
        let lights: Vec<_> = both.iter().map(|p| p.light).collect();
        assert_eq!(lights, vec![Light::Day, Light::Night]);
        let (reply, done) = tokio::sync::oneshot::channel();
        let msg = super::super::worker::Msg::Pin {
            pin: req("night", None),
            reply,
        };
        w.step(msg, Timestamp::now()).await;
        done.await.unwrap();
        assert_eq!(w.engine.pins("dinkes", "gw", "nvr", "1").len(), 1);
    }
}
