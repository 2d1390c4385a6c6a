//! Camera view health: a small snapshot per channel now and then, reduced
//! to a few numbers on the agent (`cctv.view`), and the device's own view
//! events. The picture leaves the agent only when a person asks for it.

pub mod config;
pub mod decode;
pub mod sampler;
pub mod stats;
#[cfg(test)]
pub(crate) mod testing;
pub mod track;

pub use config::ViewConfig;
pub use decode::{decode_into, DecodeError, Luma};
pub use sampler::{Look, LookError, TakeError, Views};

use jiff::Timestamp;
use ronda_wire::ViewEvent;

use crate::probe::ProbeError;
use crate::recorders::BoxFuture;

/// Reads one recorder's pictures and what the device says about them.
/// One per recorder kind that can give a snapshot.
pub trait Viewer: Send + Sync {
    /// One JPEG snapshot of `channel` (the configured channel id), as small
    /// as the device offers, refused past `cap` bytes.
    fn snapshot<'a>(
        &'a self,
        channel: &'a str,
        cap: usize,
    ) -> BoxFuture<'a, Result<Vec<u8>, ProbeError>>;

    /// The view events the device raises now for `channel`; empty when it
    /// raises none, an error when they could not be read.
    fn events<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<Vec<ViewEvent>, ProbeError>>;

    /// The device's clock now, when it tells it: a frozen picture is only
    /// frozen while the device's time moves on.
    fn clock(&self) -> BoxFuture<'_, Option<Timestamp>> {
        Box::pin(async { None })
    }
}
