//! What each agent has delivered: the "committed up to seq N" to send back
//! after a batch commits, and the gaps its outbox reports.
//!
//! Changes are staged per batch and kept only once the batch commits, so a
//! batch retried after a failed commit is counted afresh.

use std::collections::HashMap;

use ronda_wire::{Delivery, Progress};
use rusqlite::{params, OptionalExtension, Transaction};

type Key = (String, String);

/// Tell `agent` of `office` that everything up to `through` is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckOut {
    pub office: String,
    pub agent: String,
    pub through: u64,
}

#[derive(Default)]
pub(super) struct Ledger {
    known: HashMap<Key, Progress>,
}

/// One batch's changes to the ledger.
#[derive(Default)]
pub(super) struct Staged {
    changed: HashMap<Key, Progress>,
}

impl Ledger {
    pub(super) fn keep(&mut self, staged: Staged) -> Vec<AckOut> {
        let mut acks = Vec::with_capacity(staged.changed.len());
        for ((office, agent), progress) in staged.changed {
            acks.push(AckOut {
                office: office.clone(),
                agent: agent.clone(),
                through: progress.through(),
            });
            self.known.insert((office, agent), progress);
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
    ) -> rusqlite::Result<()> {
        let key = (office.to_owned(), agent.to_owned());
        let progress = match self.changed.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let known = match ledger.known.get(e.key()) {
                    Some(p) => p.clone(),
                    None => Progress::resume(acked_through(tx, office, agent)?),
                };
                e.insert(known)
            }
        };
        progress.commit(seq, delivery.map(|d| d.floor));
        match delivery {
            Some(d) => note_drops(tx, office, agent, d),
            None => Ok(()),
        }
    }

    /// Write each changed agent's acknowledgement into the batch.
    pub(super) fn save(&self, tx: &Transaction<'_>) -> rusqlite::Result<()> {
        let mut update = tx.prepare_cached(
            "INSERT INTO agents (office, agent, acked_through) VALUES (?1, ?2, ?3)
             ON CONFLICT (office, agent) DO UPDATE SET acked_through = excluded.acked_through",
        )?;
        for ((office, agent), p) in &self.changed {
            update.execute(params![office, agent, p.through() as i64])?;
        }
        Ok(())
    }
}

fn acked_through(tx: &Transaction<'_>, office: &str, agent: &str) -> rusqlite::Result<u64> {
    let mut q =
        tx.prepare_cached("SELECT acked_through FROM agents WHERE office = ?1 AND agent = ?2")?;
    Ok(q.query_row(params![office, agent], |r| r.get::<_, i64>(0))
        .optional()?
        .unwrap_or(0) as u64)
}

/// A rise in the outbox's drop count is one gap in the history.
fn note_drops(
    tx: &Transaction<'_>,
    office: &str,
    agent: &str,
    d: &Delivery,
) -> rusqlite::Result<()> {
    let mut known =
        tx.prepare_cached("SELECT dropped FROM agents WHERE office = ?1 AND agent = ?2")?;
    let before = known
        .query_row(params![office, agent], |r| r.get::<_, i64>(0))
        .optional()?
        .unwrap_or(0) as u64;
    if d.dropped <= before {
        return Ok(());
    }
    let lost = d.dropped - before;
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
