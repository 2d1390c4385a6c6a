//! Shelly parsing against fixtures written from the Gen1 and Gen2 API docs
//! and real device dumps.

use super::*;

fn fixture(dir: &str, name: &str) -> String {
    let path = format!(
        "{}/../sim/fixtures/{dir}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    text.split_once("\n\n")
        .map_or(text.clone(), |(_, b)| b.to_owned())
}

#[test]
fn gen1_status_and_settings() {
    let r = parse_gen1_status(&fixture("shelly1", "status.json"), 0).unwrap();
    assert_eq!(
        (r.relay_on, r.power_w, r.temperature_c),
        (Some(true), Some(846.32), Some(41.27))
    );
    assert!(r.faults.is_empty());
    assert_eq!(
        parse_gen1_settings(&fixture("shelly1", "settings.json"), 0).unwrap(),
        Some(PowerOn::Previous)
    );
    assert!(
        parse_gen1_status(&fixture("shelly1", "status.json"), 1).is_err(),
        "no second relay"
    );
}

#[test]
fn gen1_overpower_is_a_fault_and_the_relay_is_off() {
    let r = parse_gen1_status(&fixture("shelly1", "status_overpower.json"), 0).unwrap();
    assert_eq!(r.relay_on, Some(false));
    assert_eq!(r.faults, ["overpower"]);
}

#[test]
fn gen2_status_config_and_errors() {
    let r = parse_switch_status(&json(&fixture("shelly2", "switch_status.json")).unwrap());
    assert_eq!(
        (r.relay_on, r.power_w, r.voltage_v, r.current_a),
        (Some(true), Some(95.3), Some(229.1), Some(0.452))
    );
    assert_eq!(r.temperature_c, Some(38.6));
    let over =
        parse_switch_status(&json(&fixture("shelly2", "switch_status_overpower.json")).unwrap());
    assert_eq!(
        (over.relay_on, over.faults.as_slice()),
        (Some(false), ["overpower".to_owned()].as_slice())
    );
    let cfg = json(&fixture("shelly2", "switch_config.json")).unwrap();
    assert_eq!(parse_initial_state(&cfg), Some(PowerOn::Previous));
}

#[test]
fn rpc_errors_carry_the_device_message() {
    let v = json(&fixture("shelly2", "rpc_error_not_found.json")).unwrap();
    let e = rpc_error(&v).unwrap();
    assert_eq!(
        e.to_string(),
        "Shelly RPC error -105: Argument 'id', value 1 not found!"
    );
    assert!(
        rpc_error(&json(&fixture("shelly2", "rpc_frame_set_response.json")).unwrap()).is_none()
    );
    assert!(json("{\"output\":tr").is_err());
}
