//! Frigate NVR's HTTP API (JSON, no auth on its internal port 5000):
//! `/api/stats` (per-camera capture fps, recordings storage),
//! `/api/version`, and `/api/<camera>/recordings` for the newest recorded
//! segment of each camera. Channel ids are Frigate camera names; the model
//! is "Frigate" and the firmware its version.
//!
//! A camera is online while Frigate receives frames from it
//! (`camera_fps > 0`); one the stats do not list is not online. Frigate
//! does not say whether recording is switched on, so `recording` stays
//! unknown; the newest segment is the proof.
//!
//! Times: ages are measured on Frigate's own clock, the stats'
//! `last_updated` (see [`clock`]), which the search windows are anchored on
//! too; the agent's clock enters neither. Stats without that time give no
//! device time, so no age is claimed, and the windows fall back on the
//! agent's clock, the only one left.
//!
//! Recordings are ten-second segments listed oldest first, about 150 bytes
//! each: a day of them is over a megabyte, more than the agent reads from a
//! device. So the lookback is searched in windows walking back from now, the
//! newest first, and the first window holding a segment holds the newest.

mod clock;
mod parse;
mod view;

use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

pub use clock::{advance, FrigateClock};
pub use parse::*;
pub use view::FrigateViewer;

use super::{Adapter, BoxFuture, ChannelReading, Reading, RecorderConfig};
use crate::http::{Clients, Device};
use crate::probe::{bounded, ProbeError};

/// Cameras asked about at once.
const PARALLEL: usize = 2;
/// The newest window: a camera that records has its newest segment here
/// (segments reach the list 10–20 s after they end).
const FIRST_WINDOW: SignedDuration = SignedDuration::from_mins(10);
/// Older windows, an hour each: about 360 segments, 55 kB.
const WINDOW: SignedDuration = SignedDuration::from_hours(1);
/// Requests per camera, all windows together: covers 10 minutes and 7 hours.
/// A camera silent for longer than that within a longer lookback reads as
/// having no segment, which is as much an alarm as an old one.
const MAX_REQUESTS: usize = 8;
/// How far Frigate's stats may lag its clock: it refreshes them every
/// `stats_interval` (60 s by default); twice that for safety.
const STATS_LAG: SignedDuration = SignedDuration::from_mins(2);
/// Ask past the anchor too: Frigate's stated time lags its now by up to a
/// stats interval, and without it the agent's clock may be behind.
const AHEAD: SignedDuration = SignedDuration::from_mins(5);

pub struct Frigate {
    device: Device,
    cameras: Vec<String>,
    lookback: SignedDuration,
    clock: FrigateClock,
}

impl Frigate {
    pub fn new(cfg: &RecorderConfig, clients: &Clients) -> Self {
        Frigate {
            device: cfg.device(clients, &cfg.url),
            cameras: cfg.channel_ids(),
            lookback: cfg.lookback(),
            clock: FrigateClock::default(),
        }
    }

    async fn read_all(&self, now: Timestamp) -> Result<Reading, ProbeError> {
        let stats = parse_stats(&self.device.get("/api/stats").await?)?;
        let firmware = match self.device.get("/api/version").await {
            Ok(body) => Some(parse_version(&body)?),
            // A proxy that does not pass /api/version: the stats say it too.
            Err(ProbeError::Status { .. }) => stats_version(&stats).map(str::to_owned),
            Err(e) => return Err(e),
        };
        let clock = stats_time(&stats).map(|t| self.clock.now(t, Instant::now()));
        let detected = vec![match clock {
            Some(_) => "clock: /api/stats service.last_updated".to_owned(),
            None => "clock: not in /api/stats; no age claimed".to_owned(),
        }];
        let anchor = clock.unwrap_or(now);
        let reads = self
            .cameras
            .iter()
            .map(|cam| self.camera(cam, &stats, anchor))
            .collect();
        let channels: Vec<ChannelReading> = bounded(reads, PARALLEL).await;
        // A listed segment has ended on Frigate's clock: its end is a lower
        // bound of Frigate's now as well, and may be the closer one. Not
        // beyond what the stats' lag allows, so that one absurd end cannot
        // age every other camera.
        let newest = channels.iter().filter_map(|c| c.last_segment_end).max();
        let device_time = clock.map(|t| {
            let cap = t.checked_add(STATS_LAG).unwrap_or(t);
            newest.map_or(t, |end| t.max(end.min(cap)))
        });
        Ok(Reading {
            model: Some("Frigate".into()),
            firmware,
            device_time,
            skew_unknown: false,
            overwrite: None,
            disks: recordings_disk(&stats).into_iter().collect(),
            channels,
            detected,
        })
    }

    /// One camera, its windows anchored on `now`, Frigate's time.
    async fn camera(&self, cam: &str, stats: &Value, now: Timestamp) -> ChannelReading {
        let mut r = ChannelReading::new(cam);
        r.online = Some(camera_fps(stats, cam).is_some_and(|fps| fps > 0.0));
        match self.newest_segment(cam, now).await {
            Ok(end) => r.last_segment_end = end,
            Err(e) => r.error = Some(format!("recordings query failed: {e}")),
        }
        r
    }

    /// The newest segment end within the lookback, window by window.
    async fn newest_segment(
        &self,
        cam: &str,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, ProbeError> {
        // Checked: `now` is Frigate's own clock, which may say anything.
        let at = |d: SignedDuration| now.checked_add(d).map(|t| t.as_second());
        let bad = || ProbeError::Parse(format!("Frigate's clock {now} is out of range"));
        for (older, newer) in windows(self.lookback).into_iter().take(MAX_REQUESTS) {
            let after = at(-older).map_err(|_| bad())?;
            let before = if newer.is_zero() {
                at(AHEAD)
            } else {
                at(-newer)
            };
            let before = before.map_err(|_| bad())?;
            let path = format!(
                "/api/{}/recordings?after={after}&before={before}",
                path_segment(cam)
            );
            if let Some(end) = newest_recording(&self.device.get(&path).await?)? {
                return Ok(Some(end));
            }
        }
        Ok(None)
    }
}

impl Adapter for Frigate {
    fn read(&self, now: Timestamp) -> BoxFuture<'_, Result<Reading, ProbeError>> {
        Box::pin(self.read_all(now))
    }
}

/// The windows covering `lookback`, newest first, as (start, end) ages
/// before now: [`FIRST_WINDOW`], then an hour at a time.
pub fn windows(lookback: SignedDuration) -> Vec<(SignedDuration, SignedDuration)> {
    let mut out = Vec::new();
    let (mut newer, mut older) = (SignedDuration::ZERO, FIRST_WINDOW.min(lookback));
    loop {
        out.push((older, newer));
        if older >= lookback || out.len() >= MAX_REQUESTS {
            return out;
        }
        newer = older;
        older = (older + WINDOW).min(lookback);
    }
}

/// A camera name as one URL path segment. Frigate's names are letters,
/// digits, `_` and `-`; anything else is percent-encoded rather than
/// allowed to change the path.
pub fn path_segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_view;
