//! A simulated office with door controllers, and the agent config it
//! writes for them, read by the real agent's config checker: what an
//! end-to-end test or the demo starts from.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use ronda_agent::doors::AccessKind;
use ronda_agent::AgentConfig;
use ronda_sim::layout::{office, Layout};
use ronda_sim::Options;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_takes_the_config_written_for_the_door_controllers() {
    let listen = ronda_testkit::free_addr();
    let stop = CancellationToken::new();
    let devices = office(&Layout {
        doors: Some(listen),
    });
    let sim = ronda_sim::start(devices, Options::default(), stop.clone())
        .await
        .unwrap();
    let yaml = ronda_sim::agent_config::agent_yaml(&sim, "o", "a", "mqtt://127.0.0.1:1", "30s");
    let config = AgentConfig::from_text(Path::new("sim.yaml"), yaml.clone()).unwrap();
    assert_eq!(config.access_listen, Some(listen), "{yaml}");
    let ids: Vec<_> = config
        .access
        .iter()
        .map(|a| (a.id.as_str(), a.kind))
        .collect();
    assert_eq!(
        ids,
        [
            ("pintu-depan", AccessKind::HikvisionAccess),
            ("pintu-belakang", AccessKind::ZktecoPush)
        ]
    );
    let hik = &config.access[0];
    let addr = sim.device("pintu-depan").unwrap().addr.unwrap();
    assert_eq!(hik.url.as_deref(), Some(format!("http://{addr}").as_str()));
    let creds = hik.creds.as_ref().unwrap();
    assert_eq!(
        (creds.username.as_str(), creds.password.expose()),
        ("admin", "Pintu2018")
    );
    assert_eq!(hik.poll, Duration::from_secs(1));
    assert_eq!(hik.place(1).as_deref(), Some("main-door"));
    let zk = &config.access[1];
    assert_eq!(zk.serial.as_deref(), Some("CKJM201960012"));
    assert_eq!(zk.offset, Some(jiff::tz::Offset::constant(7)));
    assert_eq!(zk.place(1).as_deref(), Some("back-door"));
    // The ZKTeco device calls where the agent will listen.
    let server = ronda_sim::state::lock(&sim.device("pintu-belakang").unwrap().state)
        .access
        .push
        .server
        .clone();
    assert_eq!(server, format!("http://{listen}"));
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_office_has_no_door_controllers() {
    let stop = CancellationToken::new();
    let sim = ronda_sim::start(office(&Layout::default()), Options::default(), stop.clone())
        .await
        .unwrap();
    let yaml = ronda_sim::agent_config::agent_yaml(&sim, "o", "a", "mqtt://127.0.0.1:1", "30s");
    assert!(!yaml.contains("access"), "{yaml}");
    let config = AgentConfig::from_text(Path::new("sim.yaml"), yaml).unwrap();
    assert!(config.access.is_empty() && config.access_listen.is_none());
    stop.cancel();
}
