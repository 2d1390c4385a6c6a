//! Door events: stored once each, read back for the engine and the pages.

use jiff::Timestamp;
use ronda_policy::eval::DoorSeen;
use ronda_wire::DoorEvent;
use rusqlite::{params, Connection, Transaction};

/// Store one event; false when the office already has it from that device.
pub fn insert(
    tx: &Transaction<'_>,
    office: &str,
    agent: &str,
    seq: u64,
    received_ms: i64,
    event: &DoorEvent,
) -> rusqlite::Result<bool> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO door_events
            (office, device, key, agent, seq, at_ms, received_ms, event)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
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

fn read(rows: &mut rusqlite::Rows<'_>) -> rusqlite::Result<Vec<StoredEvent>> {
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let body: String = r.get(3)?;
        // Checked when it arrived; one this version cannot read is skipped.
        let Ok(event) = serde_json::from_str::<DoorEvent>(&body) else {
            continue;
        };
        out.push(StoredEvent {
            office: r.get(0)?,
            seen: DoorSeen {
                agent: r.get(1)?,
                event,
                received: Timestamp::from_millisecond(r.get(2)?).unwrap_or_default(),
            },
        });
    }
    Ok(out)
}

/// Every office's events received since `since_ms`, oldest first: the
/// engine's starting point.
pub fn received_since(conn: &Connection, since_ms: i64) -> rusqlite::Result<Vec<StoredEvent>> {
    let mut stmt = conn.prepare(
        "SELECT office, agent, received_ms, event FROM door_events
         WHERE received_ms >= ?1 ORDER BY at_ms",
    )?;
    let mut rows = stmt.query([since_ms])?;
    read(&mut rows)
}

/// One office's newest events (by device time), newest first.
pub fn latest(conn: &Connection, office: &str, limit: u32) -> rusqlite::Result<Vec<StoredEvent>> {
    let mut stmt = conn.prepare(
        "SELECT office, agent, received_ms, event FROM door_events
         WHERE office = ?1 ORDER BY at_ms DESC LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![office, limit])?;
    read(&mut rows)
}

/// Every office's events whose device time falls in `[from, to)`, oldest
/// first: the entries of a letter's window.
pub fn between(conn: &Connection, from_ms: i64, to_ms: i64) -> rusqlite::Result<Vec<StoredEvent>> {
    let mut stmt = conn.prepare(
        "SELECT office, agent, received_ms, event FROM door_events
         WHERE at_ms >= ?1 AND at_ms < ?2 ORDER BY office, at_ms LIMIT ?3",
    )?;
    let mut rows = stmt.query(params![from_ms, to_ms, MAX_LISTED])?;
    read(&mut rows)
}
