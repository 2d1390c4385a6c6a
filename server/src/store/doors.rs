//! Door events: stored once each, read back for the engine and the pages.

use crate::store::sql::{params, Connection, ToSql, Transaction};
use jiff::Timestamp;
use ronda_policy::eval::DoorSeen;
use ronda_wire::DoorEvent;

/// Store one event; false when the office already has it from that device.
pub fn insert(
    tx: &Transaction<'_>,
    office: &str,
    agent: &str,
    seq: u64,
    received_ms: i64,
    event: &DoorEvent,
) -> crate::store::sql::Result<bool> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO door_events
            (office, device, key, agent, seq, at_ms, received_ms, event)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT DO NOTHING",
    )?;
    let body = serde_json::to_string(event).unwrap_or_default();
    let seq = i64::try_from(seq).unwrap_or(i64::MAX);
    let n = insert.execute(params![
        office,
        event.device,
        event.key(),
        agent,
        seq,
        event.at.instant.as_millisecond(),
        received_ms,
        body
    ])?;
    Ok(n == 1)
}

/// Most events a letter's report reads for its window.
const MAX_LISTED: i64 = 100_000;

/// A stored event with its office.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub office: String,
    pub seen: DoorSeen,
}

fn read(
    conn: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
) -> crate::store::sql::Result<Vec<StoredEvent>> {
    let rows = conn.query_rows(sql, params, |r| {
        let body: String = r.get(3)?;
        // Checked when it arrived; one this version cannot read is skipped.
        let Ok(event) = serde_json::from_str::<DoorEvent>(&body) else {
            return Ok(None);
        };
        Ok(Some(StoredEvent {
            office: r.get(0)?,
            seen: DoorSeen {
                agent: r.get(1)?,
                event,
                received: Timestamp::from_millisecond(r.get(2)?).unwrap_or_default(),
            },
        }))
    })?;
    Ok(rows.into_iter().flatten().collect())
}

/// Every office's events received since `since_ms`, oldest first: the
/// engine's starting point.
pub fn received_since(
    conn: &Connection,
    since_ms: i64,
) -> crate::store::sql::Result<Vec<StoredEvent>> {
    read(
        conn,
        "SELECT office, agent, received_ms, event FROM door_events
         WHERE received_ms >= ?1 ORDER BY at_ms",
        params![since_ms],
    )
}

/// One office's newest events (by device time), newest first.
pub fn latest(
    conn: &Connection,
    office: &str,
    limit: u32,
) -> crate::store::sql::Result<Vec<StoredEvent>> {
    read(
        conn,
        "SELECT office, agent, received_ms, event FROM door_events
         WHERE office = ?1 ORDER BY at_ms DESC LIMIT ?2",
        params![office, limit],
    )
}

/// Every office's events whose device time falls in `[from, to)`, oldest
/// first: the entries of a letter's window.
pub fn between(
    conn: &Connection,
    from_ms: i64,
    to_ms: i64,
) -> crate::store::sql::Result<Vec<StoredEvent>> {
    read(
        conn,
        "SELECT office, agent, received_ms, event FROM door_events
         WHERE at_ms >= ?1 AND at_ms < ?2 ORDER BY office, at_ms LIMIT ?3",
        params![from_ms, to_ms, MAX_LISTED],
    )
}
