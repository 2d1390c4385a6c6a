//! Email that is never lost and never doubled.
//!
//! An alert change leaves an *intent* in the same transaction
//! ([`intent`]); the composer turns due intents, repeats and escalations
//! into outbox messages ([`compose`]); the sender delivers them ([`send`]).
//! [`Mailer::step`] runs one pass of both, so tests drive it on their own
//! clock; [`Mailer::run`] is the live loop.

pub mod compose;
pub mod config;
pub mod digest;
pub mod recipients;
pub mod send;
pub mod smtp;
pub mod text;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use ronda_policy::alert::{Change, State};
use ronda_policy::{Letter, Registry};
use rusqlite::Connection;
use tokio_util::sync::CancellationToken;

use crate::store::alerts::Intent;
pub use config::MailConfig;

/// How often the live loop composes and sends.
pub const PASS: Duration = Duration::from_millis(100);

/// How one attempt ended.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Sent,
    /// Worth trying again: 4xx, a timeout, a refused connection.
    Transient(String),
    /// Never going to work: 5xx, an address the server refuses.
    Permanent(String),
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("mail template: {0}")]
    Template(#[from] minijinja::Error),
    #[error("mail encoding: {0}")]
    Json(#[from] serde_json::Error),
    #[error("SMTP settings: {0}")]
    Smtp(String),
    #[error("capture folder {0}: {1}")]
    Capture(PathBuf, std::io::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// What the composer needs besides the database.
pub struct Context {
    pub letters: Arc<Vec<Letter>>,
    pub registry: Option<Arc<Registry>>,
    pub config: MailConfig,
}

impl Context {
    fn letter(&self, id: &str) -> Option<&Letter> {
        self.letters.iter().find(|l| l.id == id)
    }
}

/// The email an alert change calls for, due `group_wait` (the letter's)
/// after the change.
pub fn intent(c: &Change, group_wait: std::time::Duration) -> Option<Intent> {
    let t = &c.transition;
    let kind = match (t.from, t.to) {
        (from, State::Firing) if from != Some(State::Firing) => "firing",
        (_, State::Resolved) if c.alert.fired.is_some() => "resolved",
        (Some(from), State::Acknowledged) if from != State::Acknowledged => "ack",
        _ => return None,
    };
    Some(Intent {
        kind,
        due: t.at.checked_add(group_wait).unwrap_or(t.at),
    })
}

pub struct Mailer {
    conn: Connection,
    cx: Context,
    transport: send::Transport,
    /// When reminders and summaries are next looked at.
    digest_due: Timestamp,
}

impl Mailer {
    /// A mailer on the database at `db` (opened and migrated if needed).
    pub fn open(db: &Path, cx: Context) -> Result<Mailer, MailError> {
        let transport = send::Transport::new(&cx.config)?;
        Ok(Mailer {
            conn: crate::store::open(db)?,
            cx,
            transport,
            digest_due: Timestamp::MIN,
        })
    }

    /// Compose what is due, then send what is due. Returns messages sent.
    pub async fn step(&mut self, now: Timestamp) -> Result<usize, MailError> {
        compose::step(&mut self.conn, &self.cx, now)?;
        if now >= self.digest_due {
            digest::step(&mut self.conn, &self.cx, now)?;
            self.digest_due = now.checked_add(digest::EVERY).unwrap_or(Timestamp::MAX);
        }
        let mut sent = 0;
        let due = send::due(&self.conn, now)?;
        let any = !due.is_empty();
        for row in due {
            let outcome = send::attempt(&mut self.transport, &self.cx.config, &row).await;
            sent += usize::from(outcome == Outcome::Sent);
            send::record(&self.conn, &row, outcome, now)?;
        }
        if any {
            self.transport.finish().await;
        }
        Ok(sent)
    }

    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut every = tokio::time::interval(PASS);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = every.tick() => {
                    if let Err(e) = self.step(Timestamp::now()).await {
                        tracing::error!(error = %e, "mail pass failed; will retry");
                    }
                }
            }
        }
        tracing::info!("mailer stopped");
    }
}
