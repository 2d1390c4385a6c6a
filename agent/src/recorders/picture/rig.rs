//! The viewers' test rig: a recorder configuration pointing at a stand-in
//! device (the access adapters' HTTP/1.1 server on 127.0.0.1:0, digest
//! login as `admin`), and fixtures read from `sim/fixtures/`.

use std::sync::Arc;
use std::time::Duration;

use ronda_common::conf::Secret;

pub use crate::doors::hikvision::tests::server::{Login, Reply, Request, Server};
use crate::http::{Clients, Creds};
use crate::recorders::{RecorderConfig, RecorderKind};
use crate::view::Viewer;

/// The cap the sampler uses by default.
pub const CAP: usize = crate::view::config::DEFAULT_CAP;

/// Recorder `nvr` of `kind` at `url` with channels "1" and "2", asking with
/// a password.
pub fn config(kind: RecorderKind, url: &str, timeout: Duration) -> RecorderConfig {
    RecorderConfig {
        kind,
        url: url.into(),
        creds: Some(Creds {
            username: "admin".into(),
            password: Secret::new("rahasia"),
        }),
        timeout,
        ..crate::view::testing::recorder("nvr", false)
    }
}

/// A stand-in device answering through `handler`, and the viewer of `kind`
/// pointed at it.
pub async fn start(
    kind: RecorderKind,
    login: Login,
    timeout: Duration,
    handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
) -> (Server, Box<dyn Viewer>) {
    let server = Server::start(login, Arc::new(handler)).await;
    let cfg = config(kind, &server.url, timeout);
    let viewer = crate::recorders::viewer(&cfg, &Clients::new().unwrap()).unwrap();
    (server, viewer)
}

pub fn jpeg(status: u16, body: Vec<u8>) -> Reply {
    Reply::Bytes {
        status,
        content_type: "image/jpeg",
        body,
    }
}

/// A fixture's body as bytes, as the device sends it.
pub fn fixture(vendor: &str, name: &str) -> String {
    crate::fixture::read(vendor, name)
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
