//! The agent's Tasmota adapters against simulated plugs, over HTTP and over
//! the office MQTT broker.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use ronda_wire::PowerOn;

const T: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_reads_and_switches_each_relay_of_a_dual_plug() {
    let one = common::start(&["rak-server", "stopkontak-tu"]).await;
    let rack = one.plug("rak-server", T).probe().await;
    assert_eq!(
        (rack.reachable, rack.relay_on),
        (true, Some(true)),
        "{rack:?}"
    );
    assert!((rack.power_w.unwrap() - 212.0).abs() < 0.01);
    assert_eq!(rack.power_on, Some(PowerOn::Previous));

    let (printer, pc) = (
        one.plug("stopkontak-tu-1", T),
        one.plug("stopkontak-tu-2", T),
    );
    let p = pc.switch(true).await.unwrap();
    assert_eq!(p.relay_on, Some(true));
    assert!(
        (p.power_w.unwrap() - 120.0).abs() < 0.01,
        "relay 2 reads its own meter channel: {p:?}"
    );
    assert_eq!(one.state("stopkontak-tu").relays, [false, true]);
    assert_eq!(printer.probe().await.relay_on, Some(false));
    pc.switch(false).await.unwrap();
    assert_eq!(one.state("stopkontak-tu").relays, [false, false]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_password_and_hang() {
    let one = common::start(&["rak-server"]).await;
    {
        let mut s = one.state("rak-server");
        s.auth.username = "admin".into();
        s.auth.password = "rahasia".into();
    }
    let plug = one.plug("rak-server", T);
    let p = plug.probe().await;
    assert!(p
        .error
        .as_deref()
        .unwrap()
        .starts_with("wrong username or password"));
    assert!(p.paused.is_some(), "left alone after a refused login");
    assert!(!format!("{p:?}").contains("rahasia"));
    one.state("rak-server").hang = true;
    let p = one
        .plug("rak-server", Duration::from_millis(300))
        .probe()
        .await;
    assert_eq!(p.error.as_deref(), Some("no answer within 300ms"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_reads_and_switches_and_notices_a_hang() {
    let one = common::start(&["dispenser-lobi"]).await;
    let plug = one.plug("dispenser-lobi", T);
    let p = plug.probe().await;
    assert_eq!((p.reachable, p.relay_on), (true, Some(false)), "{p:?}");
    assert_eq!(p.power_on, Some(PowerOn::Previous));
    let p = plug.switch(true).await.unwrap();
    assert_eq!(p.relay_on, Some(true));
    assert!(one.state("dispenser-lobi").relays[0]);
    // The meter follows with the next SENSOR telemetry.
    let mut watts = None;
    for _ in 0..20 {
        watts = plug.probe().await.power_w;
        if watts == Some(420.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(watts, Some(420.0));
    one.state("dispenser-lobi").hang = true;
    let p = one
        .plug("dispenser-lobi", Duration::from_millis(500))
        .probe()
        .await;
    assert!(!p.reachable);
    assert_eq!(p.error.as_deref(), Some("no answer within 500ms"));
}
