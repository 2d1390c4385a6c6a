//! ONVIF requests, answers and the WS-Security digest, against the fixtures
//! written from the ONVIF Core and Recording Search specifications.

use super::*;
use crate::xml;
use ronda_common::conf::Secret;

fn fixture(name: &str) -> String {
    crate::fixture::read("onvif", name)
}

fn at(t: &str) -> Timestamp {
    t.parse().unwrap()
}

fn operator() -> Creds {
    Creds {
        username: "operator".into(),
        password: Secret::new("Aula2018"),
    }
}

/// The spec's worked example: nonce bytes 00..0f, this Created.
const NONCE: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
const CREATED: &str = "2018-06-11T01:00:00Z";

#[test]
fn password_digest_matches_the_worked_examples() {
    // Spec section 2 (WSS UsernameToken Profile 3.1 formula).
    assert_eq!(
        password_digest(&NONCE, CREATED, "Aula2018"),
        "rzm9m6pFI9VyfZjrlsZY9p3wHuU="
    );
    // The check value commonly quoted from the ONVIF Application
    // Programmer's Guide, recomputed in the spec.
    let b64 = base64::engine::general_purpose::STANDARD;
    let nonce = base64::Engine::decode(&b64, "LKqI6G/AikKCQrN0zqZFlg==").unwrap();
    assert_eq!(
        password_digest(&nonce, "2010-09-16T07:50:45Z", "userpassword"),
        "tuOSpGlFlIXsozq4HFNeeGeFLEI="
    );
    assert_ne!(soap::nonce(), soap::nonce(), "a fresh nonce each time");
}

/// What a request says: the operation (namespace, name), its arguments,
/// and the UsernameToken's fields, whatever the prefixes.
fn shape(body: &str) -> (String, String, Vec<(String, String)>) {
    let doc = xml::parse(body).unwrap();
    let op = xml::find(doc.root_element(), "Body")
        .unwrap()
        .first_element_child()
        .unwrap();
    let name = format!(
        "{{{}}}{}",
        op.tag_name().namespace().unwrap_or(""),
        op.tag_name().name()
    );
    let args = op
        .children()
        .filter(|n| n.is_element())
        .map(|n| format!("{}={}", n.tag_name().name(), n.text().unwrap_or("")))
        .collect();
    let token = xml::find(doc.root_element(), "UsernameToken")
        .map(|t| {
            t.children()
                .filter(|n| n.is_element())
                .map(|n| {
                    let kind = n
                        .attributes()
                        .map(|a| a.value().to_owned())
                        .collect::<String>();
                    (
                        format!(
                            "{{{}}}{}{kind}",
                            n.tag_name().namespace().unwrap_or(""),
                            n.tag_name().name()
                        ),
                        n.text().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    (name, args, token)
}

#[test]
fn requests_match_the_spec_fixtures() {
    let c = operator();
    let token = Some((&c, NONCE.as_slice(), CREATED));
    let ours = request(&GET_DEVICE_INFORMATION, token);
    assert_eq!(
        shape(&ours),
        shape(&fixture("get_device_information_request.xml"))
    );
    assert!(
        !ours.contains("Aula2018"),
        "the password itself is never sent"
    );
    let ours = request(&GET_RECORDING_SUMMARY, token);
    assert_eq!(
        shape(&ours),
        shape(&fixture("get_recording_summary_request.xml"))
    );
    // No login for the clock; GetServices is PRE_AUTH too, though the
    // agent dates a token for it anyway (some firmwares want one).
    let ours = request(&GET_SYSTEM_DATE_AND_TIME, None);
    assert_eq!(
        shape(&ours),
        shape(&fixture("get_system_date_and_time_request.xml"))
    );
    assert!(!ours.contains("Security"));
    let (op, args, _) = shape(&request(&GET_SERVICES, token));
    let (fop, fargs, _) = shape(&fixture("get_services_request.xml"));
    assert_eq!((op, args), (fop, fargs));
    assert_eq!(
        GET_SERVICES.content_type(),
        "application/soap+xml; charset=utf-8; action=\"http://www.onvif.org/ver10/device/wsdl/GetServices\""
    );
}

#[test]
fn the_clock_comes_from_utc_date_time_only() {
    let t = parse_system_time(&fixture("get_system_date_and_time.xml")).unwrap();
    assert_eq!(t, Some(at("2018-06-11T01:00:00Z")));
    // Local time alone, in an unnamed zone: the clock is unknown.
    let old = parse_system_time(&fixture("get_system_date_and_time_no_utc.xml")).unwrap();
    assert_eq!(old, None);
    assert!(matches!(
        parse_system_time(&fixture("get_device_information.xml")),
        Err(ProbeError::Parse(_))
    ));
}

#[test]
fn model_is_manufacturer_and_model() {
    let info = parse_device_information(&fixture("get_device_information.xml")).unwrap();
    assert_eq!(info.model.as_deref(), Some("Dahua NVR4104HS-4KS2"));
    assert_eq!(info.firmware.as_deref(), Some("4.001.0000000.3"));
    assert!(parse_device_information(&fixture("get_services.xml")).is_err());
}

#[test]
fn search_service_path_or_none() {
    // The XAddr names the device's LAN address; only its path is kept.
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
    assert!(search_path(&fixture("get_recording_summary.xml")).is_err());
}

#[test]
fn data_until_empty_and_truncated_summaries() {
    let s = parse_recording_summary(&fixture("get_recording_summary.xml")).unwrap();
    assert_eq!(s.data_until, Some(at("2018-06-11T00:59:30Z")));
    assert_eq!(s.recordings, Some(4));
    // Zero recordings: the epoch times are ignored, not an ancient segment.
    let empty = parse_recording_summary(&fixture("get_recording_summary_empty.xml")).unwrap();
    assert_eq!((empty.data_until, empty.recordings), (None, Some(0)));
    assert!(matches!(
        parse_recording_summary(&fixture("get_recording_summary_truncated.xml")),
        Err(ProbeError::Parse(_))
    ));
}

#[test]
fn times_without_z_are_utc_and_offsets_are_kept() {
    assert_eq!(
        parse_date_time("2018-06-11T00:59:30").unwrap(),
        at("2018-06-11T00:59:30Z")
    );
    assert_eq!(
        parse_date_time("2018-06-11T07:59:30.500+07:00").unwrap(),
        at("2018-06-11T00:59:30.5Z")
    );
    assert!(parse_date_time("yesterday").is_err());
}

#[test]
fn refused_tokens_are_a_wrong_password_whatever_the_prefix() {
    for name in ["fault_not_authorized.xml", "fault_not_authorized_env.xml"] {
        assert_eq!(
            fault(&fixture(name)).unwrap(),
            Some(ProbeError::Unauthorized),
            "{name}"
        );
    }
    assert_eq!(fault(&fixture("get_device_information.xml")).unwrap(), None);
    let wsse = fixture("fault_not_authorized_env.xml")
        .replace("ter:NotAuthorized", "wsse:FailedAuthentication");
    assert_eq!(fault(&wsse).unwrap(), Some(ProbeError::Unauthorized));
    let other = fixture("fault_not_authorized.xml")
        .replace("ter:NotAuthorized", "ter:ActionNotSupported")
        .replace("Sender not Authorized", "Optional Action Not Implemented");
    assert_eq!(
        fault(&other).unwrap(),
        Some(ProbeError::Device(
            "SOAP fault ter:ActionNotSupported: Optional Action Not Implemented".into()
        ))
    );
}

#[test]
fn only_the_path_of_the_configured_url_changes() {
    assert_eq!(
        split_url("http://10.0.0.9:8899/onvif/device_service"),
        (
            "http://10.0.0.9:8899".into(),
            "/onvif/device_service".into()
        )
    );
    assert_eq!(
        split_url("https://user:pw@nvr.local/onvif/device_service"),
        ("https://nvr.local".into(), "/onvif/device_service".into())
    );
}

/// Found by `fuzz_onvif_any_xaddr`: an XAddr read as a URL of another
/// scheme gave a path without its `/`, which ran on into the configured
/// host (`http://nvr.local` + `8080/x`).
#[test]
fn a_search_path_always_starts_at_the_root() {
    let services = fixture("get_services.xml");
    for (xaddr, path) in [
        (
            "nvr:8080/onvif/search_service",
            "/8080/onvif/search_service",
        ),
        ("a:0", "/0"),
        ("onvif/search_service", "/onvif/search_service"),
    ] {
        let body = services.replace("http://192.168.1.108/onvif/search_service", xaddr);
        assert_eq!(
            search_path(&body).unwrap().as_deref(),
            Some(path),
            "{xaddr}"
        );
    }
}

/// Issue 17 point 6: a device without `GetServices` names its Recording
/// Search service under `Capabilities/Extension/Search`; only its path is
/// kept, so the XAddr's host cannot send the agent elsewhere.
#[test]
fn the_search_path_from_get_capabilities() {
    assert_eq!(
        capabilities_search_path(&fixture("get_capabilities.xml"))
            .unwrap()
            .as_deref(),
        Some("/onvif/search_service")
    );
    assert_eq!(
        capabilities_search_path(&fixture("get_capabilities_no_search.xml")).unwrap(),
        None
    );
    assert!(capabilities_search_path(&fixture("get_services.xml")).is_err());
    let caps = fixture("get_capabilities.xml");
    let elsewhere = caps.replace(
        "http://192.168.1.108/onvif/search_service",
        "nvr:8080/onvif/search_service",
    );
    assert_eq!(
        capabilities_search_path(&elsewhere).unwrap().as_deref(),
        Some("/8080/onvif/search_service")
    );
    // The fault an ONVIF 1.x device answers GetServices with.
    assert_eq!(
        fault(&fixture("fault_action_not_supported.xml")).unwrap(),
        Some(ProbeError::Device(
            "SOAP fault ter:ActionNotSupported: Optional Action Not Implemented".into()
        ))
    );
    let (op, args, _) = shape(&request(&GET_CAPABILITIES, None));
    let (fop, fargs, _) = shape(&fixture("get_capabilities_request.xml"));
    assert_eq!((op, args), (fop, fargs));
}
