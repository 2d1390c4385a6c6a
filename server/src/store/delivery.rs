//! What each agent has delivered: the "committed up to seq N" to send back
//! after a batch commits, and the gaps its outbox reports.
//!
//! Each agent's count is read from the database once, then kept in memory:
//! the ingest path touches the database only to store what changed. Changes
//! are staged per batch and kept only once the batch commits, so a batch
//! retried after a failed commit is counted afresh.

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
}

/// One batch's changes to the ledger.
#[derive(Default)]
pub(super) struct Staged {
    changed: HashMap<Key, Count>,
}

impl Ledger {
    pub(super) fn keep(&mut self, staged: Staged) -> Vec<AckOut> {
        let mut acks = Vec::with_capacity(staged.changed.len());
        for ((office, agent), count) in staged.changed {
            acks.push(AckOut {
                office: office.clone(),
                agent: agent.clone(),
                through: count.progress.through(),
            });
            self.known.insert((office, agent), count);
        }
        acks
    }
}

impl Staged {
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
                let known = match ledger.known.get(e.key()) {
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

    /// Write each changed agent's acknowledgement into the batch.
    pub(super) fn save(&self, tx: &Transaction<'_>) -> crate::store::sql::Result<()> {
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
