//! ZKTeco PUSH devices (placeholder until the listener lands).

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{AccessConfig, Hub};

pub async fn serve(
    _listener: TcpListener,
    devices: Vec<AccessConfig>,
    hub: Hub,
    stop: CancellationToken,
) {
    for d in &devices {
        hub.update(&d.id, |c| c.error = Some("listener not built yet".into()));
    }
    stop.cancelled().await;
}
