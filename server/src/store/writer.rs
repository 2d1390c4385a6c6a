//! The single writer: drains a channel in batches, one transaction per batch.
//!
//! One transaction per batch instead of per report is what lets a 2-core box
//! ingest tens of thousands of reports a second. The thread ends when every
//! sender is gone, after committing what it holds, so shutdown loses nothing.

use std::sync::Arc;
use std::time::Duration;

use crate::store::sql::{params, Connection, Dialect, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::delivery::{AckOut, Ledger, Staged};
use super::now_ms;
use crate::metrics::Metrics;

/// Most writes committed in one transaction.
const MAX_BATCH: usize = 2_000;

/// A change for the writer to make.
#[derive(Debug)]
pub enum Write {
    /// A validated report. `body` is the JSON exactly as received.
    Report {
        office: String,
        agent: String,
        seq: u64,
        observed_ms: i64,
        received_ms: i64,
        body: String,
        /// The agent's outbox when this copy was sent.
        delivery: Option<ronda_wire::Delivery>,
    },
    /// Validated door events: counted for the acknowledgement like a
    /// report, each event stored once.
    Events {
        office: String,
        agent: String,
        seq: u64,
        received_ms: i64,
        events: Vec<ronda_wire::DoorEvent>,
        delivery: Option<ronda_wire::Delivery>,
    },
    Presence {
        office: String,
        agent: String,
        online: bool,
        at_ms: i64,
    },
    /// An alert moved; stored with the move, and with the email it calls
    /// for, in the same transaction.
    Alert(
        Box<ronda_policy::alert::Change>,
        Option<super::alerts::Intent>,
    ),
    /// A head of office attested a checklist item.
    Attest {
        letter: String,
        office: String,
        item: String,
        attestation: ronda_policy::eval::Attestation,
    },
    /// A command went to an agent.
    Command(super::commands::Sent),
    /// An agent answered a command.
    CommandAnswer(super::commands::Answer),
    /// Tell the leading server's engine, once the batch commits, of what a
    /// server that does not lead received (PostgreSQL only; see
    /// `crate::cluster::relay`).
    Relay(String),
    /// Answered once everything sent before it is committed.
    Flush(oneshot::Sender<()>),
    /// A write from the web side ([`super::Db::write`]), run after the batch
    /// it came with commits.
    Call(super::db::Call),
}

impl Write {
    /// The agent whose row this write changes, if any.
    fn agent(&self) -> Option<(&str, &str)> {
        match self {
            Write::Report { office, agent, .. }
            | Write::Events { office, agent, .. }
            | Write::Presence { office, agent, .. } => Some((office, agent)),
            _ => None,
        }
    }
}

pub struct WriterHandle {
    pub tx: mpsc::Sender<Write>,
    pub thread: std::thread::JoinHandle<()>,
}

/// Acknowledgements to publish, sent after each batch commits.
pub type AckSender = mpsc::UnboundedSender<Vec<AckOut>>;

pub fn spawn_writer(
    conn: Connection,
    metrics: Arc<Metrics>,
    capacity: usize,
    acks: Option<AckSender>,
) -> std::io::Result<WriterHandle> {
    let (tx, rx) = mpsc::channel(capacity);
    let thread = std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || run(conn, rx, &metrics, acks))?;
    Ok(WriterHandle { tx, thread })
}

fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Write>,
    metrics: &Metrics,
    acks: Option<AckSender>,
) {
    refresh_online(&conn, metrics);
    let mut ledger = match conn.dialect() {
        Dialect::Sqlite => Ledger::default(),
        Dialect::Postgres => Ledger::shared(),
    };
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        let done = commit(&mut conn, &batch, metrics, &ledger);

        // Only now, with the batch on disk, may agents forget these reports.
        let committed = ledger.keep(done);
        if let (Some(acks), false) = (&acks, committed.is_empty()) {
            let _ = acks.send(committed);
        }
        for w in batch.drain(..) {
            match w {
                Write::Flush(done) => {
                    let _ = done.send(());
                }
                Write::Call(call) => call.run(&conn),
                _ => {}
            }
        }
    }
    tracing::debug!("store writer finished");
}

/// Commit one batch, retrying while the database is unwell: accepted reports
/// are never thrown away because the disk was briefly busy or full.
fn commit(conn: &mut Connection, batch: &[Write], metrics: &Metrics, ledger: &Ledger) -> Staged {
    let mut wait = Duration::from_millis(50);
    loop {
        match apply(conn, batch, ledger) {
            Ok((outcome, staged)) => {
                metrics.stored.inc_by(outcome.stored);
                metrics.duplicates.inc_by(outcome.duplicates);
                metrics.door_events.inc_by(outcome.door_events);
                metrics.door_duplicates.inc_by(outcome.door_duplicates);
                if let Some(oldest) = outcome.oldest_received_ms {
                    metrics.ingest_lag.set((now_ms() - oldest) as f64 / 1000.0);
                }
                if outcome.presence_changed {
                    refresh_online(conn, metrics);
                }
                super::commands::refused(&outcome.foreign, metrics);
                return staged;
            }
            Err(e) => {
                metrics.store_errors.inc();
                tracing::error!(error = %e, writes = batch.len(), retry_in_ms = wait.as_millis() as u64, "database write failed");
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
}

#[derive(Default)]
struct Outcome {
    stored: u64,
    duplicates: u64,
    door_events: u64,
    door_duplicates: u64,
    presence_changed: bool,
    oldest_received_ms: Option<i64>,
    /// Answers refused: they came from another agent than the command's.
    foreign: Vec<super::commands::Foreign>,
}

fn apply(
    conn: &mut Connection,
    batch: &[Write],
    ledger: &Ledger,
) -> crate::store::sql::Result<(Outcome, Staged)> {
    let tx = conn.transaction()?;
    let mut out = Outcome::default();
    let mut staged = Staged::default();
    staged.lock(&tx, ledger, batch.iter().filter_map(Write::agent))?;
    let mut notes = Vec::new();
    for w in batch {
        match w {
            Write::Report {
                office,
                agent,
                seq,
                observed_ms,
                received_ms,
                body,
                delivery,
            } => {
                staged.report(&tx, ledger, office, agent, *seq, delivery.as_ref())?;
                if insert_report(&tx, office, agent, *seq, *observed_ms, *received_ms, body)? {
                    out.stored += 1;
                } else {
                    out.duplicates += 1;
                }
                let oldest = out.oldest_received_ms.get_or_insert(*received_ms);
                *oldest = (*oldest).min(*received_ms);
            }
            Write::Events {
                office,
                agent,
                seq,
                received_ms,
                events,
                delivery,
            } => {
                staged.report(&tx, ledger, office, agent, *seq, delivery.as_ref())?;
                for e in events {
                    if super::doors::insert(&tx, office, agent, *seq, *received_ms, e)? {
                        out.door_events += 1;
                    } else {
                        out.door_duplicates += 1;
                    }
                }
            }
            Write::Presence {
                office,
                agent,
                online,
                at_ms,
            } => {
                out.presence_changed |= set_presence(&tx, office, agent, *online, *at_ms)?;
            }
            Write::Alert(change, intent) => {
                super::alerts::write_change(&tx, change)?;
                if let Some(i) = intent {
                    super::alerts::write_intent(&tx, change, i)?;
                }
            }
            Write::Attest {
                letter,
                office,
                item,
                attestation,
            } => super::alerts::write_attestation(&tx, letter, office, item, attestation)?,
            Write::Command(c) => super::commands::write_sent(&tx, c)?,
            Write::CommandAnswer(a) => out.foreign.extend(super::commands::write_answer(&tx, a)?),
            Write::Relay(note) => notes.push(note.as_str()),
            Write::Flush(_) | Write::Call(_) => {}
        }
    }
    staged.save(&tx, ledger)?;
    crate::cluster::relay::notify(&tx, &notes)?;
    tx.commit()?;
    Ok((out, staged))
}

/// Returns false when `(office, agent, seq)` was already stored.
fn insert_report(
    tx: &Transaction<'_>,
    office: &str,
    agent: &str,
    seq: u64,
    observed_ms: i64,
    received_ms: i64,
    body: &str,
) -> crate::store::sql::Result<bool> {
    let seq = i64::try_from(seq).unwrap_or(i64::MAX);
    let mut insert = tx.prepare_cached(
        "INSERT INTO reports (office, agent, seq, observed_ms, received_ms, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT DO NOTHING",
    )?;
    if insert.execute(params![office, agent, seq, observed_ms, received_ms, body])? == 0 {
        return Ok(false);
    }
    // The latest report is the one with the highest seq, whatever the
    // arrival order: a replayed old report must not hide a newer one.
    let mut latest = tx.prepare_cached(
        "INSERT INTO agents (office, agent, last_seq, last_observed_ms, last_received_ms, latest_report)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (office, agent) DO UPDATE SET
            last_seq = excluded.last_seq,
            last_observed_ms = excluded.last_observed_ms,
            last_received_ms = excluded.last_received_ms,
            latest_report = excluded.latest_report
         WHERE agents.last_seq IS NULL OR excluded.last_seq > agents.last_seq",
    )?;
    latest.execute(params![office, agent, seq, observed_ms, received_ms, body])?;
    Ok(true)
}

/// Record a presence change; returns false if the agent was already in that state.
fn set_presence(
    tx: &Transaction<'_>,
    office: &str,
    agent: &str,
    online: bool,
    at_ms: i64,
) -> crate::store::sql::Result<bool> {
    let mut upsert = tx.prepare_cached(
        "INSERT INTO agents (office, agent, online, online_changed_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (office, agent) DO UPDATE SET
            online = excluded.online,
            online_changed_ms = excluded.online_changed_ms
         WHERE agents.online IS DISTINCT FROM excluded.online OR agents.online_changed_ms IS NULL",
    )?;
    if upsert.execute(params![office, agent, online, at_ms])? == 0 {
        return Ok(false);
    }
    let mut history = tx.prepare_cached(
        "INSERT INTO presence (office, agent, online, at_ms) VALUES (?1, ?2, ?3, ?4)",
    )?;
    history.execute(params![office, agent, online, at_ms])?;
    Ok(true)
}

fn refresh_online(conn: &Connection, metrics: &Metrics) {
    match conn.query_row("SELECT count(*) FROM agents WHERE online = 1", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(n) => {
            metrics.agents_online.set(n);
        }
        Err(e) => tracing::warn!(error = %e, "cannot count online agents"),
    }
}

#[cfg(test)]
mod tests;
