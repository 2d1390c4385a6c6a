//! Alerts, their transitions and attestations in SQLite: written by the
//! writer thread, read back for the API and to resume after a restart.

use std::collections::BTreeMap;

use crate::store::sql::{params, Connection, OptionalExtension, Row, Transaction};
use jiff::Timestamp;
use ronda_policy::alert::{Ack, Alert, AlertKey, Change, State, Transition};
use ronda_policy::eval::Attestation;
use ronda_policy::{Severity, Text};

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn ts(v: Option<i64>) -> Option<Timestamp> {
    v.and_then(|m| Timestamp::from_millisecond(m).ok())
}

/// Store one change: the alert as it now stands, and the move that led there.
pub(super) fn write_change(tx: &Transaction<'_>, c: &Change) -> crate::store::sql::Result<()> {
    let a = &c.alert;
    let ack = a.ack.as_ref();
    let mut upsert = tx.prepare_cached(
        "INSERT INTO alerts (id, letter, item, office, subject, severity, state, agent, message, evidence,
            started_ms, fired_ms, resolved_ms, ack_by, ack_note, ack_at_ms, ack_until_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, message = excluded.message,
            evidence = excluded.evidence, fired_ms = excluded.fired_ms, resolved_ms = excluded.resolved_ms,
            ack_by = excluded.ack_by, ack_note = excluded.ack_note, ack_at_ms = excluded.ack_at_ms,
            ack_until_ms = excluded.ack_until_ms",
    )?;
    upsert.execute(params![
        a.id,
        a.key.letter,
        a.key.item,
        a.key.office,
        a.key.subject,
        a.severity.as_str(),
        a.state.as_str(),
        a.agent,
        a.message.to_stored(),
        a.evidence.to_string(),
        ms(a.started),
        a.fired.map(ms),
        a.resolved.map(ms),
        ack.map(|k| &k.by),
        ack.map(|k| &k.note),
        ack.map(|k| ms(k.at)),
        ack.and_then(|k| k.until).map(ms),
    ])?;
    let t = &c.transition;
    let mut history = tx.prepare_cached(
        "INSERT INTO alert_transitions (alert_id, at_ms, from_state, to_state, cause, actor, evidence)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    history.execute(params![
        t.alert,
        ms(t.at),
        t.from.map(State::as_str),
        t.to.as_str(),
        t.cause.to_stored(),
        t.actor,
        t.evidence.to_string(),
    ])?;
    Ok(())
}

/// An email an alert change calls for, due once the letter's group wait is over.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    /// `firing`, `resolved` or `ack`.
    pub kind: &'static str,
    pub due: Timestamp,
}

pub(super) fn write_intent(
    tx: &Transaction<'_>,
    c: &Change,
    i: &Intent,
) -> crate::store::sql::Result<()> {
    tx.prepare_cached(
        "INSERT INTO notify_intents (alert_id, kind, office, due_ms) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![c.alert.id, i.kind, c.alert.key.office, ms(i.due)])?;
    Ok(())
}

pub(super) fn write_attestation(
    tx: &Transaction<'_>,
    letter: &str,
    office: &str,
    item: &str,
    a: &Attestation,
) -> crate::store::sql::Result<()> {
    tx.prepare_cached(
        "INSERT INTO attestations (letter, office, item, by, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (letter, office, item) DO UPDATE SET by = excluded.by, at_ms = excluded.at_ms",
    )?
    .execute(params![letter, office, item, a.by, ms(a.at)])?;
    Ok(())
}

const ALERT_COLUMNS: &str =
    "id, letter, item, office, subject, severity, state, agent, message, evidence,
    started_ms, fired_ms, resolved_ms, ack_by, ack_note, ack_at_ms, ack_until_ms";

fn alert(r: &Row<'_>) -> crate::store::sql::Result<Alert> {
    let text = |i: usize| r.get::<_, String>(i);
    let ack = match r.get::<_, Option<String>>(13)? {
        Some(by) => Some(Ack {
            by,
            note: r.get::<_, Option<String>>(14)?.unwrap_or_default(),
            at: ts(r.get(15)?).unwrap_or_default(),
            until: ts(r.get(16)?),
        }),
        None => None,
    };
    Ok(Alert {
        id: r.get(0)?,
        key: AlertKey {
            letter: text(1)?,
            item: text(2)?,
            office: text(3)?,
            subject: text(4)?,
        },
        severity: Severity::parse(&text(5)?).unwrap_or(Severity::Warning),
        state: State::parse(&text(6)?).unwrap_or(State::Firing),
        agent: r.get(7)?,
        message: Text::from_stored(&text(8)?),
        evidence: serde_json::from_str(&text(9)?).unwrap_or_default(),
        started: ts(r.get(10)?).unwrap_or_default(),
        fired: ts(r.get(11)?),
        resolved: ts(r.get(12)?),
        ack,
    })
}

/// The alerts still open, and the highest id ever given.
pub fn open_alerts(conn: &Connection) -> crate::store::sql::Result<(Vec<Alert>, i64)> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {ALERT_COLUMNS} FROM alerts WHERE state != 'resolved' ORDER BY id"
    ))?;
    let open = stmt
        .query_map([], alert)?
        .collect::<crate::store::sql::Result<Vec<_>>>()?;
    let last: Option<i64> = conn.query_row("SELECT max(id) FROM alerts", [], |r| r.get(0))?;
    Ok((open, last.unwrap_or(0)))
}

/// Filters of `GET /api/v1/alerts`; `None` matches anything.
#[derive(Debug, Default, Clone, serde::Deserialize, serde::Serialize)]
pub struct AlertFilter {
    pub state: Option<String>,
    pub office: Option<String>,
    pub severity: Option<String>,
    pub letter: Option<String>,
}

/// Newest first, at most `limit`.
pub fn list(
    conn: &Connection,
    f: &AlertFilter,
    limit: u32,
) -> crate::store::sql::Result<Vec<Alert>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ALERT_COLUMNS} FROM alerts
         WHERE (CAST(?1 AS TEXT) IS NULL OR state = ?1) AND (CAST(?2 AS TEXT) IS NULL OR office = ?2)
           AND (CAST(?3 AS TEXT) IS NULL OR severity = ?3) AND (CAST(?4 AS TEXT) IS NULL OR letter = ?4)
         ORDER BY id DESC LIMIT ?5"
    ))?;
    let rows = stmt.query_map(
        params![f.state, f.office, f.severity, f.letter, limit],
        alert,
    )?;
    rows.collect()
}

pub fn get(conn: &Connection, id: i64) -> crate::store::sql::Result<Option<Alert>> {
    conn.prepare_cached(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1"))?
        .query_row([id], alert)
        .optional()
}

pub fn one(
    conn: &Connection,
    id: i64,
) -> crate::store::sql::Result<Option<(Alert, Vec<Transition>)>> {
    let Some(a) = conn
        .query_row(
            &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1"),
            [id],
            alert,
        )
        .optional()?
    else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT at_ms, from_state, to_state, cause, actor, evidence FROM alert_transitions
         WHERE alert_id = ?1 ORDER BY at_ms, rowid",
    )?;
    let history = stmt
        .query_map([id], |r| {
            Ok(Transition {
                alert: id,
                at: ts(r.get(0)?).unwrap_or_default(),
                from: r
                    .get::<_, Option<String>>(1)?
                    .as_deref()
                    .and_then(State::parse),
                to: State::parse(&r.get::<_, String>(2)?).unwrap_or(State::Firing),
                cause: Text::from_stored(&r.get::<_, String>(3)?),
                actor: r.get(4)?,
                evidence: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
            })
        })?
        .collect::<crate::store::sql::Result<Vec<_>>>()?;
    Ok(Some((a, history)))
}

/// `(letter, office, item)` → attestation.
pub fn attestations(
    conn: &Connection,
) -> crate::store::sql::Result<BTreeMap<(String, String, String), Attestation>> {
    let mut stmt = conn.prepare("SELECT letter, office, item, by, at_ms FROM attestations")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            (r.get(0)?, r.get(1)?, r.get(2)?),
            Attestation {
                by: r.get(3)?,
                at: ts(r.get(4)?).unwrap_or_default(),
            },
        ))
    })?;
    rows.collect()
}
