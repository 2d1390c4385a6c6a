//! Hikvision ISAPI (XML over HTTP, digest auth).
//!
//! Reads the device (`System/deviceInfo`), its clock (`System/status`, and
//! `System/time` where the status names no offset), its disks
//! (`ContentMgmt/Storage`), the recording tracks (`ContentMgmt/record/tracks`:
//! `Enable` per track, `LoopEnable` the overwrite setting), the IP channels'
//! link state (`ContentMgmt/InputProxy/channels/status`) and, per channel,
//! the newest recorded segment through `POST ContentMgmt/search` on track
//! `channel × 100 + 1`.
//!
//! Times: every age is measured on the recorder's own clock (see `clock`).
//! The search's `…Z` times are the device's wall clock on some firmware and
//! true UTC on other; which one is found per device from its answers and
//! kept (see `convention`), and reported as `search-times: …`.
//!
//! A login refused because the account is locked answers a `userCheck`
//! body with `lockStatus` `lock`; it becomes [`ProbeError::Locked`] with the
//! time left, so the agent waits it out instead of prolonging the lock.

mod clock;
mod convention;
mod parse;
mod search;
mod view;

use std::sync::{Mutex, MutexGuard};

use jiff::civil::DateTime;
use jiff::{SignedDuration, Timestamp};

pub use clock::{
    offset_of, parse_status, parse_system_time, posix_zone, resolve, stated, DeviceClock, Stated,
    Suffix, SystemTime, Zone,
};
pub use convention::{decide, spans, Ends, Evidence, Memory, Mode, SearchTimes, Settled, FRESH};
pub use parse::*;
pub use search::{search_request, text, windows, Found, AHEAD};
pub use view::{parse_alerts, HikvisionViewer};

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
    /// The device's search-time convention, once found, and what finding
    /// it needs from the previous round.
    memory: Mutex<Memory>,
}

impl Hikvision {
    pub fn new(cfg: &RecorderConfig, clients: &Clients) -> Self {
        Hikvision {
            device: cfg.device(clients, &cfg.url).with_lock_reader(read_lock),
            channels: cfg.channel_ids(),
            lookback: cfg.lookback(),
            memory: Mutex::new(Memory::default()),
        }
    }

    async fn read_all(&self) -> Result<Reading, ProbeError> {
        let (model, firmware) =
            parse_device_info(&self.device.get("/ISAPI/System/deviceInfo").await?)?;
        let clock = self.clock().await?;
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
        let (channels, search_times) = self.recordings(&clock, &tracks, &links).await;
        Ok(Reading {
            model: Some(model),
            firmware: Some(firmware),
            device_time: Some(clock.now),
            skew_unknown: clock.offset.is_none(),
            overwrite: extension
                .first()
                .copied()
                .or_else(|| tracks_overwrite(&tracks)),
            disks,
            channels,
            detected: vec![clock.note, search_times.to_owned()],
        })
    }

    async fn clock(&self) -> Result<DeviceClock, ProbeError> {
        read_clock(&self.device).await
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

    /// Every channel with its newest segment, read by the device's search
    /// convention (found on the way if need be), and the convention's line.
    async fn recordings(
        &self,
        clock: &DeviceClock,
        tracks: &[Track],
        links: &[Link],
    ) -> (Vec<ChannelReading>, &'static str) {
        let offset = clock.offset.unwrap_or(jiff::tz::Offset::UTC);
        let mut mode = self.memory().mode(clock.offset);
        loop {
            let spans = spans(mode, clock.now, offset, self.lookback);
            let searches = self.channels.iter().map(|id| self.search(id, &spans));
            let found = bounded(searches.collect(), PARALLEL_SEARCHES).await;
            let results: Vec<(&str, Result<Found, ProbeError>)> = self
                .channels
                .iter()
                .map(String::as_str)
                .zip(found)
                .collect();
            match self.memory().settle(mode, clock.now, offset, &results) {
                // Detecting never asks for another round.
                Settled::Redo => mode = Mode::Detect,
                Settled::Done(ends, line) => {
                    let channels = self
                        .channels
                        .iter()
                        .zip(ends)
                        .map(|(id, e)| channel(id, tracks, links, e))
                        .collect();
                    return (channels, line);
                }
            }
        }
    }

    async fn search(&self, id: &str, spans: &[(DateTime, DateTime)]) -> Result<Found, ProbeError> {
        let n = id
            .parse::<u32>()
            .map_err(|_| ProbeError::Device(format!("`{id}` is not a channel number")))?;
        self.newest_segment(track_of(n), spans).await
    }

    fn memory(&self) -> MutexGuard<'_, Memory> {
        // The memory is plain data; a panicked holder leaves it usable.
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The device's own clock: `currentDeviceTime`, and `System/time` when
/// that names no offset. An unreadable `System/time` leaves the zone
/// unknown rather than failing the read.
pub(crate) async fn read_clock(device: &Device) -> Result<DeviceClock, ProbeError> {
    let status = parse_status(&device.get("/ISAPI/System/status").await?)?;
    let system = match status.suffix {
        Suffix::Offset(_) => None,
        Suffix::Z | Suffix::Bare => match device.get("/ISAPI/System/time").await {
            Ok(body) => parse_system_time(&body).ok(),
            Err(ProbeError::Status { .. } | ProbeError::Parse(_)) => None,
            Err(e) => return Err(e),
        },
    };
    resolve(status, system)
}

/// A channel's main-stream recording track.
fn track_of(channel: u32) -> u32 {
    channel.saturating_mul(100).saturating_add(1)
}

fn channel(id: &str, tracks: &[Track], links: &[Link], ends: Ends) -> ChannelReading {
    let track = id.parse::<u32>().ok().map(track_of);
    ChannelReading {
        recording: tracks
            .iter()
            .find(|t| Some(t.id) == track)
            .map(|t| t.enabled),
        online: links.iter().find(|l| l.id == id).and_then(|l| l.online),
        last_segment_end: ends.end,
        last_segment_end_other: ends.other,
        error: ends.error,
        ..ChannelReading::new(id)
    }
}

impl Adapter for Hikvision {
    /// The agent's clock is not used: the device's own is.
    fn read(&self, _now: Timestamp) -> BoxFuture<'_, Result<Reading, ProbeError>> {
        Box::pin(self.read_all())
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_time;
#[cfg(test)]
mod tests_view;
