//! ONVIF SOAP XML: the answer readers and the fault reader on any text and
//! on mutated fixtures (beyond the issue's list: its answers come from the
//! device as well).

use proptest::prelude::*;
use ronda_agent::recorders::onvif::*;

use super::support::{check, mutated_any, soup};

const XML_BRACKETS: &[(&str, &str)] = &[("<a>", "</a>"), ("<s:Body>", "</s:Body>")];

fn all_parsers(body: &str) -> Result<(), TestCaseError> {
    let _ = parse_system_time(body);
    let _ = parse_device_information(body);
    // Only the XAddr's path is kept and put after the configured device's
    // `scheme://host:port`: whatever the XAddr says, the request stays on
    // that host.
    if let Ok(Some(path)) = search_path(body) {
        if let Ok(url) = reqwest::Url::parse(&format!("http://nvr.local{path}")) {
            prop_assert_eq!(url.host_str(), Some("nvr.local"), "path {:?}", path);
        }
    }
    if let Ok(Some(path)) = capabilities_search_path(body) {
        if let Ok(url) = reqwest::Url::parse(&format!("http://nvr.local{path}")) {
            prop_assert_eq!(url.host_str(), Some("nvr.local"), "path {:?}", path);
        }
    }
    if let Ok(s) = parse_recording_summary(body) {
        prop_assert!(s.recordings != Some(0) || s.data_until.is_none());
    }
    let _ = parse_date_time(body);
    let _ = fault(body);
    Ok(())
}

#[test]
fn fuzz_onvif_any_text() {
    check(
        prop_oneof![any::<String>(), soup(r#"<>/a-zA-Z0-9 =":.\-"#, 300),],
        |body| all_parsers(&body),
    );
}

#[test]
fn fuzz_onvif_mutated_fixtures() {
    check(
        mutated_any(super::fixtures("onvif"), XML_BRACKETS),
        |body| all_parsers(&body),
    );
}

/// The search service's XAddr, in `GetServices` and in `GetCapabilities`,
/// replaced by any text, URL-like or not.
#[test]
fn fuzz_onvif_any_xaddr() {
    let services =
        ronda_agent::fixture::body(include_str!("../../../sim/fixtures/onvif/get_services.xml"))
            .to_owned();
    let capabilities = ronda_agent::fixture::body(include_str!(
        "../../../sim/fixtures/onvif/get_capabilities.xml"
    ))
    .to_owned();
    let xaddr = prop_oneof![
        super::support::value(),
        "[a-z]{1,8}:(//)?[a-z0-9.:@/?#]{0,30}",
        "[a-z0-9.]{1,20}:[0-9]{1,5}/[a-z/_]{0,20}",
    ];
    check(xaddr, |x| {
        let escaped = x
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        for answer in [&services, &capabilities] {
            let body = answer.replace("http://192.168.1.108/onvif/search_service", &escaped);
            all_parsers(&body)?;
        }
        Ok(())
    });
}
