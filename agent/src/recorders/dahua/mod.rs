//! Dahua HTTP API (`/cgi-bin/…`, `key=value` text, digest auth).
//!
//! Reads `magicBox.cgi` (model from `getDeviceType`, else `getSystemInfo`;
//! firmware from `getSoftwareVersion`), `global.cgi?action=getCurrentTime`
//! and the `NTP` config (the clock and its zone),
//! `storageDevice.cgi?action=getDeviceAllInfo` (disks), the `RecordMode`
//! config (per channel 0 automatic, 1 manual, 2 stop; indexed from 0 while
//! channel numbers count from 1), the `StorageGroup` config (overwrite when
//! full) and, per channel, the newest recorded file through a
//! `mediaFileFind.cgi` finder (see [`find`]).
//!
//! Times: Dahua answers in its own wall clock with no offset, and reads the
//! search window the same way, so the window is written from the device's
//! own clock reading. A file's end becomes an instant by its distance from
//! that reading (the zone cancels out, and a skewed device clock does not
//! shift the segment age). The zone is needed for the clock skew alone: it
//! is the `table.NTP.TimeZone` index; where the device does not give one,
//! the agent's own local zone is assumed, as the agent sits in the same
//! office as the recorder.

mod find;
mod parse;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

pub use find::{find_file_answer, parse_object, query_time, Finder, FIND, MAX_PAGES, PAGE};
pub use parse::*;

use super::{Adapter, BoxFuture, ChannelReading, Reading, RecorderConfig};
use crate::http::{Clients, Device};
use crate::probe::{bounded, ProbeError};

/// Finders in use at once: a DVR has only a few.
const PARALLEL_SEARCHES: usize = 2;
/// Search past the device's clock too: the file being written may already
/// carry a slightly later end.
const AHEAD: SignedDuration = SignedDuration::from_mins(5);

pub struct Dahua {
    device: Device,
    channels: Vec<String>,
    lookback: SignedDuration,
    /// The zone assumed when the device names none.
    local: TimeZone,
}

/// The device's clock as read once per probe.
#[derive(Debug, Clone)]
pub struct Clock {
    /// Its wall clock, which the search windows start from.
    pub wall: DateTime,
    /// The agent's time when it was read.
    pub at: Timestamp,
    pub tz: TimeZone,
}

impl Clock {
    /// The device's own reading as an instant, for the skew.
    pub fn device_time(&self) -> Option<Timestamp> {
        self.wall
            .to_zoned(self.tz.clone())
            .ok()
            .map(|z| z.timestamp())
    }

    /// A device wall-clock time as an agent instant: as far before `at`
    /// as it is before the device's reading.
    pub fn instant(&self, wall: DateTime) -> Option<Timestamp> {
        let zoned = |w: DateTime| w.to_zoned(self.tz.clone()).ok();
        let gap = zoned(self.wall)?.duration_until(&zoned(wall)?);
        self.at.checked_add(gap).ok()
    }
}

impl Dahua {
    pub fn new(cfg: &RecorderConfig, clients: &Clients) -> Self {
        Dahua {
            device: cfg.device(clients, &cfg.url),
            channels: cfg.channel_ids(),
            lookback: cfg.lookback(),
            local: TimeZone::system(),
        }
    }

    async fn kv(&self, path: &str) -> Result<Kv, ProbeError> {
        parse_kv(&self.device.get(path).await?)
    }

    /// A call some devices refuse (`Error` with HTTP 400 or 501, or 200):
    /// refused is no opinion, an empty answer. Timeouts and the like fail.
    async fn optional(&self, path: &str) -> Result<Kv, ProbeError> {
        match self.kv(path).await {
            Ok(kv) => Ok(kv),
            Err(e @ (ProbeError::Status { .. } | ProbeError::Device(_))) => {
                tracing::debug!(path, error = %e, "recorder refused; no opinion");
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        }
    }

    async fn read_all(&self, now: Timestamp) -> Result<Reading, ProbeError> {
        let info = self
            .kv("/cgi-bin/magicBox.cgi?action=getSystemInfo")
            .await?;
        let model = parse_device_type(
            &self
                .optional("/cgi-bin/magicBox.cgi?action=getDeviceType")
                .await?,
        )
        .or_else(|| parse_model(&info));
        let firmware = parse_firmware(
            &self
                .kv("/cgi-bin/magicBox.cgi?action=getSoftwareVersion")
                .await?,
        )?;
        let clock = self.clock().await?;
        let disks = parse_disks(
            &self
                .kv("/cgi-bin/storageDevice.cgi?action=getDeviceAllInfo")
                .await?,
        )?;
        let modes = self
            .kv("/cgi-bin/configManager.cgi?action=getConfig&name=RecordMode")
            .await?;
        let overwrite = parse_overwrite(
            &self
                .optional("/cgi-bin/configManager.cgi?action=getConfig&name=StorageGroup")
                .await?,
        );
        let by = clock.clone().unwrap_or_else(|| self.agent_clock(now));
        let searches = self
            .channels
            .iter()
            .map(|id| self.channel(id, &modes, &by))
            .collect();
        let channels = bounded(searches, PARALLEL_SEARCHES).await;
        Ok(Reading {
            model,
            firmware: Some(firmware),
            device_time: clock.as_ref().and_then(Clock::device_time),
            overwrite,
            disks,
            channels,
        })
    }

    /// The device's clock and zone. An unreadable clock is no skew, and the
    /// windows then follow the agent's clock in the assumed zone.
    async fn clock(&self) -> Result<Option<Clock>, ProbeError> {
        let tz = parse_time_zone(
            &self
                .optional("/cgi-bin/configManager.cgi?action=getConfig&name=NTP")
                .await?,
        )
        .unwrap_or_else(|| self.local.clone());
        let time = self.kv("/cgi-bin/global.cgi?action=getCurrentTime").await?;
        let at = Timestamp::now();
        match parse_current_time(&time) {
            Ok(wall) => Ok(Some(Clock { wall, at, tz })),
            Err(e) => {
                tracing::debug!(error = %e, "unreadable device clock; searching by the agent's");
                Ok(None)
            }
        }
    }

    async fn channel(&self, id: &str, modes: &Kv, clock: &Clock) -> ChannelReading {
        let mut r = ChannelReading::new(id);
        let Some(n) = id.parse::<u32>().ok().filter(|n| *n >= 1) else {
            r.error = Some(format!("`{id}` is not a channel number (from 1)"));
            return r;
        };
        // RecordMode counts channels from 0, mediaFileFind from 1.
        r.recording = usize::try_from(n - 1)
            .ok()
            .and_then(|i| record_mode(modes, i));
        match self.newest_file(n, clock).await {
            Ok(end) => r.last_segment_end = end,
            Err(e) => r.error = Some(format!("recording search failed: {e}")),
        }
        r
    }

    /// One finder for one channel, released whatever the search gave.
    async fn newest_file(
        &self,
        channel: u32,
        clock: &Clock,
    ) -> Result<Option<Timestamp>, ProbeError> {
        let (from, to) = window(clock.wall, self.lookback)?;
        let finder = Finder::create(&self.device).await?;
        let found = finder.newest(channel, from, to).await;
        finder.release().await;
        Ok(found?.and_then(|end| clock.instant(end)))
    }

    /// The agent's own clock in the assumed zone, when the device's is
    /// unreadable.
    fn agent_clock(&self, now: Timestamp) -> Clock {
        Clock {
            wall: now.to_zoned(self.local.clone()).datetime(),
            at: now,
            tz: self.local.clone(),
        }
    }
}

/// The search window on the device's wall clock: `lookback` back from it,
/// [`AHEAD`] past it.
pub fn window(
    wall: DateTime,
    lookback: SignedDuration,
) -> Result<(DateTime, DateTime), ProbeError> {
    let bad = |e: jiff::Error| ProbeError::Parse(format!("search window around {wall}: {e}"));
    Ok((
        wall.checked_sub(lookback).map_err(bad)?,
        wall.checked_add(AHEAD).map_err(bad)?,
    ))
}

impl Adapter for Dahua {
    fn read(&self, now: Timestamp) -> BoxFuture<'_, Result<Reading, ProbeError>> {
        Box::pin(self.read_all(now))
    }
}

#[cfg(test)]
mod tests;
