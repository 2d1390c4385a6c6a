//! Simulated Tasmota plug: HTTP `/cm` and MQTT.

use std::net::SocketAddr;

use axum::Router;
use tokio_util::sync::CancellationToken;

use crate::state::Shared;

pub fn router(dev: Shared) -> Router {
    let _ = dev;
    Router::new()
}

pub async fn run_mqtt(broker: SocketAddr, dev: Shared, shutdown: CancellationToken) {
    let _ = (broker, dev);
    shutdown.cancelled().await;
}
