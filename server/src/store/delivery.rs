//! What each agent has delivered: the "committed up to seq N" to send back
//! after a batch commits, and the gaps its outbox reports.
//!
//! On SQLite, where one server is the only writer, each agent's count is
//! read from the database once, then kept in memory: the ingest path touches
//! the database only to store what changed. On PostgreSQL another server
//! may have committed some of the agent's reports (a shared subscription
//! splits them), so the count is read under the agent's row lock in every
//! batch and completed from the stored seqs. Changes are staged per batch
//! and kept only once the batch commits, so a batch retried after a failed
//! commit is counted afresh.

use std::collections::hash_map::{Entry, HashMap};

use crate::store::sql::{params, OptionalExtension, Transaction};
use ronda_wire::{Delivery, Progress};

type Key = (String, String);

/// Tell `agent` of `office` that everything up to `through` is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckOut {
    pub office: String,
    pub agent: String,
    pub through: u64,
}

/// One agent's count.
#[derive(Clone)]
struct Count {
    progress: Progress,
    /// The outbox drop count the agent last reported.
    dropped: u64,
}

#[derive(Default)]
pub(super) struct Ledger {
    known: HashMap<Key, Count>,
    /// Other servers write to the same database: read counts afresh.
    shared: bool,
}

/// One batch's changes to the ledger.
#[derive(Default)]
pub(super) struct Staged {
    changed: HashMap<Key, Count>,
    /// Shared ledger: the counts read under lock at the batch's start.
    locked: HashMap<Key, Count>,
}

impl Ledger {
    pub(super) fn shared() -> Ledger {
        Ledger {
            known: HashMap::new(),
            shared: true,
        }
    }

    pub(super) fn keep(&mut self, staged: Staged) -> Vec<AckOut> {
        let mut acks = Vec::with_capacity(staged.changed.len());
        for ((office, agent), count) in staged.changed {
            acks.push(AckOut {
                office: office.clone(),
                agent: agent.clone(),
                through: count.progress.through(),
            });
            if !self.shared {
                self.known.insert((office, agent), count);
            }
        }
        acks
    }
}

impl Staged {
    /// With a shared ledger, lock the rows of every agent the batch touches
    /// and read their counts, in one order on every server: two servers'
    /// batches then queue on each other's rows instead of deadlocking.
    pub(super) fn lock<'k>(
        &mut self,
        tx: &Transaction<'_>,
        ledger: &Ledger,
        keys: impl Iterator<Item = (&'k str, &'k str)>,
    ) -> crate::store::sql::Result<()> {
        if !ledger.shared {
            return Ok(());
        }
        let sorted: std::collections::BTreeSet<_> = keys.collect();
        let mut upsert = tx.prepare_cached(
            "INSERT INTO agents (office, agent) VALUES (?1, ?2)
             ON CONFLICT (office, agent) DO UPDATE SET office = excluded.office
             RETURNING acked_through, dropped",
        )?;
        for (office, agent) in sorted {
            let (through, dropped) = upsert.query_row(params![office, agent], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })?;
            let count = Count {
                progress: Progress::resume(through.max(0) as u64),
                dropped: dropped.max(0) as u64,
            };
            self.locked
                .insert((office.to_owned(), agent.to_owned()), count);
        }
        Ok(())
    }

    /// Count a report that this batch stores (or already has: the table's
    /// key decides that, since pruned history is no longer in the ledger).
    pub(super) fn report(
        &mut self,
        tx: &Transaction<'_>,
        ledger: &Ledger,
        office: &str,
        agent: &str,
        seq: u64,
        delivery: Option<&Delivery>,
    ) -> crate::store::sql::Result<()> {
        let count = match self.changed.entry((office.to_owned(), agent.to_owned())) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let known = match self.locked.get(e.key()).or(ledger.known.get(e.key())) {
                    Some(c) => c.clone(),
                    None => load(tx, office, agent)?,
                };
                e.insert(known)
            }
        };
        count.progress.commit(seq, delivery.map(|d| d.floor));
        match delivery {
            Some(d) if d.dropped > count.dropped => {
                let lost = d.dropped - count.dropped;
                count.dropped = d.dropped;
                record_gap(tx, office, agent, lost, d)
            }
            _ => Ok(()),
        }
    }

    /// Write each changed agent's acknowledgement into the batch. With a
    /// shared ledger, the seqs other servers stored count too.
    pub(super) fn save(
        &mut self,
        tx: &Transaction<'_>,
        ledger: &Ledger,
    ) -> crate::store::sql::Result<()> {
        if ledger.shared {
            for ((office, agent), c) in &mut self.changed {
                stored_above(tx, office, agent, &mut c.progress)?;
            }
        }
        let mut update = tx.prepare_cached(
            "INSERT INTO agents (office, agent, acked_through) VALUES (?1, ?2, ?3)
             ON CONFLICT (office, agent) DO UPDATE SET acked_through = excluded.acked_through",
        )?;
        for ((office, agent), c) in &self.changed {
            update.execute(params![office, agent, c.progress.through() as i64])?;
        }
        Ok(())
    }
}

/// Count the seqs stored above the agent's acknowledgement (by any server),
/// so that it moves past seqs this server never saw.
fn stored_above(
    tx: &Transaction<'_>,
    office: &str,
    agent: &str,
    progress: &mut Progress,
) -> crate::store::sql::Result<()> {
    let mut q = tx.prepare_cached(
        "SELECT seq FROM reports WHERE office = ?1 AND agent = ?2 AND seq > ?3
         UNION SELECT seq FROM door_events WHERE office = ?1 AND agent = ?2 AND seq > ?3
         ORDER BY 1 LIMIT 1000",
    )?;
    let through = i64::try_from(progress.through()).unwrap_or(i64::MAX);
    let seqs = q
        .query_map(params![office, agent, through], |r| r.get::<_, i64>(0))?
        .collect::<crate::store::sql::Result<Vec<_>>>()?;
    for seq in seqs {
        // A floor of 0 adds the seq without settling anything below it:
        // only the agent's own floor may do that.
        progress.commit(seq.max(0) as u64, Some(0));
    }
    Ok(())
}

fn load(tx: &Transaction<'_>, office: &str, agent: &str) -> crate::store::sql::Result<Count> {
    let mut q = tx.prepare_cached(
        "SELECT acked_through, dropped FROM agents WHERE office = ?1 AND agent = ?2",
    )?;
    let (through, dropped) = q
        .query_row(params![office, agent], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })
        .optional()?
        .unwrap_or((0, 0));
    Ok(Count {
        progress: Progress::resume(through as u64),
        dropped: dropped as u64,
    })
}

/// A rise in the outbox's drop count is one gap in the history.
fn record_gap(
    tx: &Transaction<'_>,
    office: &str,
    agent: &str,
    lost: u64,
    d: &Delivery,
) -> crate::store::sql::Result<()> {
    tracing::warn!(
        office,
        agent,
        lost,
        before_seq = d.floor,
        "agent's outbox dropped reports: a gap in the history"
    );
    tx.prepare_cached(
        "INSERT INTO agents (office, agent, dropped) VALUES (?1, ?2, ?3)
         ON CONFLICT (office, agent) DO UPDATE SET dropped = excluded.dropped",
    )?
    .execute(params![office, agent, d.dropped as i64])?;
    tx.prepare_cached(
        "INSERT INTO data_gaps (office, agent, lost, before_seq, noticed_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![office, agent, lost as i64, d.floor as i64, super::now_ms()])?;
    Ok(())
}
