//! The agent's Zigbee2MQTT adapter against a simulated Zigbee plug.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use ronda_wire::PowerOn;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_switches_and_sees_the_plug_go_offline() {
    let one = common::start(&["tv-monitor-cctv"]).await;
    let plug = one.plug("tv-monitor-cctv", Duration::from_secs(3));
    let p = plug.probe().await;
    assert_eq!(
        (p.reachable, p.relay_on, p.power_w),
        (true, Some(true), Some(48.0)),
        "{p:?}"
    );
    assert_eq!(p.power_on, Some(PowerOn::Previous));
    let p = plug.switch(false).await.unwrap();
    assert_eq!((p.relay_on, p.power_w), (Some(false), Some(0.0)));
    assert!(!one.state("tv-monitor-cctv").relays[0]);
    one.state("tv-monitor-cctv").hang = true;
    let p = one
        .plug("tv-monitor-cctv", Duration::from_millis(400))
        .probe()
        .await;
    assert_eq!(p.error.as_deref(), Some("no answer within 400ms"));
}
