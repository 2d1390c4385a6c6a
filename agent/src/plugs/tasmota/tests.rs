//! Tasmota parsing against fixtures written from the Tasmota documentation
//! and firmware source.

use super::*;

fn fixture(name: &str) -> String {
    crate::fixture::read("tasmota", name)
}

#[test]
fn single_relay_status0() {
    let r = parse_status0(&fixture("status0.json"), None).unwrap();
    assert_eq!(r.relay_on, Some(true));
    assert_eq!(
        (r.power_w, r.voltage_v, r.current_a),
        (Some(212.0), Some(228.0), Some(1.0))
    );
    assert_eq!(r.power_on, Some(PowerOn::Previous));
}

#[test]
fn dual_relay_status0_reads_each_relay_and_its_energy_entry() {
    let one = parse_status0(&fixture("status0_dual.json"), Some(1)).unwrap();
    let two = parse_status0(&fixture("status0_dual.json"), Some(2)).unwrap();
    assert_eq!(
        (one.relay_on, one.power_w, one.current_a),
        (Some(true), Some(35.0), Some(0.228))
    );
    assert_eq!(
        (two.relay_on, two.power_w, two.current_a),
        (Some(false), Some(0.0), Some(0.0))
    );
    assert_eq!(
        two.voltage_v,
        Some(229.0),
        "a common voltage applies to both"
    );
}

#[test]
fn status_power_bits_in_both_encodings() {
    assert_eq!(relay_from_bits(&serde_json::json!(2), Some(2)), Some(true));
    assert_eq!(relay_from_bits(&serde_json::json!(2), Some(1)), Some(false));
    assert_eq!(
        relay_from_bits(&serde_json::json!("01"), Some(1)),
        Some(true)
    );
    assert_eq!(
        relay_from_bits(&serde_json::json!("01"), Some(2)),
        Some(false)
    );
}

#[test]
fn mqtt_messages() {
    let state = parse_json(&fixture("mqtt_state.json")).unwrap();
    assert_eq!(relay_in(&state, None), Some(true));
    let result = parse_json(&fixture("mqtt_result.json")).unwrap();
    assert_eq!(relay_in(&result, None), Some(false));
    let mut r = PlugReading::default();
    energy_into(
        &mut r,
        &parse_json(&fixture("mqtt_sensor.json")).unwrap()["ENERGY"],
        None,
    );
    assert_eq!(r.power_w, Some(212.0));
}

#[test]
fn refusals_are_clear_errors() {
    assert_eq!(
        parse_json(&fixture("auth_required.json")).unwrap_err(),
        ProbeError::Unauthorized
    );
    let e = parse_json(&fixture("unknown_command.json")).unwrap_err();
    assert_eq!(e.to_string(), "Tasmota does not know the command");
    assert!(matches!(
        parse_json(&fixture("truncated.json")).unwrap_err(),
        ProbeError::Parse(_)
    ));
}

#[test]
fn power_on_states() {
    let all: Vec<_> = (0..7).map(power_on).collect();
    use PowerOn::*;
    assert_eq!(
        all,
        [
            Some(Off),
            Some(On),
            Some(Toggle),
            Some(Previous),
            Some(On),
            Some(On),
            None
        ]
    );
}

#[test]
fn commands_are_url_encoded_and_numbered() {
    assert_eq!(encode("Power2 Off"), "Power2%20Off");
    assert_eq!(power_command(Some(2), false), "Power2 Off");
    assert_eq!(power_command(None, true), "Power On");
}

/// Found by `fuzz_tasmota_mutated_fixtures`: relay 65 of a device that
/// sends `Status.Power` as an integer shifted the mask by 64, a panic in
/// debug builds.
#[test]
fn a_relay_past_the_integer_bitmask_is_no_opinion() {
    let r = parse_status0(&fixture("status0_dual.json"), Some(65)).unwrap();
    assert_eq!(r.relay_on, None);
    assert_eq!(
        relay_from_bits(&serde_json::json!(u64::MAX), Some(64)),
        Some(true)
    );
    assert_eq!(
        relay_from_bits(&serde_json::json!(u64::MAX), Some(65)),
        None
    );
}
