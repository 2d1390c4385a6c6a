//! Reading the letters folder and the office registry again while the
//! server runs (SIGHUP, `systemctl reload`).
//!
//! All or nothing: if every file is good, the engine worker moves its
//! alerts to the new set and puts it in force for the pages and the mailer
//! in the same step; if any file has a problem, the set in force stays, and
//! every problem goes to the log and to the letters page until a later
//! reload succeeds. Only what server.yaml names as files is read again:
//! server.yaml itself is not (its other settings need a restart).

use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot};

use super::live::{Failure, Live};
use crate::engine::worker::Msg;
use crate::metrics::Metrics;

/// What one reload did.
#[derive(Debug, Clone, PartialEq)]
pub enum Reloaded {
    /// The new set is in force; `withdrawn` open alerts were closed because
    /// their letter, item or office is gone.
    Loaded {
        letters: usize,
        offices: Option<usize>,
        withdrawn: usize,
    },
    /// Refused for `problems`; the set read at `since` stays in force.
    Kept {
        problems: Vec<String>,
        since: Timestamp,
    },
    /// The server is stopping: nothing was changed.
    Stopped,
}

pub struct Reloader {
    pub(crate) policies_dir: Option<PathBuf>,
    pub(crate) offices_file: Option<PathBuf>,
    pub(crate) engine: mpsc::Sender<Msg>,
    pub(crate) live: Live,
    pub(crate) metrics: Arc<Metrics>,
    /// One reload at a time: two at once could put the older read in force.
    pub(crate) busy: tokio::sync::Mutex<()>,
}

impl Reloader {
    pub async fn reload(&self) -> Reloaded {
        let _one = self.busy.lock().await;
        let current = self.live.current();
        let now = Timestamp::now();
        let (dir, offices) = (self.policies_dir.clone(), self.offices_file.clone());
        let registry = current.registry.clone();
        // Files may sit on a slow disk: off the runtime's threads.
        let read = tokio::task::spawn_blocking(move || {
            super::read(dir.as_deref(), offices.as_deref(), registry.as_deref())
        })
        .await
        .unwrap_or_else(|e| Err(vec![format!("reading the letters failed: {e}")]));
        let (letters, registry) = match read {
            Ok(r) => r,
            Err(problems) => return self.refuse(problems, current.loaded, now),
        };
        // What server.yaml does not name as a file stays as it is.
        let letters = letters.map_or_else(|| current.letters.clone(), Arc::new);
        let registry = match &self.offices_file {
            Some(_) => registry.map(Arc::new),
            None => current.registry.clone(),
        };
        let set = Arc::new(current.next(letters, registry, now));
        let (reply, answer) = oneshot::channel();
        let msg = Msg::Reload {
            set: set.clone(),
            reply,
        };
        if self.engine.send(msg).await.is_err() {
            return Reloaded::Stopped;
        }
        let Ok(withdrawn) = answer.await else {
            return Reloaded::Stopped;
        };
        self.metrics.reload_refused.set(0);
        let ids = |l: &[ronda_policy::Letter]| -> Vec<String> {
            l.iter().map(|l| l.id.clone()).collect()
        };
        let (old, new) = (ids(&current.letters), ids(&set.letters));
        let added: Vec<&str> = new
            .iter()
            .filter(|i| !old.contains(i))
            .map(String::as_str)
            .collect();
        let removed: Vec<&str> = old
            .iter()
            .filter(|i| !new.contains(i))
            .map(String::as_str)
            .collect();
        let offices = set.registry.as_ref().map(|r| r.offices.len());
        tracing::info!(
            letters = set.letters.len(),
            offices = ?offices,
            added = %added.join(","),
            removed = %removed.join(","),
            withdrawn_alerts = withdrawn,
            "letters and registry reloaded"
        );
        Reloaded::Loaded {
            letters: set.letters.len(),
            offices,
            withdrawn,
        }
    }

    fn refuse(&self, problems: Vec<String>, since: Timestamp, now: Timestamp) -> Reloaded {
        tracing::error!(
            problems = problems.len(),
            in_force_since = %since,
            "reload refused: the letters and registry in force stay"
        );
        for p in &problems {
            tracing::error!(problem = %p, "reload problem");
        }
        self.metrics.reload_refused.set(1);
        self.live.fail(Failure {
            at: now,
            problems: problems.clone(),
        });
        Reloaded::Kept { problems, since }
    }
}
