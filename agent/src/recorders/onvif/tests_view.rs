//! The ONVIF viewer against a stand-in recorder over real HTTP (SOAP with a
//! UsernameToken, HTTP Digest), serving `sim/fixtures/onvif/` answers
//! written from the ONVIF Core and Media specifications, as
//! /root/i23/VENDOR.md lays them out.

use std::sync::Arc;

use super::media::{parse_profiles, profile_for, snapshot_uri_request};
use crate::http::Clients;
use crate::probe::ProbeError;
use crate::recorders::picture::rig::{
    self, fixture, jpeg, secs, Login, Reply, Request, Server, CAP,
};
use crate::recorders::picture::tests::sample;
use crate::recorders::RecorderKind::Onvif;
use crate::view::Viewer;

/// A recorder whose snapshot route serves picture `n` for profile token
/// `Profile_<n>_…`; `services` is its GetServices answer.
fn recorder(services: &'static str) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    move |r| {
        let soap = |name: &str| Reply::xml(fixture("onvif", name));
        if let Some(token) = r.target.strip_prefix("/onvif/snapshot?token=") {
            let n = if token.starts_with("Profile_2") { 2 } else { 1 };
            return jpeg(200, sample(n));
        }
        let b = &r.body;
        if b.contains("GetSystemDateAndTime") {
            soap("get_system_date_and_time.xml")
        } else if b.contains("GetServices") {
            soap(services)
        } else if b.contains("GetCapabilities") {
            soap("get_capabilities.xml")
        } else if b.contains("GetProfiles") && r.target == "/onvif/media_service" {
            soap("get_profiles.xml")
        } else if b.contains("GetSnapshotUri") {
            let token = b
                .split("<ProfileToken>")
                .nth(1)
                .and_then(|t| t.split('<').next())
                .unwrap_or("");
            Reply::xml(fixture("onvif", "get_snapshot_uri.xml").replace("Profile_1_sub", token))
        } else {
            Reply::status(400, "")
        }
    }
}

async fn start(
    login: Login,
    handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
) -> (Server, Box<dyn Viewer>) {
    let server = Server::start(login, Arc::new(handler)).await;
    let url = format!("{}/onvif/device_service", server.url);
    let cfg = rig::config(Onvif, &url, secs(5));
    let viewer = crate::recorders::viewer(&cfg, &Clients::new().unwrap()).unwrap();
    (server, viewer)
}

#[tokio::test]
async fn a_channel_number_gets_its_cameras_smallest_profile_picture() {
    let (server, viewer) = start(Login::Digest, recorder("get_services_media.xml")).await;
    assert_eq!(viewer.snapshot("2", CAP).await.unwrap(), sample(2));
    let asked = server.asked("/onvif/snapshot");
    assert_eq!(
        asked.last().unwrap().target,
        "/onvif/snapshot?token=Profile_2_sub"
    );
    // The URI is kept: the next picture is one GET, no SOAP.
    let before = server.requests().len();
    assert_eq!(viewer.snapshot("2", CAP).await.unwrap(), sample(2));
    assert_eq!(server.requests().len(), before + 1);
}

#[tokio::test]
async fn a_device_without_get_services_names_its_media_service_in_capabilities() {
    // get_services.xml lists no media service: GetCapabilities does.
    let (_server, viewer) = start(Login::Digest, recorder("get_services.xml")).await;
    assert_eq!(
        viewer.snapshot("Profile_1_main", CAP).await.unwrap(),
        sample(1)
    );
}

#[tokio::test]
async fn a_channel_with_no_profile_is_named() {
    let (_server, viewer) = start(Login::Digest, recorder("get_services_media.xml")).await;
    let e = viewer.snapshot("3", CAP).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "no media profile for channel `3` (4 profiles)"
    );
}

#[tokio::test]
async fn the_snapshot_uri_host_is_never_asked_only_its_path_on_the_configured_host() {
    let (server, viewer) = start(Login::Digest, |r| {
        if r.body.contains("GetSnapshotUri") {
            let elsewhere = fixture("onvif", "get_snapshot_uri.xml")
                .replace("http://192.168.1.108/", "http://attacker.invalid:8080/");
            return Reply::xml(elsewhere);
        }
        recorder("get_services_media.xml")(r)
    })
    .await;
    assert_eq!(viewer.snapshot("1", CAP).await.unwrap(), sample(1));
    assert!(!server.asked("/onvif/snapshot").is_empty(), "asked here");
}

#[tokio::test]
async fn a_wrong_password_stops_at_the_first_refusal() {
    let (server, viewer) = start(
        Login::Refuse(String::new()),
        recorder("get_services_media.xml"),
    )
    .await;
    assert_eq!(
        viewer.snapshot("1", CAP).await,
        Err(ProbeError::Unauthorized)
    );
    assert!(server.asked("/onvif/snapshot").is_empty());
}

#[tokio::test]
async fn a_snapshot_page_that_is_no_picture_is_asked_afresh_next_time() {
    let (server, viewer) = start(Login::Digest, |r| {
        if r.target.starts_with("/onvif/snapshot") {
            return Reply::Body {
                status: 200,
                content_type: "text/html",
                body: "<html>No image</html>".into(),
            };
        }
        recorder("get_services_media.xml")(r)
    })
    .await;
    let e = viewer.snapshot("1", CAP).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "HTTP 200 but text/html: <html>No image</html>"
    );
    let uris = |s: &Server| {
        s.requests()
            .iter()
            .filter(|r| r.body.contains("GetSnapshotUri"))
            .count()
    };
    let before = uris(&server);
    let _ = viewer.snapshot("1", CAP).await;
    assert!(uris(&server) > before, "the URI is asked again");
}

#[tokio::test]
async fn onvif_events_are_not_read_and_say_none() {
    let (server, viewer) = start(Login::Digest, recorder("get_services_media.xml")).await;
    assert_eq!(viewer.events("1").await.unwrap(), []);
    assert!(server.requests().is_empty());
    assert_eq!(
        viewer.clock().await,
        Some("2018-06-11T01:00:00Z".parse().unwrap())
    );
}

#[test]
fn profiles_and_hostile_tokens() {
    let profiles = parse_profiles(&fixture("onvif", "get_profiles.xml")).unwrap();
    assert_eq!(profiles.len(), 4);
    assert_eq!(profile_for(&profiles, "1").unwrap().token, "Profile_1_sub");
    assert_eq!(profile_for(&profiles, "2").unwrap().token, "Profile_2_sub");
    assert_eq!(
        profile_for(&profiles, "Profile_2_main").unwrap().token,
        "Profile_2_main"
    );
    assert!(profile_for(&profiles, "0").is_none());
    assert!(profile_for(&profiles, "99999999999999999999").is_none());
    let body = snapshot_uri_request("a</ProfileToken><x>&");
    assert!(
        body.contains("a&lt;/ProfileToken&gt;&lt;x&gt;&amp;"),
        "{body}"
    );
}
