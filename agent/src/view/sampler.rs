//! The agent's one view sampler: every channel of every recorder that gives
//! snapshots, every `view.every` (each wait drawn between 0.75× and 1.5× so
//! that offices do not fall into step), one snapshot at a time in the whole
//! agent. The samples go into every report; the picture goes nowhere.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;
use ronda_wire::{Recorder, ViewStats};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::config::ViewConfig;
use super::decode::{decode_into, jpeg_end, DecodeError, Luma};
use super::track::{bytes_hash, Seen, Track};
use super::{stats, Viewer};
use crate::http::Clients;
use crate::pause::Pause;
use crate::probe::{backstop, with_deadline, ProbeError};
use crate::recorders::{self, RecorderConfig};

/// A recorder the sampler looks through.
struct Target {
    id: String,
    channels: Vec<String>,
    view: ViewConfig,
    timeout: Duration,
    viewer: Box<dyn Viewer>,
    /// The recorder's login record: a wrong password pauses the recorder's
    /// probe and its sampler alike, so the device does not lock the office
    /// out after a handful of refused logins.
    pause: Arc<Pause>,
}

/// One snapshot and its numbers. The JPEG is personal data: no `Debug`.
pub struct Look {
    /// The JPEG up to its end marker.
    pub jpeg: Vec<u8>,
    pub stats: ViewStats,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LookError {
    #[error(transparent)]
    Device(#[from] ProbeError),
    #[error("snapshot: {0}")]
    Decode(#[from] DecodeError),
}

/// Why `view.snapshot` could not answer with a picture.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TakeError {
    #[error("this agent has no recorder `{0}`")]
    NoRecorder(String),
    #[error("recorder `{0}` has no channel `{1}`")]
    NoChannel(String, String),
    #[error("recorder `{0}` gives no snapshots, or its view is off in this agent's config")]
    NoView(String),
    #[error("recorder `{0}` is left alone after a refused login: {1}")]
    Paused(String, String),
    #[error("could not take a snapshot of recorder `{0}` channel `{1}`: {2}")]
    Failed(String, String, LookError),
}

/// The view sampler's state, shared by its task, the reports and commands.
pub struct Views {
    /// Every configured recorder's channels, to name what is unknown.
    known: BTreeMap<String, Vec<String>>,
    targets: Vec<Target>,
    /// One snapshot at a time in the whole agent; the luma buffer is reused.
    turn: tokio::sync::Mutex<Luma>,
    tracks: Mutex<BTreeMap<String, BTreeMap<String, Track>>>,
}

impl Views {
    /// The viewers of the watched recorders that give snapshots, sharing
    /// each recorder's login record.
    pub fn build(recorders: &[recorders::Watched], clients: &Clients) -> Views {
        let viewers = recorders
            .iter()
            .map(|w| (w.config.clone(), recorders::viewer(&w.config, clients)));
        let mut views = Views::new(viewers.collect());
        for t in &mut views.targets {
            if let Some(w) = recorders.iter().find(|w| w.config.id == t.id) {
                t.pause = w.pause();
            }
        }
        views
    }

    /// From explicit viewers (`None`: the recorder gives no snapshots).
    pub fn new(recorders: Vec<(RecorderConfig, Option<Box<dyn Viewer>>)>) -> Views {
        let known = recorders
            .iter()
            .map(|(r, _)| (r.id.clone(), r.channel_ids()))
            .collect();
        let targets = recorders
            .into_iter()
            .filter_map(|(r, viewer)| {
                Some(Target {
                    view: r.view?,
                    viewer: viewer?,
                    channels: r.channel_ids(),
                    timeout: r.timeout,
                    pause: Arc::default(),
                    id: r.id,
                })
            })
            .collect();
        Views {
            known,
            targets,
            turn: tokio::sync::Mutex::new(Luma::default()),
            tracks: Mutex::default(),
        }
    }

    /// Whether any channel is sampled at all.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Sample until `shutdown` fires.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let start = Instant::now();
        // The first samples spread over one period, not all at start-up.
        let mut due: Vec<(Instant, usize, usize)> = (self.targets.iter().enumerate())
            .flat_map(|(t, target)| {
                let first = target.view.every.mul_f64(fastrand::f64());
                (0..target.channels.len()).map(move |c| (start + first, t, c))
            })
            .collect();
        loop {
            let Some(next) = due.iter_mut().min_by_key(|d| d.0) else {
                return;
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep_until(next.0) => {}
            }
            let (t, c) = (next.1, next.2);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.sample(t, c) => {}
            }
            next.0 = Instant::now() + jitter(self.targets[t].view.every);
        }
    }

    /// One look at every channel now, one after another: a one-shot report
    /// (`probe`, `doctor`) shows each camera's view too.
    pub async fn look_all(&self) {
        for (t, target) in self.targets.iter().enumerate() {
            for c in 0..target.channels.len() {
                self.sample(t, c).await;
            }
        }
    }

    /// Take one sample of target `t`'s channel `c` and keep it.
    async fn sample(&self, t: usize, c: usize) {
        let target = &self.targets[t];
        let channel = &target.channels[c];
        // Paused after a refused login: the report says so, and the view
        // is judged no-data meanwhile.
        if target.pause.active().is_some() {
            return;
        }
        let at = Timestamp::now();
        let deadline = backstop(target.timeout);
        let mut luma = self.turn.lock().await;
        // An error reading the events is not a failed sample: the events
        // are then just absent.
        let events = with_deadline(deadline, target.viewer.events(channel)).await;
        let clock = tokio::time::timeout(deadline, target.viewer.clock())
            .await
            .ok()
            .flatten();
        let picture = look(target, channel, &mut luma).await;
        drop(luma);
        if let Err(LookError::Device(e)) = &picture {
            if let Some(p) = target.pause.record(&Err::<(), _>(e.clone())) {
                tracing::warn!(recorder = %target.id, error = %crate::pause::describe(&p), "login refused on a snapshot; leaving the recorder alone");
                return;
            }
        }
        let seen = Seen {
            events: events.unwrap_or_default(),
            picture: Some(
                picture
                    .map(|l| (l.stats, bytes_hash(&l.jpeg)))
                    .map_err(|e| e.to_string()),
            ),
            clock,
        };
        let mut tracks = self.tracks();
        let track = tracks
            .entry(target.id.clone())
            .or_default()
            .entry(channel.clone())
            .or_default();
        track.push(seen, at, std::time::Instant::now());
    }

    /// One snapshot for a person to look at (`view.snapshot`), in its turn.
    pub async fn take(&self, recorder: &str, channel: &str) -> Result<Look, TakeError> {
        let channels = self
            .known
            .get(recorder)
            .ok_or_else(|| TakeError::NoRecorder(recorder.into()))?;
        if !channels.iter().any(|c| c == channel) {
            return Err(TakeError::NoChannel(recorder.into(), channel.into()));
        }
        let target = self
            .targets
            .iter()
            .find(|t| t.id == recorder)
            .ok_or_else(|| TakeError::NoView(recorder.into()))?;
        if let Some(p) = target.pause.active() {
            return Err(TakeError::Paused(
                recorder.into(),
                crate::pause::describe(&p),
            ));
        }
        let mut luma = self.turn.lock().await;
        look(target, channel, &mut luma)
            .await
            .map_err(|e| TakeError::Failed(recorder.into(), channel.into(), e))
    }

    /// Put each channel's latest samples into its `view`: empty for a
    /// channel not looked at yet, absent for one this agent never looks at.
    pub fn merge(&self, recorders: &mut [Recorder]) {
        let tracks = self.tracks();
        for r in recorders {
            if !self.targets.iter().any(|t| t.id == r.id) {
                continue;
            }
            let channels = tracks.get(&r.id);
            for ch in &mut r.channels {
                let track = channels.and_then(|c| c.get(&ch.id));
                ch.view = Some(track.and_then(Track::view).unwrap_or_default());
            }
        }
    }

    fn tracks(&self) -> MutexGuard<'_, BTreeMap<String, BTreeMap<String, Track>>> {
        self.tracks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A wait of 0.75× to 1.5× `every`.
fn jitter(every: Duration) -> Duration {
    every.mul_f64(0.75 + 0.75 * fastrand::f64())
}

/// Snapshot, decode and reduce to numbers; the caller holds the turn.
async fn look(target: &Target, channel: &str, luma: &mut Luma) -> Result<Look, LookError> {
    let cap = target.view.cap;
    let deadline = backstop(target.timeout);
    let mut jpeg = with_deadline(deadline, target.viewer.snapshot(channel, cap)).await?;
    let end = jpeg_end(&jpeg)?.len();
    jpeg.truncate(end);
    // The decode is a few milliseconds of CPU: off the async threads.
    let mut work = std::mem::take(luma);
    let (work, jpeg, stats) = tokio::task::spawn_blocking(move || {
        let stats = decode_into(&jpeg, cap, &mut work).map(|()| stats::stats(&work));
        (work, jpeg, stats)
    })
    .await
    .map_err(|e| DecodeError::Damaged(format!("the decoder stopped: {e}")))?;
    *luma = work;
    Ok(Look {
        jpeg,
        stats: stats?,
    })
}

#[cfg(test)]
#[path = "sampler_tests.rs"]
mod tests;
