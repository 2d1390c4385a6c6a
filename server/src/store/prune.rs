//! Retention: old history deleted in small batches on the store's writer,
//! so that ingest, whose writes queue between the batches, never waits long.
//!
//! What goes, once older than its retention:
//! - reports and presence changes (`database.report_retention`); each
//!   agent's latest report stays in `agents`;
//! - closed alerts with their transitions and mail bookkeeping
//!   (`database.alert_retention`), by when they were resolved;
//! - door events (`database.door_event_retention`), by when they arrived.
//!
//! What never goes: an open alert (pending, firing, acknowledged), however
//! old, and its history; an alert that was open when its office's head
//! signed the letter (the signature explains it); an alert with mail still
//! to compose; the newest alert (its id is where the next one's starts);
//! signatures, attestations and the audit log.

use std::time::Duration;

use crate::store::sql::{params, Connection, Dialect, OptionalExtension};
use jiff::Timestamp;

/// Rows looked at per table in one batch.
pub const BATCH: usize = 1_000;
/// How often a pass runs.
const EVERY: Duration = Duration::from_secs(3_600);

/// How long each kind of history is kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retention {
    pub reports: Duration,
    pub alerts: Duration,
    pub door_events: Duration,
}

/// The moments before which history goes, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cutoffs {
    pub reports_ms: i64,
    pub alerts_ms: i64,
    pub door_events_ms: i64,
}

impl Retention {
    pub fn cutoffs(&self, now: Timestamp) -> Cutoffs {
        let before = |d: Duration| {
            let d = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
            now.as_millisecond().saturating_sub(d)
        };
        Cutoffs {
            reports_ms: before(self.reports),
            alerts_ms: before(self.alerts),
            door_events_ms: before(self.door_events),
        }
    }
}

/// Rows deleted, per table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub reports: usize,
    pub presence: usize,
    pub alerts: usize,
    pub transitions: usize,
    pub door_events: usize,
}

impl Pruned {
    pub fn add(&mut self, o: Pruned) {
        self.reports += o.reports;
        self.presence += o.presence;
        self.alerts += o.alerts;
        self.transitions += o.transitions;
        self.door_events += o.door_events;
    }

    pub fn any(&self) -> bool {
        *self != Pruned::default()
    }
}

/// Where a pass stands: which tables may still hold old rows, and the
/// alert id the walk over alerts has reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    reports: bool,
    presence: bool,
    door_events: bool,
    /// `None` once the walk is over.
    alerts_after: Option<i64>,
}

impl Default for Pass {
    fn default() -> Pass {
        Pass {
            reports: true,
            presence: true,
            door_events: true,
            alerts_after: Some(0),
        }
    }
}

impl Pass {
    pub fn done(&self) -> bool {
        !self.reports && !self.presence && !self.door_events && self.alerts_after.is_none()
    }
}

/// A whole pass as of `now`, one [`batch`] per call on the writer: the
/// writes ingest queued meanwhile are committed between two batches.
pub async fn pass(
    db: &super::Db,
    retention: &Retention,
    now: Timestamp,
) -> Result<Pruned, super::StoreError> {
    let cut = retention.cutoffs(now);
    let mut pass = Pass::default();
    let mut total = Pruned::default();
    while !pass.done() {
        let mut p = pass;
        let (n, next) = db
            .write(move |c| batch(c, &cut, &mut p, BATCH).map(|n| (n, p)))
            .await??;
        total.add(n);
        pass = next;
    }
    Ok(total)
}

/// One batch of a pass, in one transaction: at most `limit` rows looked at
/// in each table that may still hold old ones.
pub fn batch(
    conn: &Connection,
    cut: &Cutoffs,
    pass: &mut Pass,
    limit: usize,
) -> crate::store::sql::Result<Pruned> {
    // The writer thread lends its connection; nothing else uses it meanwhile.
    let tx = conn.unchecked_transaction()?;
    let mut out = Pruned::default();
    let n = i64::try_from(limit).unwrap_or(i64::MAX);
    // A row's own address: SQLite's rowid, PostgreSQL's ctid.
    let row = match tx.dialect() {
        Dialect::Sqlite => "rowid",
        Dialect::Postgres => "ctid",
    };
    if pass.reports {
        // `reports_received` finds them: the LIMIT bounds the work.
        out.reports = tx.execute(
            &format!(
                "DELETE FROM reports WHERE {row} IN
                    (SELECT {row} FROM reports WHERE received_ms < ?1 LIMIT ?2)"
            ),
            params![cut.reports_ms, n],
        )?;
        pass.reports = out.reports == limit;
    }
    if pass.presence {
        // No index by time: look at the oldest `limit` rows only (the log
        // is appended in time order) rather than scan the whole table.
        out.presence = tx.execute(
            &format!(
                "DELETE FROM presence WHERE {row} IN
                    (SELECT r FROM (SELECT {row} AS r, at_ms FROM presence ORDER BY {row} LIMIT ?2) AS oldest
                     WHERE at_ms < ?1)"
            ),
            params![cut.reports_ms, n],
        )?;
        pass.presence = out.presence == limit;
    }
    if pass.door_events {
        out.door_events = tx.execute(
            "DELETE FROM door_events WHERE (office, device, key) IN
                (SELECT office, device, key FROM door_events WHERE received_ms < ?1 LIMIT ?2)",
            params![cut.door_events_ms, n],
        )?;
        pass.door_events = out.door_events == limit;
    }
    if let Some(after) = pass.alerts_after {
        let (alerts, transitions, next) = alerts(&tx, cut.alerts_ms, after, n)?;
        (out.alerts, out.transitions, pass.alerts_after) = (alerts, transitions, next);
    }
    tx.commit()?;
    Ok(out)
}

/// The next `n` alerts after id `after`: the closed ones old enough and
/// held by nothing go, with their transitions. Returns what went and where
/// the walk goes on (`None`: no older alert is left to look at).
fn alerts(
    tx: &crate::store::sql::Transaction<'_>,
    cut_ms: i64,
    after: i64,
    n: i64,
) -> crate::store::sql::Result<(usize, usize, Option<i64>)> {
    let window: Option<(i64, i64)> = tx
        .query_row(
            "SELECT max(id), min(started_ms) FROM
                (SELECT id, started_ms FROM alerts WHERE id > ?1 ORDER BY id LIMIT ?2) AS batch",
            params![after, n],
            |r| Ok(r.get::<_, Option<i64>>(0)?.zip(r.get::<_, Option<i64>>(1)?)),
        )
        .optional()?
        .flatten();
    // Ids are given in order of start: past an alert started after the
    // cut-off, every later one did too, and none can have ended before it.
    let Some((last, _)) = window.filter(|(_, oldest)| *oldest < cut_ms) else {
        return Ok((0, 0, None));
    };
    let ids: Vec<i64> = tx
        .prepare_cached(
            "SELECT a.id FROM alerts a
             WHERE a.id > ?1 AND a.id <= ?2
               AND a.state = 'resolved' AND a.resolved_ms < ?3
               AND a.id < (SELECT max(id) FROM alerts)
               AND NOT EXISTS (SELECT 1 FROM notify_intents i WHERE i.alert_id = a.id)
               AND NOT EXISTS (SELECT 1 FROM signatures s
                    WHERE s.letter = a.letter AND s.office = a.office
                      AND s.at_ms >= a.started_ms AND s.at_ms <= a.resolved_ms)",
        )?
        .query_map(params![after, last, cut_ms], |r| r.get(0))?
        .collect::<crate::store::sql::Result<_>>()?;
    let mut transitions = 0;
    for id in &ids {
        transitions += tx.execute("DELETE FROM alert_transitions WHERE alert_id = ?1", [id])?;
        tx.execute("DELETE FROM alert_notify WHERE alert_id = ?1", [id])?;
        tx.execute("DELETE FROM alerts WHERE id = ?1", [id])?;
    }
    Ok((ids.len(), transitions, Some(last)))
}

/// The live loop: a pass at start, then once an hour.
/// Prune for each term this server leads (see [`crate::cluster`]).
pub async fn run_while_leading(
    db: super::Db,
    retention: Retention,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    mut leadership: crate::cluster::Leadership,
    shutdown: tokio_util::sync::CancellationToken,
) {
    while let Some(term) = leadership.term(&shutdown).await {
        run(db.clone(), retention, metrics.clone(), term).await;
    }
}

pub async fn run(
    db: super::Db,
    retention: Retention,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let pass = tokio::select! {
            _ = shutdown.cancelled() => return,
            p = pass(&db, &retention, Timestamp::now()) => p,
        };
        match pass {
            Ok(p) if p.any() => {
                for (table, n) in [
                    ("reports", p.reports),
                    ("presence", p.presence),
                    ("alerts", p.alerts),
                    ("alert_transitions", p.transitions),
                    ("door_events", p.door_events),
                ] {
                    metrics
                        .pruned
                        .get_or_create(&crate::metrics::Table { table })
                        .inc_by(n as u64);
                }
                tracing::info!(
                    reports = p.reports,
                    presence = p.presence,
                    alerts = p.alerts,
                    alert_transitions = p.transitions,
                    door_events = p.door_events,
                    "history past its retention deleted"
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "retention pass failed; will try again in an hour")
            }
        }
    }
}

#[cfg(test)]
mod tests;
