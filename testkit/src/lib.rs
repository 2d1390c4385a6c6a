//! Fixtures for Ronda's tests and benchmarks that know nothing of Ronda:
//! free ports, a real Mosquitto, a real SMTP server, a throwaway CA,
//! polling until something holds, the fuzz targets' runner, and a webhook
//! receiver that checks signatures as docs/webhooks.md says.
// Fixtures panic when they cannot be set up: that fails the test that asked
// for them, with the reason, which is what a test wants.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod ca;
pub mod fuzz;
pub mod mosquitto;
pub mod postgres;
pub mod smtp;
pub mod webhook;

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

pub use ca::TestCa;
pub use mosquitto::Mosquitto;
pub use smtp::Smtp;

/// A port of 127.0.0.1 nothing listens on right now.
pub fn free_port() -> u16 {
    free_addr().port()
}

/// An address of 127.0.0.1 nothing listens on right now.
pub fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Poll `check` until it yields a value; fail after 20 s. Tests wait with
/// this, never by sleeping a guessed time.
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_within(Duration::from_secs(20), what, check).await
}

/// [`eventually`] for conditions that need several rounds of something
/// slow (camera looks a second apart, each drawn and decoded): fail after
/// `limit`.
pub async fn eventually_within<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
