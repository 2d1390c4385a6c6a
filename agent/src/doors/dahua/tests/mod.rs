//! Tests of the Dahua access adapter against a stand-in device over real
//! HTTP, keeping records in a real outbox (the harness is the Hikvision
//! tests' `server` and `office`).

mod attacks;
mod device;
mod events;
mod parse;
mod resume;

use jiff::tz::Offset;
use tempfile::TempDir;

use super::Poller;
use crate::doors::hikvision::tests::office::{self, Office};
pub use crate::doors::hikvision::tests::server::{Login, Reply};
use crate::doors::{AccessConfig, AccessKind};
use crate::http::Clients;

pub const ID: &str = "pintu-samping";
/// 23:00 WIB on 25 December 2025, the stand-in's clock.
pub const DEVICE_NOW: i64 = 1_766_678_400;
pub const FIND: &str = "/cgi-bin/recordFinder.cgi";

/// A Dahua controller in WIB, as the config requires it to say.
pub fn config(url: &str) -> AccessConfig {
    let mut c = office::config(ID, AccessKind::DahuaAccess, url);
    c.offset = Some(Offset::constant(7));
    c
}

pub fn stepped(dir: Option<TempDir>, config: AccessConfig) -> (Office, Poller) {
    let (office, hub) = Office::manual(dir, std::slice::from_ref(&config));
    let poller = Poller::new(config, &Clients::new().unwrap(), hub).unwrap();
    (office, poller)
}
