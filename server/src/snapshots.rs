//! Live snapshots in memory only. A person's request waits here for the
//! agent's answer (one-shot waiters by command id); the numbers of a
//! snapshot just shown wait behind a one-time token for the pin form; and
//! each user may ask for a few a minute.
//!
//! The picture is personal data (UU 27/2022): it passes from ingest to the
//! waiting page and is dropped. Nothing here logs it, stores it or shows
//! it in `Debug` (`ronda_wire::Snapshot` prints its length only).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ronda_wire::{CommandResult, Snapshot, ViewStats};
use tokio::sync::oneshot;

/// How long a page waits for the agent's answer.
pub const WAIT: Duration = Duration::from_secs(20);
/// How long the pin form of a snapshot shown stays good.
pub const TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
/// Snapshots one user may ask for per [`RATE_WINDOW`].
pub const PER_MINUTE: usize = 6;
const RATE_WINDOW: Duration = Duration::from_secs(60);
/// Snapshots in flight at once, all users together.
pub const MAX_WAITING: usize = 32;
/// Pin forms held at once; the oldest go first beyond it.
const MAX_HELD: usize = 1_000;

/// What the agent answered a `view.snapshot` with.
#[derive(Debug)]
pub enum Answer {
    Picture(Snapshot),
    /// The agent could not take it, and said why.
    Refused(String),
}

struct Waiter {
    office: String,
    agent: String,
    tx: oneshot::Sender<Answer>,
}

/// The numbers of a snapshot shown to `user`, for the pin form.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub user: String,
    pub office: String,
    pub agent: String,
    pub recorder: String,
    pub channel: String,
    pub stats: ViewStats,
}

#[derive(Default)]
pub struct Snapshots {
    waiting: Mutex<HashMap<String, Waiter>>,
    held: Mutex<HashMap<String, (Held, Instant)>>,
    asked: Mutex<HashMap<String, VecDeque<Instant>>>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SnapshotError {
    #[error("at most {PER_MINUTE} live snapshots a minute per user; try again in {0} s")]
    TooMany(u64),
    #[error("too many live snapshots are being taken at once; try again in a moment")]
    Busy,
}

/// A request waiting for its answer; dropped, it stops waiting.
pub struct Ticket {
    snapshots: Arc<Snapshots>,
    id: String,
    rx: Option<oneshot::Receiver<Answer>>,
}

impl Ticket {
    /// The agent's answer, or `None` after `wait`.
    pub async fn answer(mut self, wait: Duration) -> Option<Answer> {
        let rx = self.rx.take()?;
        tokio::time::timeout(wait, rx).await.ok()?.ok()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Ok(mut w) = self.snapshots.waiting.lock() {
            w.remove(&self.id);
        }
    }
}

impl Snapshots {
    /// Count one request of `user` now, or say how long to wait.
    pub fn count(&self, user: &str, now: Instant) -> Result<(), SnapshotError> {
        let mut asked = self.asked.lock().map_err(|_| SnapshotError::TooMany(60))?;
        asked.retain(|_, times| {
            times.retain(|t| now.duration_since(*t) < RATE_WINDOW);
            !times.is_empty()
        });
        let times = asked.entry(user.to_owned()).or_default();
        if times.len() >= PER_MINUTE {
            let oldest = times.front().copied().unwrap_or(now);
            let left = RATE_WINDOW.saturating_sub(now.duration_since(oldest));
            return Err(SnapshotError::TooMany(left.as_secs().max(1)));
        }
        times.push_back(now);
        Ok(())
    }

    /// Wait for the answer to command `id`, sent to `office/agent`.
    pub fn wait(
        self: &Arc<Self>,
        id: &str,
        office: &str,
        agent: &str,
    ) -> Result<Ticket, SnapshotError> {
        let (tx, rx) = oneshot::channel();
        let mut w = self.waiting.lock().map_err(|_| SnapshotError::Busy)?;
        if w.len() >= MAX_WAITING {
            return Err(SnapshotError::Busy);
        }
        let waiter = Waiter {
            office: office.to_owned(),
            agent: agent.to_owned(),
            tx,
        };
        w.insert(id.to_owned(), waiter);
        Ok(Ticket {
            snapshots: self.clone(),
            id: id.to_owned(),
            rx: Some(rx),
        })
    }

    /// An answer that came on the `cmd/result` topic of `office/agent`,
    /// its picture already taken out ([`strip`]): handed to the page
    /// waiting for it if the command went to that agent, else dropped.
    pub fn deliver(&self, office: &str, agent: &str, r: &CommandResult, picture: Option<String>) {
        let waiter = self.waiting.lock().ok().and_then(|mut w| {
            let mine = w
                .get(&r.id)
                .is_some_and(|x| x.office == office && x.agent == agent);
            mine.then(|| w.remove(&r.id)).flatten()
        });
        let Some(waiter) = waiter else {
            return;
        };
        let answer = match (picture, &r.snapshot, &r.error) {
            (Some(jpeg), Some(s), _) if !jpeg.is_empty() => Answer::Picture(Snapshot {
                jpeg,
                stats: s.stats.clone(),
            }),
            (_, _, Some(e)) => Answer::Refused(e.clone()),
            _ => Answer::Refused("the agent sent no picture".into()),
        };
        let _ = waiter.tx.send(answer);
    }

    /// Keep the numbers of a snapshot shown, behind a new one-time token.
    pub fn hold(&self, held: Held, now: Instant) -> String {
        let token = crate::store::users::random_bytes::<16>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        if let Ok(mut h) = self.held.lock() {
            h.retain(|_, (_, at)| now.duration_since(*at) < TOKEN_TTL);
            if h.len() >= MAX_HELD {
                let oldest = h
                    .iter()
                    .min_by_key(|(_, (_, at))| *at)
                    .map(|(k, _)| k.clone());
                oldest.map(|k| h.remove(&k));
            }
            h.insert(token.clone(), (held, now));
        }
        token
    }

    /// The numbers behind `token`, once, for the user and office it was
    /// made for, within [`TOKEN_TTL`]. Used up even when refused, so a
    /// token tried by the wrong person is gone for the right one too.
    pub fn take(&self, token: &str, user: &str, office: &str, now: Instant) -> Option<Held> {
        let (held, at) = self.held.lock().ok()?.remove(token)?;
        let fresh = now.duration_since(at) < TOKEN_TTL;
        (fresh && held.user == user && held.office == office).then_some(held)
    }
}

/// Take the picture out of an agent's answer, whatever it is for: only the
/// page waiting for it ever gets it. The picture and its size in bytes.
pub fn strip(r: &mut CommandResult) -> Option<(String, usize)> {
    let picture = r.snapshot.as_mut().map(|s| std::mem::take(&mut s.jpeg))?;
    if picture.is_empty() {
        return None;
    }
    let size = jpeg_size(&picture).unwrap_or(picture.len() / 4 * 3);
    Some((picture, size))
}

/// The size in bytes of a base64 JPEG (standard alphabet, padded), or
/// `None` when it is not one: the agent's answer is untrusted.
pub fn jpeg_size(b64: &str) -> Option<usize> {
    let bytes = b64.as_bytes();
    let alphabet = |c: &u8| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/';
    let body = b64.trim_end_matches('=');
    let padding = bytes.len() - body.len();
    let ok = bytes.len().is_multiple_of(4)
        && padding <= 2
        && body.as_bytes().iter().all(alphabet)
        // FF D8 FF, a JPEG's start of image and the next marker.
        && b64.starts_with("/9j/");
    ok.then(|| bytes.len() / 4 * 3 - padding)
}

#[cfg(test)]
mod tests;
