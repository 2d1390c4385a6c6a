//! Tasmota JSON: `Status 0`, the MQTT messages and the refusals, on any
//! text, on mutated fixtures and on any JSON value, with any relay number.

use proptest::prelude::*;
use ronda_agent::plugs::tasmota::*;
use ronda_agent::plugs::PlugReading;
use serde_json::Value;

use super::support::{check, mutated_any, soup};

fn all_parsers(body: &str, relay: Option<u32>) -> Result<(), TestCaseError> {
    let _ = parse_status0(body, relay);
    if let Ok(v) = parse_json(body) {
        on_value(&v, relay);
    }
    Ok(())
}

/// What the MQTT adapter does with a parsed message.
fn on_value(v: &Value, relay: Option<u32>) {
    let _ = relay_in(v, relay);
    let mut r = PlugReading::default();
    for energy in [v.get("ENERGY"), v.pointer("/StatusSNS/ENERGY")]
        .into_iter()
        .flatten()
    {
        energy_into(&mut r, energy, relay);
    }
    let _ = v
        .get("PowerOnState")
        .and_then(Value::as_i64)
        .and_then(power_on);
}

#[test]
fn fuzz_tasmota_any_text() {
    check(
        (
            prop_oneof![any::<String>(), soup(r#"{}\[\]":,0-9A-Za-z_ .-"#, 300)],
            super::relay(),
        ),
        |(body, relay)| all_parsers(&body, relay),
    );
}

#[test]
fn fuzz_tasmota_mutated_fixtures() {
    check(
        (
            mutated_any(super::fixtures("tasmota"), super::JSON_BRACKETS),
            super::relay(),
        ),
        |(body, relay)| all_parsers(&body, relay),
    );
}

#[test]
fn fuzz_tasmota_any_json() {
    check((super::json_value(), super::relay()), |(v, relay)| {
        on_value(&v, relay);
        // Under `Status`, where `Status 0` keeps `Power` and `PowerOnState`.
        let status0 = serde_json::json!({ "Status": v, "StatusSNS": { "ENERGY": v } });
        all_parsers(&status0.to_string(), relay)
    });
}

/// `Status.Power` as an integer mask (before 14.0) and as a string of 0/1
/// (since) gives the same relay state.
#[test]
fn fuzz_tasmota_power_bits_both_encodings() {
    check("[01]{1,64}", |bits| {
        let mask = u64::from_str_radix(&bits, 2).unwrap();
        for relay in 1..=bits.len() as u32 {
            let bit = bits.as_bytes()[bits.len() - relay as usize] == b'1';
            for power in [serde_json::json!(mask), serde_json::json!(bits)] {
                let body = serde_json::json!({ "Status": { "Power": power } }).to_string();
                prop_assert_eq!(
                    parse_status0(&body, Some(relay)).unwrap().relay_on,
                    Some(bit)
                );
            }
        }
        Ok(())
    });
}
