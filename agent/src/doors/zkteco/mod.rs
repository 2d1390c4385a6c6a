//! ZKTeco PUSH devices (finger scanners, C3/inBio panels and their OEM
//! brands): the device is the HTTP client and calls a listener the agent
//! runs on the office LAN (`/iclock/…`, `docs/vendors/zkteco-push.md`).
//!
//! `proto/` reads and writes the protocol's text; `handle.rs` decides what
//! each request gets; `conn.rs` is the HTTP server with its limits. An
//! upload is acknowledged only once its events are in the outbox
//! ([`Hub::keep`]), so a device whose upload was not kept sends it again.
//!
//! The device's cursor in the outbox is `attlog:<stamp> operlog:<stamp>`:
//! the `Stamp` of its last ATTLOG and OPERLOG uploads kept, echoed in the
//! handshake so that a restarted agent is not sent the whole log again
//! [ATT §6]. The access dialect (rtlog) has no stamps.

mod conn;
mod device;
mod handle;
pub mod proto;
#[cfg(test)]
mod tests;
mod throttle;

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use super::{AccessConfig, Hub};
use handle::Shared;

/// What the listener tolerates from one client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Largest request body.
    pub body: usize,
    /// Time to send the request line and headers.
    pub header: Duration,
    /// Time for the whole request, body and answer included.
    pub request: Duration,
    /// Connections served at once; more are closed as they come.
    pub connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body: 1 << 20,
            header: Duration::from_secs(10),
            request: Duration::from_secs(30),
            connections: 64,
        }
    }
}

/// Serve the configured pushing devices on `listener` until `stop`.
pub async fn serve(
    listener: TcpListener,
    devices: Vec<AccessConfig>,
    hub: Hub,
    stop: CancellationToken,
) {
    serve_with(listener, devices, hub, stop, Limits::default()).await;
}

pub(crate) async fn serve_with(
    listener: TcpListener,
    devices: Vec<AccessConfig>,
    hub: Hub,
    stop: CancellationToken,
    limits: Limits,
) {
    let shared = Arc::new(Shared::new(devices, hub, limits));
    tokio::spawn(watch_silence(shared.clone(), stop.clone()));
    conn::accept(listener, shared, stop).await;
}

/// Mark a device unreachable once it has not called for its `silence`.
/// Checks four times per shortest silence, at most every 10 seconds.
async fn watch_silence(shared: Arc<Shared>, stop: CancellationToken) {
    let shortest = shared
        .devices()
        .iter()
        .map(|d| d.config.silence)
        .min()
        .unwrap_or(Duration::from_secs(40));
    let every = (shortest / 4).clamp(Duration::from_millis(10), Duration::from_secs(10));
    let mut ticks = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => {
                let now = Instant::now();
                for d in shared.devices() {
                    d.check_silence(&shared.hub, now);
                }
            }
        }
    }
}
