//! Zigbee2MQTT JSON: state and availability messages on any text, mutated
//! fixtures and any JSON value (beyond the list: the messages come
//! from the office broker as well).

use proptest::prelude::*;
use ronda_agent::plugs::zigbee2mqtt::*;

use super::support::{check, mutated_any};

fn all_parsers(payload: &str) {
    let _ = parse_state(payload);
    let _ = parse_availability(payload);
}

#[test]
fn fuzz_zigbee2mqtt_any_text() {
    check(any::<String>(), |p| {
        all_parsers(&p);
        Ok(())
    });
}

#[test]
fn fuzz_zigbee2mqtt_mutated_fixtures() {
    check(
        mutated_any(super::fixtures("z2m"), super::JSON_BRACKETS),
        |p| {
            all_parsers(&p);
            Ok(())
        },
    );
}

#[test]
fn fuzz_zigbee2mqtt_any_json() {
    check(super::json_value(), |v| {
        all_parsers(&v.to_string());
        Ok(())
    });
}
