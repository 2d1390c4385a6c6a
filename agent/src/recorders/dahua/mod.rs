//! Dahua HTTP API (`/cgi-bin/…`, `key=value` text, digest auth).
//!
//! Reads `magicBox.cgi` (model from `getDeviceType`, else `getSystemInfo`;
//! firmware from `getSoftwareVersion`), `global.cgi?action=getCurrentTime`
//! and the `NTP` config (the clock and its zone),
//! `storageDevice.cgi?action=getDeviceAllInfo` (disks), the `RecordMode`
//! config (per channel 0 automatic, 1 manual, 2 stop; indexed from 0 while
//! channel numbers count from 1), the `StorageGroup` config (overwrite when
//! full; firmware that does not know it refuses it, and overwrite is then
//! unknown) and, per channel, the newest recorded file through a
//! `mediaFileFind.cgi` finder (see [`find`]).
//!
//! Times: Dahua answers in its own wall clock with no offset, and reads the
//! search window the same way, so the window is written from the device's
//! own clock reading. The device's time and its files' ends are both read
//! in the device's zone, so a segment's age is their difference on the
//! device's own clock: neither the zone nor the agent's clock enters it.
//! The zone matters for the clock skew alone: it is the `table.NTP.TimeZone`
//! index; where the device does not give one, the agent's own local zone is
//! assumed, as the agent sits in the same office as the recorder.
//!
//! A locked account (too many failed logins) is told from a wrong password
//! by the device's answer (see [`lock`]).

mod find;
mod lock;
mod parse;
mod view;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

pub use find::{find_file_answer, parse_object, query_time, Finder, FIND, MAX_PAGES, PAGE};
pub use lock::parse_lock;
pub use parse::*;
pub use view::{parse_indexes, DahuaViewer};

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
    /// Its zone, or the one assumed.
    pub tz: TimeZone,
    /// Whether the device named its zone (else `tz` is assumed).
    pub zone_known: bool,
    /// Whether `wall` is the device's own reading (not the agent's clock
    /// standing in for an unreadable one).
    pub own: bool,
}

impl Clock {
    /// A device wall-clock time as an instant, read in the device's zone:
    /// the device's own frame, whatever the agent's clock says.
    pub fn instant(&self, wall: DateTime) -> Option<Timestamp> {
        wall.to_zoned(self.tz.clone()).ok().map(|z| z.timestamp())
    }

    /// The device's own time now, in the same frame as [`Clock::instant`];
    /// `None` when the device did not tell it.
    pub fn device_time(&self) -> Option<Timestamp> {
        self.own.then(|| self.instant(self.wall)).flatten()
    }
}

impl Dahua {
    pub fn new(cfg: &RecorderConfig, clients: &Clients) -> Self {
        Dahua {
            device: cfg.device(clients, &cfg.url).with_lock_reader(parse_lock),
            channels: cfg.channel_ids(),
            lookback: cfg.lookback(),
            local: TimeZone::system(),
        }
    }

    async fn kv(&self, path: &str) -> Result<Kv, ProbeError> {
        parse_kv(&self.device.get(path).await?)
    }

    /// A call some devices refuse (`Error` with HTTP 400 or 501, or 200, as
    /// for a config name the firmware does not know): refused is no
    /// opinion, `None`. Timeouts, logins refused and the like fail.
    async fn optional(&self, path: &str) -> Result<Option<Kv>, ProbeError> {
        match self.kv(path).await {
            Ok(kv) => Ok(Some(kv)),
            Err(e @ (ProbeError::Status { .. } | ProbeError::Device(_))) => {
                tracing::debug!(path, error = %e, "recorder refused; no opinion");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    async fn read_all(&self, now: Timestamp) -> Result<Reading, ProbeError> {
        let info = self
            .kv("/cgi-bin/magicBox.cgi?action=getSystemInfo")
            .await?;
        let model = self
            .optional("/cgi-bin/magicBox.cgi?action=getDeviceType")
            .await?
            .and_then(|kv| parse_device_type(&kv))
            .or_else(|| parse_model(&info));
        let firmware = parse_firmware(
            &self
                .kv("/cgi-bin/magicBox.cgi?action=getSoftwareVersion")
                .await?,
        )?;
        let mut detected = Vec::new();
        let clock = self.clock(now, &mut detected).await?;
        let disks = parse_disks(
            &self
                .kv("/cgi-bin/storageDevice.cgi?action=getDeviceAllInfo")
                .await?,
        )?;
        let modes = self
            .kv("/cgi-bin/configManager.cgi?action=getConfig&name=RecordMode")
            .await?;
        let overwrite = self.overwrite(&mut detected).await?;
        let searches = self
            .channels
            .iter()
            .map(|id| self.channel(id, &modes, &clock))
            .collect();
        let channels = bounded(searches, PARALLEL_SEARCHES).await;
        Ok(Reading {
            model,
            firmware: Some(firmware),
            device_time: clock.device_time(),
            // In an assumed zone the device time is good for ages only.
            skew_unknown: !clock.zone_known,
            overwrite,
            disks,
            channels,
            detected,
        })
    }

    /// Overwrite when full, from the `StorageGroup` config (NetSDK
    /// `CFG_CMD_STORAGEGROUP`, `AV_CFG_StorageGroup.bOverWrite`), the one
    /// place Dahua's documents keep it. Firmware that does not know the
    /// config refuses it: overwrite is then unknown, and said so.
    async fn overwrite(&self, detected: &mut Vec<String>) -> Result<Option<bool>, ProbeError> {
        let groups = self
            .optional("/cgi-bin/configManager.cgi?action=getConfig&name=StorageGroup")
            .await?;
        let overwrite = groups.as_deref().and_then(parse_overwrite);
        detected.push(match (&groups, overwrite) {
            (None, _) => "overwrite: not readable (StorageGroup refused)".into(),
            (Some(_), None) => "overwrite: not readable (no OverWrite in StorageGroup)".into(),
            (Some(_), Some(_)) => "overwrite: StorageGroup".into(),
        });
        Ok(overwrite)
    }

    /// The device's clock and zone. An unreadable clock gives no device
    /// time (so no age is claimed), and the windows then follow the
    /// agent's clock in the assumed zone, the only clock left.
    async fn clock(&self, now: Timestamp, detected: &mut Vec<String>) -> Result<Clock, ProbeError> {
        let ntp = self
            .optional("/cgi-bin/configManager.cgi?action=getConfig&name=NTP")
            .await?;
        let zone = ntp.as_deref().and_then(parse_time_zone);
        detected.push(match &zone {
            Some(tz) => format!("time-zone: NTP.TimeZone (UTC{})", tz.to_offset(now)),
            None => "time-zone: not given; the agent's own assumed".into(),
        });
        let zone_known = zone.is_some();
        let tz = zone.unwrap_or_else(|| self.local.clone());
        let time = self.kv("/cgi-bin/global.cgi?action=getCurrentTime").await?;
        match parse_current_time(&time) {
            Ok(wall) => Ok(Clock {
                wall,
                tz,
                zone_known,
                own: true,
            }),
            Err(e) => {
                tracing::debug!(error = %e, "unreadable device clock; searching by the agent's");
                detected.push("clock: unreadable; no age claimed".into());
                Ok(Clock {
                    wall: now.to_zoned(tz.clone()).datetime(),
                    tz,
                    zone_known,
                    own: false,
                })
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
        match found? {
            None => Ok(None),
            // A file end the zone cannot place (a DST gap) is unread, not
            // "nothing recorded".
            Some(end) => clock.instant(end).map(Some).ok_or_else(|| {
                ProbeError::Parse(format!("file end {end} is not a time in the device's zone"))
            }),
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
#[cfg(test)]
mod tests_view;
