//! The agent's Shelly adapters against simulated Gen1 and Gen2 plugs, over
//! HTTP (Basic and digest SHA-256) and MQTT RPC.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use ronda_wire::{PauseReason, PowerOn};

const T: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gen1_reads_switches_and_trips_on_overpower() {
    let one = common::start(&["ac-kepala"]).await;
    let ac = one.plug("ac-kepala", T);
    let p = ac.probe().await;
    assert_eq!(
        (p.reachable, p.relay_on, p.power_on),
        (true, Some(false), Some(PowerOn::Previous)),
        "{p:?}"
    );
    let p = ac.switch(true).await.unwrap();
    assert_eq!((p.relay_on, p.power_w), (Some(true), Some(850.0)));
    one.state("ac-kepala").faults.push("overpower".into());
    let p = ac.probe().await;
    assert_eq!(
        (p.relay_on, p.faults.as_slice()),
        (Some(false), ["overpower".to_owned()].as_slice())
    );
    assert!(
        ac.switch(true).await.is_err(),
        "a tripped plug does not switch on"
    );
    one.state("ac-kepala").auth.password = "other".into();
    let p = ac.probe().await;
    assert!(p.error.unwrap().starts_with("wrong username or password"));
    assert_eq!(p.paused.map(|x| x.reason), Some(PauseReason::WrongPassword));
    // Paused: the next round does not try the wrong password again.
    ac.probe().await;
    assert_eq!(one.state("ac-kepala").failed_logins_total, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gen2_over_http_with_digest_sha256() {
    let one = common::start(&["pc-loket"]).await;
    let pc = one.plug("pc-loket", T);
    let p = pc.switch(true).await.unwrap();
    assert_eq!(
        (p.relay_on, p.power_w, p.power_on),
        (Some(true), Some(95.0), Some(PowerOn::Previous)),
        "{p:?}"
    );
    assert!(one.state("pc-loket").relays[0]);
    one.state("pc-loket").faults.push("overtemp".into());
    assert_eq!(pc.probe().await.faults, ["overtemp"]);
    one.state("pc-loket").auth.password = "other".into();
    let p = pc.probe().await;
    assert!(p.error.unwrap().starts_with("wrong username or password"));
    assert_eq!(p.paused.map(|x| x.reason), Some(PauseReason::WrongPassword));
    pc.probe().await;
    // Digest is answered once more (a nonce may have gone stale), and then
    // the plug is left alone: the second round costs no login.
    assert_eq!(one.state("pc-loket").failed_logins_total, 2);
    one.state("pc-loket").hang = true;
    let p = one
        .plug("pc-loket", Duration::from_millis(300))
        .probe()
        .await;
    assert_eq!(p.error.as_deref(), Some("no answer within 300ms"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gen2_over_mqtt_rpc() {
    let one = common::start(&["printer-lobi"]).await;
    let printer = one.plug("printer-lobi", T);
    let p = printer.probe().await;
    assert_eq!((p.reachable, p.relay_on), (true, Some(false)), "{p:?}");
    let p = printer.switch(true).await.unwrap();
    assert_eq!((p.relay_on, p.power_w), (Some(true), Some(15.0)));
    assert!(one.state("printer-lobi").relays[0]);
    printer.switch(false).await.unwrap();
    assert!(!one.state("printer-lobi").relays[0]);
    one.state("printer-lobi").hang = true;
    let p = one
        .plug("printer-lobi", Duration::from_millis(400))
        .probe()
        .await;
    assert_eq!(p.error.as_deref(), Some("no answer within 400ms"));
}

/// Six plugs on one office-broker connection ask at once; every answer
/// must reach the plug that asked (they share the reply topic).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_rpc_answers_on_one_bus_reach_their_askers() {
    let one = common::start(&["printer-lobi"]).await;
    let base = one.config.devices.plugs[0].clone();
    let plugs: Vec<_> = (0..6)
        .map(|i| ronda_agent::plugs::PlugConfig {
            id: format!("p{i}"),
            timeout: T,
            ..base.clone()
        })
        .collect();
    let broker = one.config.devices.local_broker.clone().unwrap();
    let filters = ronda_agent::plugs::mqtt_filters(&plugs, "test-shared");
    let bus =
        ronda_agent::plugs::Bus::start(&broker, "test-shared", filters, one.stop.clone()).unwrap();
    // Asked straight after the bus starts: requests wait for its
    // subscriptions, or the answers would be dropped by the broker.
    let clients = ronda_agent::http::Clients::new().unwrap();
    let watched: Vec<_> = plugs
        .into_iter()
        .map(|c| ronda_agent::plugs::Watched::new(c, &clients, Some(bus.clone())))
        .collect();
    let read = ronda_agent::probe::bounded(watched.iter().map(|w| w.probe()).collect(), 6).await;
    let failed: Vec<_> = read.iter().filter(|p| !p.reachable).collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

/// With the office broker down, an MQTT plug's error says so, rather than
/// reading as a device that did not answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_office_broker_that_is_down_is_named_in_the_error() {
    let one = common::start(&["printer-lobi"]).await;
    let mut cfg = one.config.devices.plugs[0].clone();
    cfg.timeout = Duration::from_millis(600);
    let mut broker = one.config.devices.local_broker.clone().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    broker.url.port = closed.local_addr().unwrap().port();
    drop(closed);
    let filters = ronda_agent::plugs::mqtt_filters(std::slice::from_ref(&cfg), "test-down");
    let bus =
        ronda_agent::plugs::Bus::start(&broker, "test-down", filters, one.stop.clone()).unwrap();
    let clients = ronda_agent::http::Clients::new().unwrap();
    let p = ronda_agent::plugs::Watched::new(cfg, &clients, Some(bus))
        .probe()
        .await;
    assert!(!p.reachable);
    assert_eq!(
        p.error.as_deref(),
        Some("cannot connect: office broker: not connected and subscribed within 600ms")
    );
}
