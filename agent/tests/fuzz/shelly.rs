//! Shelly JSON: the Gen1 `/status` and `/settings` readers on any text and
//! on mutated fixtures, and the Gen2 RPC readers on any JSON value.

use proptest::prelude::*;
use ronda_agent::plugs::shelly::*;
use ronda_agent::plugs::PlugReading;
use serde_json::Value;

use super::support::{check, mutated_any, soup};

fn relay() -> impl Strategy<Value = usize> {
    prop_oneof![0usize..4, any::<usize>()]
}

fn gen1(body: &str, i: usize) -> Result<(), TestCaseError> {
    if let Ok(r) = parse_gen1_status(body, i) {
        for f in &r.faults {
            prop_assert!(f == "overpower" || f == "overtemp", "fault {:?}", f);
        }
    }
    let _ = parse_gen1_settings(body, i);
    Ok(())
}

/// Gen2 readers on a value, and on the places inside a frame where the
/// adapter finds them (`result`, a notification's `params`).
fn gen2(v: &Value) -> Result<(), TestCaseError> {
    for part in [Some(v), v.get("result"), v.pointer("/params/switch:0")]
        .into_iter()
        .flatten()
    {
        let r: PlugReading = parse_switch_status(part);
        let said: Vec<String> = part
            .get("errors")
            .and_then(Value::as_array)
            .map(|e| {
                e.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_lowercase)
                    .collect()
            })
            .unwrap_or_default();
        prop_assert_eq!(r.faults, said);
        let _ = parse_initial_state(part);
    }
    Ok(())
}

fn samples() -> Vec<String> {
    let mut all = super::fixtures("shelly1");
    all.extend(super::fixtures("shelly2"));
    all
}

#[test]
fn fuzz_shelly_any_text() {
    check(
        (
            prop_oneof![any::<String>(), soup(r#"{}\[\]":,0-9a-z_ .-"#, 300)],
            relay(),
        ),
        |(body, i)| gen1(&body, i),
    );
}

#[test]
fn fuzz_shelly_mutated_fixtures() {
    check(
        (mutated_any(samples(), super::JSON_BRACKETS), relay()),
        |(body, i)| {
            gen1(&body, i)?;
            if let Ok(v) = serde_json::from_str::<Value>(&body) {
                gen2(&v)?;
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_shelly_any_json() {
    check((super::json_value(), relay()), |(v, i)| {
        gen2(&v)?;
        gen1(&v.to_string(), i)
    });
}
