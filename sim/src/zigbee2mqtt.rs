//! Simulated Zigbee plug behind Zigbee2MQTT: state on `zigbee2mqtt/<name>`,
//! retained availability, and answers to `…/get` and `…/set`.

use std::time::Duration;

use minijinja::context;

use crate::fixture::render;
use crate::mqtt_device::{Behaviour, Out};
use crate::state::{lock, DeviceState, Shared};

const STATE: &str = include_str!("../templates/z2m/state.json");

fn state(d: &DeviceState) -> String {
    let power_on = match d.power_on.as_str() {
        "off" | "on" | "toggle" => d.power_on.as_str(),
        _ => "previous",
    };
    let ctx = context! {
        on => d.relays.first().copied().unwrap_or(false),
        power => d.power_w(0), current => format!("{:.3}", d.current_a(0)), voltage => d.voltage_v, power_on,
    };
    render("state", STATE, ctx)
}

pub fn mqtt_behaviour(dev: &Shared) -> Behaviour {
    let topic = lock(dev).topic.clone();
    Behaviour {
        client_id: format!("z2m-{}", topic.replace('/', "-")),
        will: (
            format!("{topic}/availability"),
            r#"{"state":"offline"}"#.into(),
        ),
        subscribe: vec![format!("{topic}/get"), format!("{topic}/set")],
        hello: |d| {
            vec![(
                format!("{}/availability", d.topic),
                r#"{"state":"online"}"#.into(),
                true,
            )]
        },
        answer,
        telemetry: |d| vec![(d.topic.clone(), state(d), false)],
        every: Duration::from_secs(10),
    }
}

fn answer(d: &mut DeviceState, topic: &str, payload: &str) -> Vec<Out> {
    if topic.ends_with("/set") {
        let v: serde_json::Value = serde_json::from_str(payload).unwrap_or_default();
        let relay = d.relays.first().copied().unwrap_or(false);
        let new = match v.get("state").and_then(|s| s.as_str()) {
            Some("ON") => true,
            Some("OFF") => false,
            Some("TOGGLE") => !relay,
            _ => relay,
        };
        if let Some(r) = d.relays.first_mut() {
            *r = new;
        }
    }
    vec![(d.topic.clone(), state(d), false)]
}
