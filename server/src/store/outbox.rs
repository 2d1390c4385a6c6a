//! The outbox and its bookkeeping: intents waiting out their group wait,
//! what each alert's recipients have been told, queued messages (email,
//! Telegram, webhooks) and their attempts, and once-only keys for reminders
//! and summaries. The mail module decides what to send; this is where it is
//! kept.

use crate::store::sql::{params, Connection, Dialect, OptionalExtension};

/// An alert change whose email is due.
pub struct DueIntent {
    pub id: i64,
    pub alert_id: i64,
    pub kind: String,
    pub office: String,
}

/// Intents due at `now_ms`, oldest first. On PostgreSQL they stay locked
/// until the caller's transaction ends, and another server's composer
/// skips them: each intent becomes one message, whoever composes it.
pub fn due_intents(conn: &Connection, now_ms: i64) -> crate::store::sql::Result<Vec<DueIntent>> {
    let mut stmt = conn.prepare_cached(match conn.dialect() {
        Dialect::Sqlite => {
            "SELECT id, alert_id, kind, office FROM notify_intents WHERE due_ms <= ?1 ORDER BY id"
        }
        Dialect::Postgres => {
            "SELECT id, alert_id, kind, office FROM notify_intents WHERE due_ms <= ?1 ORDER BY id
             FOR UPDATE SKIP LOCKED"
        }
    })?;
    let rows = stmt.query_map([now_ms], |r| {
        Ok(DueIntent {
            id: r.get(0)?,
            alert_id: r.get(1)?,
            kind: r.get(2)?,
            office: r.get(3)?,
        })
    })?;
    rows.collect()
}

pub fn delete_intent(conn: &Connection, id: i64) -> crate::store::sql::Result<()> {
    conn.execute("DELETE FROM notify_intents WHERE id = ?1", [id])
        .map(drop)
}

/// What an alert's recipients have been told so far.
pub struct Notified {
    pub firing_sent_ms: Option<i64>,
    pub last_sent_ms: Option<i64>,
    /// Escalation tiers already reached.
    pub tier: usize,
}

pub fn notified(conn: &Connection, alert: i64) -> crate::store::sql::Result<Option<Notified>> {
    conn.prepare_cached(
        "SELECT firing_sent_ms, last_sent_ms, tier FROM alert_notify WHERE alert_id = ?1",
    )?
    .query_row([alert], |r| {
        Ok(Notified {
            firing_sent_ms: r.get(0)?,
            last_sent_ms: r.get(1)?,
            tier: r.get::<_, i64>(2)?.max(0) as usize,
        })
    })
    .optional()
}

/// The firing email about `alert` was queued at `now_ms`.
pub fn firing_sent(conn: &Connection, alert: i64, now_ms: i64) -> crate::store::sql::Result<()> {
    conn.execute(
        "INSERT INTO alert_notify (alert_id, firing_sent_ms, last_sent_ms) VALUES (?1, ?2, ?2)
         ON CONFLICT (alert_id) DO UPDATE SET firing_sent_ms = ?2, last_sent_ms = ?2",
        params![alert, now_ms],
    )
    .map(drop)
}

/// Alerts still firing whose firing email went out.
pub fn told_and_firing(conn: &Connection) -> crate::store::sql::Result<Vec<i64>> {
    conn.prepare_cached(
        "SELECT n.alert_id FROM alert_notify n JOIN alerts a ON a.id = n.alert_id
         WHERE a.state = 'firing' AND n.firing_sent_ms IS NOT NULL ORDER BY n.alert_id",
    )?
    .query_map([], |r| r.get(0))?
    .collect()
}

pub fn escalated(conn: &Connection, alert: i64, tier: usize) -> crate::store::sql::Result<()> {
    conn.execute(
        "UPDATE alert_notify SET tier = ?2 WHERE alert_id = ?1",
        params![alert, tier as i64],
    )
    .map(drop)
}

pub fn repeated(conn: &Connection, alert: i64, now_ms: i64) -> crate::store::sql::Result<()> {
    conn.execute(
        "UPDATE alert_notify SET last_sent_ms = ?2, repeats = repeats + 1 WHERE alert_id = ?1",
        params![alert, now_ms],
    )
    .map(drop)
}

/// A rendered message to queue.
pub struct NewMessage<'a> {
    pub kind: &'a str,
    /// `email`, `telegram` or `webhook`.
    pub channel: &'a str,
    /// The registry's name of the chat or webhook; `None` for email.
    pub target: Option<&'a str>,
    pub office: Option<&'a str>,
    /// Recipients as a JSON array.
    pub recipients: String,
    pub subject: &'a str,
    pub text: &'a str,
    /// What the channel sends: the HTML part of an email, a Telegram
    /// message's HTML, a webhook's JSON body.
    pub html: &'a str,
    /// Alert ids as a JSON array.
    pub alert_ids: String,
    /// Why it is stored dead, when it is.
    pub dead: Option<&'a str>,
    pub now_ms: i64,
    /// The sender's domain, for the message id.
    pub domain: &'a str,
}

/// Queue `m` (or store it dead); returns its id.
pub fn queue(conn: &Connection, m: &NewMessage<'_>) -> crate::store::sql::Result<i64> {
    let state = if m.dead.is_some() { "dead" } else { "queued" };
    let id: i64 = conn.query_row(
        "INSERT INTO outbox (kind, office, recipients, subject, body_text, body_html, message_id, alert_ids,
            state, next_attempt_ms, last_error, created_ms, channel, target)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, '', ?7, ?8, ?9, ?10, ?9, ?11, ?12) RETURNING id",
        params![
            m.kind, m.office, m.recipients, m.subject, m.text, m.html,
            m.alert_ids, state, m.now_ms, m.dead, m.channel, m.target,
        ],
        |r| r.get(0),
    )?;
    // Stable across retries and restarts: derived from the row alone.
    let message_id = format!("<ronda.{id}.{}@{}>", m.now_ms, m.domain);
    conn.execute(
        "UPDATE outbox SET message_id = ?2 WHERE id = ?1",
        params![id, message_id],
    )?;
    Ok(id)
}

/// A queued message, as the sender needs it.
pub struct Queued {
    pub id: i64,
    pub kind: String,
    pub channel: String,
    pub target: Option<String>,
    pub office: Option<String>,
    /// Alert ids as the message stored them.
    pub alert_ids: Vec<i64>,
    pub recipients: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub message_id: String,
    pub attempts: u32,
}

/// Claim the oldest message of `channel` due at `now_ms` until `until_ms`,
/// and return it. A claimed message is left alone by every other sender until its
/// claim runs out or its attempt is recorded: with two servers on one
/// PostgreSQL database, a server that lost the lead mid-send may still be
/// talking to the mail server. `SKIP LOCKED` lets two claims run at once
/// without waiting on each other or taking the same row.
pub fn claim(
    conn: &Connection,
    channel: &str,
    now_ms: i64,
    until_ms: i64,
) -> crate::store::sql::Result<Option<Queued>> {
    let lock = match conn.dialect() {
        Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
        Dialect::Sqlite => "",
    };
    let sql = format!(
        "UPDATE outbox SET claimed_until_ms = ?2 WHERE id = (
            SELECT id FROM outbox
            WHERE channel = ?3 AND state = 'queued' AND next_attempt_ms <= ?1
              AND (claimed_until_ms IS NULL OR claimed_until_ms <= ?1)
            ORDER BY next_attempt_ms, id LIMIT 1 {lock})
         RETURNING id, kind, recipients, subject, body_text, body_html, message_id, attempts,
            channel, target, office, alert_ids"
    );
    conn.prepare_cached(&sql)?
        .query_row(params![now_ms, until_ms, channel], |r| {
            Ok(Queued {
                id: r.get(0)?,
                kind: r.get(1)?,
                channel: r.get(8)?,
                target: r.get(9)?,
                office: r.get(10)?,
                alert_ids: serde_json::from_str(&r.get::<_, String>(11)?).unwrap_or_default(),
                recipients: serde_json::from_str(&r.get::<_, String>(2)?).unwrap_or_default(),
                subject: r.get(3)?,
                text: r.get(4)?,
                html: r.get(5)?,
                message_id: r.get(6)?,
                attempts: r.get::<_, i64>(7)?.max(0) as u32,
            })
        })
        .optional()
}

pub fn sent(
    conn: &Connection,
    id: i64,
    attempts: u32,
    now_ms: i64,
) -> crate::store::sql::Result<()> {
    conn.execute(
        "UPDATE outbox SET state = 'sent', sent_ms = ?2, attempts = ?3, last_error = NULL, claimed_until_ms = NULL
         WHERE id = ?1",
        params![id, now_ms, attempts],
    )
    .map(drop)
}

pub fn dead(
    conn: &Connection,
    id: i64,
    attempts: u32,
    error: &str,
) -> crate::store::sql::Result<()> {
    conn.execute(
        "UPDATE outbox SET state = 'dead', attempts = ?2, last_error = ?3, claimed_until_ms = NULL WHERE id = ?1",
        params![id, attempts, error],
    )
    .map(drop)
}

pub fn retry(
    conn: &Connection,
    id: i64,
    attempts: u32,
    error: &str,
    next_ms: i64,
) -> crate::store::sql::Result<()> {
    conn.execute(
        "UPDATE outbox SET attempts = ?2, last_error = ?3, next_attempt_ms = ?4, claimed_until_ms = NULL
         WHERE id = ?1",
        params![id, attempts, error, next_ms],
    )
    .map(drop)
}

/// Alerts of `letter` in `office` not yet resolved.
pub fn open_alerts(
    conn: &Connection,
    letter: &str,
    office: &str,
) -> crate::store::sql::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM alerts WHERE letter = ?1 AND office = ?2 AND state != 'resolved'",
        params![letter, office],
        |r| r.get(0),
    )
}

/// True the first time `key` is seen.
pub fn once(conn: &Connection, key: &str, now_ms: i64) -> crate::store::sql::Result<bool> {
    let n = conn.execute(
        "INSERT INTO mail_once (key, at_ms) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![key, now_ms],
    )?;
    Ok(n == 1)
}
