//! Commands sent to agents (a plug switched by hand or by a switch-off
//! remediation) and the agents' answers, for the office page and the
//! letter report.

use rusqlite::{params, Connection, Transaction};
use serde::Serialize;

/// A command as it is recorded when sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub id: String,
    pub office: String,
    pub agent: String,
    pub action: &'static str,
    pub plug: Option<String>,
    pub on: Option<bool>,
    pub by: String,
    pub at_ms: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommandRow {
    pub id: String,
    pub office: String,
    pub agent: String,
    pub action: String,
    pub plug: Option<String>,
    pub on: Option<bool>,
    pub by: String,
    pub sent_ms: i64,
    pub answered_ms: Option<i64>,
    pub ok: Option<bool>,
    pub answer: Option<String>,
}

pub fn write_sent(tx: &Transaction<'_>, c: &Sent) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO commands (id, office, agent, action, plug, turn_on, by, sent_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        c.id, c.office, c.agent, c.action, c.plug, c.on, c.by, c.at_ms
    ])?;
    Ok(())
}

pub fn write_answer(
    tx: &Transaction<'_>,
    id: &str,
    ok: bool,
    answer: &str,
    at_ms: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE commands SET answered_ms = ?2, ok = ?3, answer = ?4 WHERE id = ?1")?
        .execute(params![id, at_ms, ok, answer])?;
    Ok(())
}

const COLUMNS: &str =
    "id, office, agent, action, plug, turn_on, by, sent_ms, answered_ms, ok, answer";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CommandRow> {
    Ok(CommandRow {
        id: r.get(0)?,
        office: r.get(1)?,
        agent: r.get(2)?,
        action: r.get(3)?,
        plug: r.get(4)?,
        on: r.get(5)?,
        by: r.get(6)?,
        sent_ms: r.get(7)?,
        answered_ms: r.get(8)?,
        ok: r.get(9)?,
        answer: r.get(10)?,
    })
}

/// Commands of `office` (every office when `None`) sent in
/// `[from_ms, to_ms)`, newest first.
pub fn list(
    conn: &Connection,
    office: Option<&str>,
    from_ms: i64,
    to_ms: i64,
    limit: u32,
) -> rusqlite::Result<Vec<CommandRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM commands WHERE (?1 IS NULL OR office = ?1)
         AND sent_ms >= ?2 AND sent_ms < ?3 ORDER BY sent_ms DESC LIMIT ?4"
    ))?;
    let rows = stmt.query_map(params![office, from_ms, to_ms, limit], row)?;
    rows.collect()
}
