//! Hikvision access controllers, polled for events (placeholder until the adapter lands).

use tokio_util::sync::CancellationToken;

use super::{AccessConfig, Hub};
use crate::http::Clients;

pub async fn run(config: AccessConfig, _clients: Clients, hub: Hub, stop: CancellationToken) {
    hub.update(&config.id, |c| {
        c.error = Some("adapter not built yet".into())
    });
    stop.cancelled().await;
}
