//! Tests of the Hikvision access adapter against stand-in devices over real
//! HTTP, keeping events in a real outbox. `server` and `office` are shared
//! with the Dahua adapter's tests.

pub(crate) mod device;
pub(crate) mod office;
pub(crate) mod server;

mod attacks;
mod events;
mod parse;
mod resume;

use tempfile::TempDir;

use super::Poller;
use crate::doors::{AccessConfig, AccessKind};
use crate::http::Clients;
use office::Office;

pub const ID: &str = "pintu-depan";

pub fn config(url: &str) -> AccessConfig {
    office::config(ID, AccessKind::HikvisionAccess, url)
}

/// An office with one controller at `config`, driven one poll at a time.
pub fn stepped(dir: Option<TempDir>, config: AccessConfig) -> (Office, Poller) {
    let (office, hub) = Office::manual(dir, std::slice::from_ref(&config));
    let poller = Poller::new(config, &Clients::new().unwrap(), hub).unwrap();
    (office, poller)
}
