//! Simulated Zigbee2MQTT plug.

use std::net::SocketAddr;

use tokio_util::sync::CancellationToken;

use crate::state::Shared;

pub async fn run_mqtt(broker: SocketAddr, dev: Shared, shutdown: CancellationToken) {
    let _ = (broker, dev);
    shutdown.cancelled().await;
}
