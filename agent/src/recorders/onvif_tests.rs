//! ONVIF parsing and the WS-Security digest, against fixtures written from
//! the ONVIF Core and Recording Search specifications.

use super::*;
use crate::conffile::Secret;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../sim/fixtures/onvif/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    text.split_once("\n\n")
        .map_or(text.clone(), |(_, b)| b.to_owned())
}

#[test]
fn password_digest_matches_a_worked_example() {
    // Computed independently: base64(sha1(bytes 0..16 + created + password)).
    let nonce: Vec<u8> = (0..16).collect();
    assert_eq!(
        password_digest(&nonce, "2018-06-11T01:00:00Z", "Aula2018"),
        "rzm9m6pFI9VyfZjrlsZY9p3wHuU="
    );
    let c = Creds {
        username: "operator".into(),
        password: Secret::new("Aula2018"),
    };
    let h = security_header(&c, &nonce, "2018-06-11T01:00:00Z");
    assert!(h.contains("<Nonce EncodingType=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary\">AAECAwQFBgcICQoLDA0ODw==</Nonce>"), "{h}");
    assert!(!h.contains("Aula2018"), "the password itself is never sent");
}

#[test]
fn clock_model_and_firmware() {
    let t = parse_system_time(&fixture("get_system_date_and_time.xml")).unwrap();
    assert_eq!(t, "2018-06-11T01:00:00Z".parse::<Timestamp>().unwrap());
    let (model, firmware) =
        parse_device_information(&fixture("get_device_information.xml")).unwrap();
    assert_eq!(
        (model.as_str(), firmware.as_str()),
        ("Dahua NVR4104HS-4KS2", "4.001.0000000.3")
    );
}

#[test]
fn search_service_path_or_none() {
    assert_eq!(
        search_path(&fixture("get_services.xml"))
            .unwrap()
            .as_deref(),
        Some("/onvif/search_service")
    );
    assert_eq!(
        search_path(&fixture("get_services_no_search.xml")).unwrap(),
        None
    );
}

#[test]
fn data_until_and_a_truncated_answer() {
    let t = parse_data_until(&fixture("get_recording_summary.xml")).unwrap();
    assert_eq!(t, Some("2018-06-11T00:59:30Z".parse().unwrap()));
    assert!(matches!(
        parse_data_until(&fixture("get_recording_summary_truncated.xml")),
        Err(ProbeError::Parse(_))
    ));
}

#[test]
fn not_authorized_fault_is_a_wrong_password() {
    assert_eq!(
        fault(&fixture("fault_not_authorized.xml")).unwrap(),
        Some(ProbeError::Unauthorized)
    );
    assert_eq!(fault(&fixture("get_device_information.xml")).unwrap(), None);
}
