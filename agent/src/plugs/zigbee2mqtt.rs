//! Zigbee2MQTT plugs: the state on `zigbee2mqtt/<name>`, the retained
//! `…/availability` (JSON in 2.x, plain text in legacy 1.x), and `…/get` and
//! `…/set` to ask and to switch. No availability message means availability
//! tracking is off: unknown, not offline.

use std::sync::Arc;

use ronda_wire::PowerOn;
use serde_json::Value;

use super::{Adapter, Bus, PlugConfig, PlugReading};
use crate::probe::ProbeError;
use crate::recorders::BoxFuture;

pub fn mqtt_filters(cfg: &PlugConfig) -> Vec<String> {
    let t = &cfg.topic;
    vec![t.clone(), format!("{t}/availability")]
}

/// `Some(false)` when the availability message says offline.
pub fn parse_availability(payload: &str) -> Option<bool> {
    let word = match serde_json::from_str::<Value>(payload) {
        Ok(v) => v.get("state")?.as_str()?.to_owned(),
        Err(_) => payload.trim().to_owned(),
    };
    match word.as_str() {
        "online" => Some(true),
        "offline" => Some(false),
        _ => None,
    }
}

pub fn parse_state(payload: &str) -> Result<PlugReading, ProbeError> {
    let v: Value =
        serde_json::from_str(payload).map_err(|e| ProbeError::Parse(format!("bad JSON: {e}")))?;
    let num = |k: &str| v.get(k).and_then(Value::as_f64).map(|x| x as f32);
    let relay_on = match v.get("state").and_then(Value::as_str) {
        Some("ON") => Some(true),
        Some("OFF") => Some(false),
        _ => None,
    };
    // Some plugs name the setting power_outage_memory (true = restore).
    let power_on = match v.get("power_on_behavior").and_then(Value::as_str) {
        Some("off") => Some(PowerOn::Off),
        Some("on") => Some(PowerOn::On),
        Some("toggle") => Some(PowerOn::Toggle),
        Some("previous") => Some(PowerOn::Previous),
        _ => match v.get("power_outage_memory").and_then(Value::as_bool) {
            Some(true) => Some(PowerOn::Previous),
            Some(false) => Some(PowerOn::Off),
            None => None,
        },
    };
    Ok(PlugReading {
        relay_on,
        power_w: num("power"),
        voltage_v: num("voltage"),
        current_a: num("current"),
        temperature_c: num("device_temperature"),
        power_on,
        ..PlugReading::default()
    })
}

pub struct Z2m {
    bus: Arc<Bus>,
    topic: String,
    timeout: std::time::Duration,
}

impl Z2m {
    pub fn new(cfg: &PlugConfig, bus: Arc<Bus>) -> Self {
        Z2m {
            bus,
            topic: cfg.topic.clone(),
            timeout: cfg.timeout,
        }
    }

    /// Publish to `…/<suffix>` and wait for a state message with `want`.
    async fn ask(
        &self,
        suffix: &str,
        body: &str,
        want: impl Fn(&PlugReading) -> bool,
    ) -> Result<PlugReading, ProbeError> {
        let to = format!("{}/{suffix}", self.topic);
        self.bus
            .request(&to, body, &self.topic, self.timeout, |text| {
                let r = parse_state(text)?;
                Ok(want(&r).then_some(r))
            })
            .await
    }
}

impl Adapter for Z2m {
    fn read(&self) -> BoxFuture<'_, Result<PlugReading, ProbeError>> {
        Box::pin(async move {
            let avail = self.bus.latest(&format!("{}/availability", self.topic));
            if avail.is_some_and(|m| {
                parse_availability(&String::from_utf8_lossy(&m.payload)) == Some(false)
            }) {
                return Err(ProbeError::Device(
                    "Zigbee2MQTT says the device is offline".into(),
                ));
            }
            self.ask("get", r#"{"state":""}"#, |r| r.relay_on.is_some())
                .await
        })
    }

    fn set(&self, on: bool) -> BoxFuture<'_, Result<(), ProbeError>> {
        Box::pin(async move {
            let body = if on {
                r#"{"state":"ON"}"#
            } else {
                r#"{"state":"OFF"}"#
            };
            self.ask("set", body, |r| r.relay_on == Some(on))
                .await
                .map(|_| ())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        crate::fixture::read("z2m", name)
    }

    #[test]
    fn state_message() {
        let r = parse_state(&fixture("state.json")).unwrap();
        assert_eq!(r.relay_on, Some(true));
        assert_eq!(
            (r.power_w, r.voltage_v, r.current_a),
            (Some(48.0), Some(229.0), Some(0.23))
        );
        assert_eq!(r.power_on, Some(PowerOn::Previous));
        assert!(parse_state("{\"state\":").is_err());
    }

    #[test]
    fn availability_in_both_formats() {
        assert_eq!(
            parse_availability(&fixture("availability.json")),
            Some(true)
        );
        assert_eq!(
            parse_availability(&fixture("availability_legacy.txt")),
            Some(true)
        );
        assert_eq!(parse_availability(r#"{"state":"offline"}"#), Some(false));
        assert_eq!(parse_availability("offline"), Some(false));
        assert_eq!(parse_availability("{}"), None);
    }

    #[test]
    fn power_outage_memory_is_understood() {
        let r = parse_state(r#"{"state":"OFF","power_outage_memory":true}"#).unwrap();
        assert_eq!(
            (r.relay_on, r.power_on),
            (Some(false), Some(PowerOn::Previous))
        );
    }
}
