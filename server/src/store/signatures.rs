//! Heads' signatures of a letter for their office: the checklist as it stood,
//! the explanations, and whether it came after the deadline.

use std::collections::BTreeMap;

use crate::store::sql::{params, Connection, OptionalExtension};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Signature {
    pub by: String,
    pub at: jiff::Timestamp,
    pub late: bool,
    pub explanations: BTreeMap<String, String>,
}

/// A signature to store, already encoded.
pub struct Signed {
    pub letter: String,
    pub office: String,
    pub by: String,
    pub at_ms: i64,
    /// The evaluation as JSON, as the head saw it.
    pub snapshot: String,
    /// Item id to explanation, as JSON.
    pub explanations: String,
    pub late: bool,
}

fn row(r: &crate::store::sql::Row<'_>) -> crate::store::sql::Result<Signature> {
    Ok(Signature {
        by: r.get(0)?,
        at: jiff::Timestamp::from_millisecond(r.get(1)?).unwrap_or_default(),
        late: r.get(2)?,
        explanations: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or_default(),
    })
}

pub fn one(
    conn: &Connection,
    letter: &str,
    office: &str,
) -> crate::store::sql::Result<Option<Signature>> {
    conn.query_row(
        "SELECT by, at_ms, late, explanations FROM signatures WHERE letter = ?1 AND office = ?2",
        params![letter, office],
        row,
    )
    .optional()
}

/// Every office's signature of one letter.
pub fn of_letter(
    conn: &Connection,
    letter: &str,
) -> crate::store::sql::Result<BTreeMap<String, Signature>> {
    let mut stmt = conn.prepare_cached(
        "SELECT by, at_ms, late, explanations, office FROM signatures WHERE letter = ?1",
    )?;
    let rows = stmt.query_map([letter], |r| Ok((r.get::<_, String>(4)?, row(r)?)))?;
    rows.collect()
}

/// The letters `office` has signed.
pub fn letters_of(conn: &Connection, office: &str) -> crate::store::sql::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT letter FROM signatures WHERE office = ?1")?;
    let rows = stmt.query_map([office], |r| r.get::<_, String>(0))?;
    rows.collect()
}

/// Sign, or sign again over an earlier signature.
pub fn sign(conn: &Connection, s: &Signed) -> crate::store::sql::Result<()> {
    conn.execute(
        "INSERT INTO signatures (letter, office, by, at_ms, snapshot, explanations, late) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (letter, office) DO UPDATE SET by = excluded.by, at_ms = excluded.at_ms,
            snapshot = excluded.snapshot, explanations = excluded.explanations, late = excluded.late",
        params![s.letter, s.office, s.by, s.at_ms, s.snapshot, s.explanations, s.late],
    )
    .map(drop)
}

pub fn withdraw(conn: &Connection, letter: &str, office: &str) -> crate::store::sql::Result<()> {
    conn.execute(
        "DELETE FROM signatures WHERE letter = ?1 AND office = ?2",
        params![letter, office],
    )
    .map(drop)
}
