//! Hikvision ISAPI (XML over HTTP, digest auth).
//!
//! Reads the device (`System/deviceInfo`, `System/status`), its disks
//! (`ContentMgmt/Storage`), the recording tracks (`ContentMgmt/record/tracks`:
//! `Enable` per track, `LoopEnable` the overwrite setting), the IP channels'
//! link state (`ContentMgmt/InputProxy/channels/status`) and, per channel,
//! the newest recorded segment through `POST ContentMgmt/search` on track
//! `channel × 100 + 1`.
//!
//! Times: recorders answer the search in their own wall-clock time, even
//! where the text ends in `Z` (a long-standing ISAPI quirk), and read the
//! request's times the same way. Converting to UTC would shift the window
//! by the device's offset (7 hours in WIB) and miss the newest footage. So
//! the window is written, and the answers read, in the offset that the
//! device's own `currentDeviceTime` states; a time that carries a numeric
//! offset is taken as written.

mod parse;
mod search;

use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};

pub use parse::*;
pub use search::{search_request, windows};

use super::{Adapter, BoxFuture, ChannelReading, Reading, RecorderConfig};
use crate::http::{Clients, Device};
use crate::probe::{bounded, ProbeError};

/// Channel searches in flight at once: recorders answer searches slowly,
/// and a small NVR has few search slots.
const PARALLEL_SEARCHES: usize = 2;

pub struct Hikvision {
    device: Device,
    channels: Vec<String>,
    lookback: SignedDuration,
}

impl Hikvision {
    pub fn new(cfg: &RecorderConfig, clients: &Clients) -> Self {
        Hikvision {
            device: cfg.device(clients, &cfg.url),
            channels: cfg.channel_ids(),
            lookback: cfg.lookback(),
        }
    }

    async fn read_all(&self, now: Timestamp) -> Result<Reading, ProbeError> {
        let (model, firmware) =
            parse_device_info(&self.device.get("/ISAPI/System/deviceInfo").await?)?;
        let clock = parse_status(&self.device.get("/ISAPI/System/status").await?)?;
        let disks = parse_storage(&self.device.get("/ISAPI/ContentMgmt/Storage").await?)?;
        let tracks = self
            .optional("/ISAPI/ContentMgmt/record/tracks", parse_tracks)
            .await?;
        // Overwrite is a device setting (Storage/extension); older firmware
        // only says it per track.
        let extension = self
            .optional(
                "/ISAPI/ContentMgmt/Storage/extension",
                parse_storage_extension,
            )
            .await?;
        let links = self
            .optional(
                "/ISAPI/ContentMgmt/InputProxy/channels/status",
                parse_channel_status,
            )
            .await?;
        // The search window follows the device's own clock when it told us
        // one: its recordings are stamped by that clock, skewed or not.
        let anchor = clock.time.unwrap_or(now);
        let searches = self
            .channels
            .iter()
            .map(|id| self.channel(id, &tracks, &links, anchor, clock.offset))
            .collect();
        let channels = bounded(searches, PARALLEL_SEARCHES).await;
        Ok(Reading {
            model: Some(model),
            firmware: Some(firmware),
            device_time: clock.time,
            overwrite: extension
                .first()
                .copied()
                .or_else(|| tracks_overwrite(&tracks)),
            disks,
            channels,
        })
    }

    /// An answer some recorders do not have (no IP channels, old firmware):
    /// an HTTP error status means no opinion, an empty list.
    async fn optional<T>(
        &self,
        path: &str,
        parse: fn(&str) -> Result<Vec<T>, ProbeError>,
    ) -> Result<Vec<T>, ProbeError> {
        match self.device.get(path).await {
            Ok(body) => parse(&body),
            Err(ProbeError::Status { status, .. }) => {
                tracing::debug!(path, status, "recorder does not serve this; no opinion");
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        }
    }

    async fn channel(
        &self,
        id: &str,
        tracks: &[Track],
        links: &[Link],
        anchor: Timestamp,
        offset: Offset,
    ) -> ChannelReading {
        let mut r = ChannelReading::new(id);
        let Ok(n) = id.parse::<u32>() else {
            r.error = Some(format!("`{id}` is not a channel number"));
            return r;
        };
        let track = n.saturating_mul(100).saturating_add(1);
        r.recording = tracks.iter().find(|t| t.id == track).map(|t| t.enabled);
        r.online = links.iter().find(|l| l.id == id).and_then(|l| l.online);
        match self.newest_segment(track, anchor, offset).await {
            Ok(end) => r.last_segment_end = end,
            Err(e) => r.error = Some(format!("recording search failed: {e}")),
        }
        r
    }
}

impl Adapter for Hikvision {
    fn read(&self, now: Timestamp) -> BoxFuture<'_, Result<Reading, ProbeError>> {
        Box::pin(self.read_all(now))
    }
}

#[cfg(test)]
mod tests;
