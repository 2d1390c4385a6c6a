//! Telegram accounts linked to Ronda accounts, the one-time codes that link
//! them, the prompts a "Tangani" press leaves for the reply with the note,
//! and how far the bot has read its updates.

use crate::store::sql::{params, Connection, OptionalExtension, Result};

/// `cluster_settings` key of the next update to read: the server that
/// takes the lead goes on from where the last one stopped.
const OFFSET: &str = "telegram_offset";

/// Keep `code_hash` as `user`'s one code until `expires_ms` (a new code
/// replaces the old one).
pub fn issue_code(conn: &Connection, user: &str, code_hash: &str, expires_ms: i64) -> Result<()> {
    conn.execute(
        r#"INSERT INTO telegram_codes (code_hash, "user", expires_ms) VALUES (?1, ?2, ?3)
           ON CONFLICT ("user") DO UPDATE SET code_hash = ?1, expires_ms = ?3"#,
        params![code_hash, user, expires_ms],
    )
    .map(drop)
}

/// Spend the code with `code_hash`, if it is still good, linking
/// `telegram_user` to its account in place of any link either had; the
/// account's name.
pub fn redeem(
    conn: &Connection,
    code_hash: &str,
    telegram_user: i64,
    now_ms: i64,
) -> Result<Option<String>> {
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "DELETE FROM telegram_codes WHERE expires_ms <= ?1",
        [now_ms],
    )?;
    let user: Option<String> = tx
        .query_row(
            r#"DELETE FROM telegram_codes WHERE code_hash = ?1 RETURNING "user""#,
            [code_hash],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(user) = &user {
        tx.execute(
            r#"DELETE FROM telegram_links WHERE telegram_user = ?1 OR "user" = ?2"#,
            params![telegram_user, user],
        )?;
        tx.execute(
            r#"INSERT INTO telegram_links (telegram_user, "user", linked_ms) VALUES (?1, ?2, ?3)"#,
            params![telegram_user, user, now_ms],
        )?;
    }
    tx.commit()?;
    Ok(user)
}

/// The account `telegram_user` is linked to.
pub fn account_of(conn: &Connection, telegram_user: i64) -> Result<Option<String>> {
    conn.query_row(
        r#"SELECT "user" FROM telegram_links WHERE telegram_user = ?1"#,
        [telegram_user],
        |r| r.get(0),
    )
    .optional()
}

/// The Telegram user `user` is linked to.
pub fn link_of(conn: &Connection, user: &str) -> Result<Option<i64>> {
    conn.query_row(
        r#"SELECT telegram_user FROM telegram_links WHERE "user" = ?1"#,
        [user],
        |r| r.get(0),
    )
    .optional()
}

/// Forget `user`'s link and code; whether there was a link.
pub fn unlink(conn: &Connection, user: &str) -> Result<bool> {
    conn.execute(r#"DELETE FROM telegram_codes WHERE "user" = ?1"#, [user])?;
    Ok(conn.execute(r#"DELETE FROM telegram_links WHERE "user" = ?1"#, [user])? > 0)
}

/// A press on alert `alert` by `telegram_user` asked for a note in a reply
/// to message `message_id` of `chat`, until `expires_ms`.
pub fn prompt(
    conn: &Connection,
    chat: i64,
    message_id: i64,
    alert: i64,
    telegram_user: i64,
    expires_ms: i64,
    now_ms: i64,
) -> Result<()> {
    conn.execute(
        "DELETE FROM telegram_prompts WHERE expires_ms <= ?1",
        [now_ms],
    )?;
    conn.execute(
        "INSERT INTO telegram_prompts (chat, message_id, alert_id, telegram_user, expires_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![chat, message_id, alert, telegram_user, expires_ms],
    )
    .map(drop)
}

/// The alert a reply to `message_id` of `chat` by `telegram_user` answers,
/// if that prompt was theirs and is still open; it is used up.
pub fn answer(
    conn: &Connection,
    chat: i64,
    message_id: i64,
    telegram_user: i64,
    now_ms: i64,
) -> Result<Option<i64>> {
    conn.query_row(
        "DELETE FROM telegram_prompts
         WHERE chat = ?1 AND message_id = ?2 AND telegram_user = ?3 AND expires_ms > ?4
         RETURNING alert_id",
        params![chat, message_id, telegram_user, now_ms],
        |r| r.get(0),
    )
    .optional()
}

/// The next update to ask the Bot API for.
pub fn offset(conn: &Connection) -> Result<i64> {
    let v: Option<String> = conn
        .query_row(
            "SELECT value FROM cluster_settings WHERE name = ?1",
            [OFFSET],
            |r| r.get(0),
        )
        .optional()?;
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
}

pub fn set_offset(conn: &Connection, offset: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO cluster_settings (name, value) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET value = ?2",
        params![OFFSET, offset.to_string()],
    )
    .map(drop)
}
