//! Messages that are never lost and never doubled: email, Telegram and
//! webhooks through one outbox.
//!
//! An alert change leaves an *intent* in the same transaction
//! ([`intent`]); the composer turns due intents, repeats and escalations
//! into outbox messages, one per channel ([`compose`], [`channels`]); each
//! channel's sender delivers its own ([`deliver`]). [`Mailer::step`] runs
//! one pass of all of it, so tests drive it on their own clock;
//! [`Mailer::run`] is the live loop.

pub mod ca;
pub mod channels;
pub mod compose;
pub mod config;
pub mod deliver;
pub mod digest;
pub mod recipients;
pub mod send;
pub mod smtp;
pub mod text;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use ronda_policy::alert::{Change, State};
use ronda_policy::{Letter, Registry};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::store::alerts::Intent;
use crate::store::{Db, Write};
pub use config::MailConfig;

/// How often the live loop composes.
pub const PASS: Duration = Duration::from_millis(100);
/// How often a channel looks for retries that came due; a message the
/// composer queues wakes its channel at once.
const RETRY_PASS: Duration = Duration::from_secs(1);
/// How often a channel server.yaml does not set up looks for rows left
/// from before its section was taken out.
const UNSET_PASS: Duration = Duration::from_secs(60);

/// How one attempt ended.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Sent,
    /// Worth trying again: 4xx, a timeout, a refused connection.
    Transient(String),
    /// Worth trying again, but not before this long: the other side said
    /// when (Telegram's `429` with `retry_after`).
    Later(String, Duration),
    /// Never going to work: 5xx, an address the server refuses.
    Permanent(String),
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail database: {0}")]
    Db(#[from] crate::store::sql::Error),
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
    #[error("cannot start the mail store's writer: {0}")]
    Writer(std::io::Error),
    #[error("{0}")]
    Channel(String),
}

/// Room in the queue of a mailer's own writer ([`Mailer::open`]).
const OWN_WRITER_QUEUE: usize = 64;

/// What the composer needs besides the database.
#[derive(Clone)]
pub struct Context {
    /// The letters in force: reminders and summaries are theirs.
    pub letters: Arc<Vec<Letter>>,
    pub registry: Option<Arc<Registry>>,
    /// Letters a reload took out of force: mail about the closing of their
    /// alerts still goes to the people their notify section names.
    pub retired: Arc<Vec<Letter>>,
    pub config: MailConfig,
}

impl Context {
    fn letter(&self, id: &str) -> Option<&Letter> {
        let find = |l: &&Letter| l.id == id;
        self.letters
            .iter()
            .find(find)
            .or_else(|| self.retired.iter().find(find))
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
    composer: Composer,
    email: send::Transport,
    telegram: Option<crate::telegram::send::TelegramSender>,
    webhook: Option<crate::webhook::WebhookSender>,
}

/// What turns due intents, repeats, reminders and summaries into outbox rows.
struct Composer {
    /// Every write goes through the store's one writer thread.
    db: Db,
    /// The writer of a mailer on its own database ([`Mailer::open`]); it
    /// stops when the mailer is dropped.
    _own_writer: Option<mpsc::Sender<Write>>,
    cx: Arc<Context>,
    /// When reminders and summaries are next looked at.
    digest_due: Timestamp,
    /// The server's letters and registry, which a reload may swap, and the
    /// generation of them `cx` was made from.
    live: Option<(crate::letters::Live, u64)>,
}

impl Mailer {
    /// The server's mailer, on the server's store.
    pub fn new(db: Db, cx: Context) -> Result<Mailer, MailError> {
        let channel = |e: &dyn std::fmt::Display| MailError::Channel(e.to_string());
        let telegram = match &cx.config.telegram {
            Some(t) => {
                Some(crate::telegram::send::TelegramSender::new(t).map_err(|e| channel(&e))?)
            }
            None => None,
        };
        let webhook = match &cx.config.webhook {
            Some(w) => Some(crate::webhook::WebhookSender::new(w).map_err(|e| channel(&e))?),
            None => None,
        };
        Ok(Mailer {
            email: send::Transport::new(&cx.config)?,
            telegram,
            webhook,
            composer: Composer {
                db,
                _own_writer: None,
                cx: Arc::new(cx),
                digest_due: Timestamp::MIN,
                live: None,
            },
        })
    }

    /// Take the letters and registry from `live` from now on, as a reload
    /// swaps them.
    pub fn follow(mut self, live: crate::letters::Live) -> Mailer {
        self.composer.live = Some((live, u64::MAX));
        self
    }

    /// A mailer on a database that no server is running on (tests, tools):
    /// opened and migrated if needed, with a writer of its own.
    pub fn open(
        location: impl Into<crate::store::Location>,
        cx: Context,
    ) -> Result<Mailer, MailError> {
        let location = &location.into();
        let writer = crate::store::spawn_writer(
            location.open()?,
            crate::metrics::Metrics::new(),
            OWN_WRITER_QUEUE,
            None,
        )
        .map_err(MailError::Writer)?;
        let db = Db::new(crate::store::Reader::open(location)?, &writer.tx);
        let mut mailer = Mailer::new(db, cx)?;
        mailer.composer._own_writer = Some(writer.tx);
        Ok(mailer)
    }

    /// Compose what is due, then send what is due on every channel.
    /// Returns messages sent.
    pub async fn step(&mut self, now: Timestamp) -> Result<usize, MailError> {
        self.composer.step(now).await?;
        let (db, cx) = (&self.composer.db, &self.composer.cx);
        let (email, telegram, webhook) = tokio::join!(
            deliver::drain(db, cx, &mut self.email, now),
            drain_or_unset(db, cx, self.telegram.as_mut(), channels::TELEGRAM, now),
            drain_or_unset(db, cx, self.webhook.as_mut(), channels::WEBHOOK, now),
        );
        Ok(email? + telegram? + webhook?)
    }

    /// Send for each term this server leads, until `shutdown`.
    pub async fn run(
        mut self,
        mut leadership: crate::cluster::Leadership,
        shutdown: CancellationToken,
    ) {
        while let Some(term) = leadership.term(&shutdown).await {
            self.serve(&term).await;
        }
        tracing::info!("mailer stopped");
    }

    /// Pass after pass until `shutdown` (the term) ends: the composer and
    /// each channel's sender in loops of their own, so that one channel
    /// waiting on a slow server never holds up another. A composing pass
    /// that queued something wakes the senders at once.
    async fn serve(&mut self, shutdown: &CancellationToken) {
        let (cx_tx, cx_rx) = tokio::sync::watch::channel(self.composer.cx.clone());
        // One per channel: a permit is kept for a sender that is busy when
        // the composer queues, so no new message waits for the retry pass.
        let queued: [tokio::sync::Notify; 3] = Default::default();
        let Mailer {
            composer,
            email,
            telegram,
            webhook,
        } = self;
        let db = composer.db.clone();
        let composing = async {
            let mut every = interval(PASS);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = every.tick() => {}
                }
                // A pass can wait on a writer retrying a failing disk;
                // stopping must not.
                let pass = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    r = composer.step(Timestamp::now()) => r,
                };
                cx_tx.send_if_modified(|cx| {
                    let changed = !Arc::ptr_eq(cx, &composer.cx);
                    *cx = composer.cx.clone();
                    changed
                });
                match pass {
                    Ok(0) => {}
                    Ok(_) => queued.iter().for_each(tokio::sync::Notify::notify_one),
                    Err(e) => tracing::error!(error = %e, "composing pass failed; will retry"),
                }
            }
        };
        let [to_email, to_telegram, to_webhook] = &queued;
        tokio::join!(
            composing,
            sending(
                &db,
                &cx_rx,
                to_email,
                Some(email),
                channels::EMAIL,
                shutdown
            ),
            sending(
                &db,
                &cx_rx,
                to_telegram,
                telegram.as_mut(),
                channels::TELEGRAM,
                shutdown
            ),
            sending(
                &db,
                &cx_rx,
                to_webhook,
                webhook.as_mut(),
                channels::WEBHOOK,
                shutdown
            ),
        );
    }
}

impl Composer {
    /// A new context if the set in force changed since the last pass.
    fn refresh(&mut self) {
        let Some((live, seen)) = &mut self.live else {
            return;
        };
        let generation = live.generation();
        if generation == *seen {
            return;
        }
        let set = live.current();
        *seen = generation;
        self.cx = Arc::new(Context {
            letters: set.letters.clone(),
            registry: set.registry.clone(),
            retired: set.retired.clone(),
            config: self.cx.config.clone(),
        });
    }

    /// Turn what is due into outbox rows; returns how many were queued.
    async fn step(&mut self, now: Timestamp) -> Result<usize, MailError> {
        self.refresh();
        let cx = self.cx.clone();
        let mut queued = self.db.write(move |c| compose::step(c, &cx, now)).await??;
        if now >= self.digest_due {
            let cx = self.cx.clone();
            queued += self.db.write(move |c| digest::step(c, &cx, now)).await??;
            self.digest_due = now.checked_add(digest::EVERY).unwrap_or(Timestamp::MAX);
        }
        Ok(queued)
    }
}

/// One pass of a channel's sender, or of [`deliver::Unset`] when
/// server.yaml does not set the channel up.
async fn drain_or_unset<S: deliver::Sender>(
    db: &Db,
    cx: &Arc<Context>,
    sender: Option<&mut S>,
    channel: &'static str,
    now: Timestamp,
) -> Result<usize, MailError> {
    match sender {
        Some(s) => deliver::drain(db, cx, s, now).await,
        None => deliver::drain(db, cx, &mut deliver::Unset(channel), now).await,
    }
}

/// A channel's live loop: a pass when the composer has queued something,
/// and every [`RETRY_PASS`] for retries (every [`UNSET_PASS`] for a
/// channel not set up).
async fn sending<S: deliver::Sender>(
    db: &Db,
    cx: &tokio::sync::watch::Receiver<Arc<Context>>,
    queued: &tokio::sync::Notify,
    mut sender: Option<&mut S>,
    channel: &'static str,
    shutdown: &CancellationToken,
) {
    let mut every = interval(if sender.is_some() {
        RETRY_PASS
    } else {
        UNSET_PASS
    });
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = every.tick() => {}
            _ = queued.notified() => {}
        }
        let cx = cx.borrow().clone();
        // What a cut pass had not recorded is sent again once its claim
        // runs out, with the same identity.
        let pass = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = drain_or_unset(db, &cx, sender.as_deref_mut(), channel, Timestamp::now()) => r,
        };
        if let Err(e) = pass {
            tracing::error!(channel, error = %e, "sending pass failed; will retry");
        }
    }
}

fn interval(period: Duration) -> tokio::time::Interval {
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every
}
