//! One-time links to set a password (`ronda-server user sync`).
//!
//! A link belongs to one account. It is made without a token: the outbox
//! keeps its message with a placeholder, so the link is never in the
//! database, on `/mail` or in the API. The token is drawn when the mail
//! goes out ([`mint`]), and only its SHA-256 is kept, with the time it
//! expires. Setting the password ([`consume`]) deletes the link in the same
//! transaction, so a token works once, and only one of many requests
//! carrying it at the same moment wins.

use crate::store::sql::{params, Connection, OptionalExtension};

use super::session::{digest, hex};
use super::{random_bytes, UserError};

/// A token is 32 random bytes in hex: 64 characters, nothing else.
pub const TOKEN_LEN: usize = 64;

/// Whether `token` has the form of a token. Anything else is refused before
/// the database is asked (and before any hash is made of it).
pub fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_LEN && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `user` has a link that can still be used: its mail is still
/// waiting to go out, or it went out and has not expired.
pub fn live(conn: &Connection, user: &str, now_ms: i64) -> crate::store::sql::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM password_links l LEFT JOIN outbox o ON o.id = l.outbox_id
         WHERE l.\"user\" = ?1
           AND (o.state = 'queued' OR (l.token_hash IS NOT NULL AND l.expires_ms > ?2))",
        params![user, now_ms],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// Make (or replace) `user`'s link, carried by outbox message `outbox_id`.
/// A replaced link's token stops working, and its message, if still
/// waiting, is not sent.
pub fn create(
    conn: &Connection,
    user: &str,
    outbox_id: i64,
    ttl_ms: i64,
    now_ms: i64,
) -> crate::store::sql::Result<()> {
    let old: Option<i64> = conn
        .query_row(
            "SELECT outbox_id FROM password_links WHERE \"user\" = ?1",
            [user],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(old) = old {
        conn.execute(
            "UPDATE outbox SET state = 'dead', last_error = 'replaced by a newer link'
             WHERE id = ?1 AND state = 'queued'",
            [old],
        )?;
    }
    conn.execute(
        "INSERT INTO password_links (\"user\", token_hash, ttl_ms, expires_ms, outbox_id, created_ms)
         VALUES (?1, NULL, ?2, NULL, ?3, ?4)
         ON CONFLICT (\"user\") DO UPDATE SET token_hash = NULL, ttl_ms = ?2, expires_ms = NULL,
             outbox_id = ?3, created_ms = ?4",
        params![user, ttl_ms, outbox_id, now_ms],
    )?;
    Ok(())
}

/// Draw the token of the link that outbox message `outbox_id` carries, as
/// it is sent: its time to live starts now. `None` when no link waits for
/// that message (replaced by a newer one, or already used). Each send draws
/// anew, so only the token of the latest mail works.
pub fn mint(
    conn: &Connection,
    outbox_id: i64,
    now_ms: i64,
) -> crate::store::sql::Result<Option<String>> {
    let ttl: Option<i64> = conn
        .query_row(
            "SELECT ttl_ms FROM password_links WHERE outbox_id = ?1",
            [outbox_id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(ttl) = ttl else {
        return Ok(None);
    };
    let token = hex(random_bytes::<32>());
    conn.execute(
        "UPDATE password_links SET token_hash = ?2, expires_ms = ?3 WHERE outbox_id = ?1",
        params![outbox_id, digest(&token), now_ms.saturating_add(ttl)],
    )?;
    Ok(Some(token))
}

/// The enabled account whose live link `token` is.
pub fn find(
    conn: &Connection,
    token: &str,
    now_ms: i64,
) -> crate::store::sql::Result<Option<String>> {
    if !well_formed(token) {
        return Ok(None);
    }
    conn.query_row(
        "SELECT l.\"user\" FROM password_links l JOIN users u ON u.name = l.\"user\"
         WHERE l.token_hash = ?1 AND l.expires_ms > ?2 AND u.disabled = 0",
        params![digest(token), now_ms],
        |r| r.get(0),
    )
    .optional()
}

/// Set the password of the account whose live link `token` is, to the
/// argon2id hash `phc`, and delete the link: all or nothing. `None` when
/// the token is not (or no longer) live: another request used it first, it
/// expired, or it never was.
pub fn consume(
    conn: &Connection,
    token: &str,
    phc: &str,
    now_ms: i64,
) -> Result<Option<String>, UserError> {
    let Some(user) = find(conn, token, now_ms)? else {
        return Ok(None);
    };
    let tx = conn.immediate_transaction()?;
    let gone = tx.execute(
        "DELETE FROM password_links WHERE \"user\" = ?1 AND token_hash = ?2",
        params![user, digest(token)],
    )?;
    if gone != 1 {
        return Ok(None);
    }
    tx.execute(
        "UPDATE users SET password_hash = ?2, password_changed_ms = ?3 WHERE name = ?1",
        params![user, phc, now_ms],
    )?;
    super::end_everything(&tx, &user)?;
    tx.commit()?;
    Ok(Some(user))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each backend's database, with the head account the links are for.
    fn db() -> Vec<(crate::store::testdb::TestDb, Connection)> {
        let each = crate::store::testdb::each();
        for (_, conn) in &each {
            super::super::add_pending(conn, "kepala-dinkes", "head", Some("dinkes"), 1).unwrap();
        }
        each
    }

    fn queued(conn: &Connection) -> i64 {
        conn.query_row(
            "INSERT INTO outbox (kind, recipients, subject, body_text, body_html, message_id,
                 alert_ids, next_attempt_ms, created_ms)
             VALUES ('password', '[]', 's', 't', 'h', 'm', '[]', 0, 0) RETURNING id",
            [],
            |r| r.get(0),
        )
        .unwrap()
    }

    #[test]
    fn only_the_tokens_hash_is_kept_and_only_once_it_is_sent() {
        for (_db, c) in db() {
            let m = queued(&c);
            create(&c, "kepala-dinkes", m, 1000, 10).unwrap();
            let stored: Option<String> = c
                .query_row("SELECT token_hash FROM password_links", [], |r| r.get(0))
                .unwrap();
            assert_eq!(stored, None, "no token before the mail goes out");
            assert!(live(&c, "kepala-dinkes", 10).unwrap(), "its mail waits");
            let token = mint(&c, m, 20).unwrap().unwrap();
            assert!(well_formed(&token));
            let stored: String = c
                .query_row("SELECT token_hash FROM password_links", [], |r| r.get(0))
                .unwrap();
            assert_ne!(stored, token);
            assert_eq!(stored, digest(&token));
            assert_eq!(
                find(&c, &token, 1019).unwrap().as_deref(),
                Some("kepala-dinkes")
            );
            assert_eq!(find(&c, &token, 1020).unwrap(), None, "expired");
        }
    }

    #[test]
    fn a_new_link_kills_the_old_token_and_its_waiting_mail() {
        for (_db, c) in db() {
            let first = queued(&c);
            create(&c, "kepala-dinkes", first, 1000, 10).unwrap();
            let old = mint(&c, first, 20).unwrap().unwrap();
            let second = queued(&c);
            create(&c, "kepala-dinkes", second, 1000, 30).unwrap();
            assert_eq!(find(&c, &old, 40).unwrap(), None);
            assert_eq!(
                mint(&c, first, 40).unwrap(),
                None,
                "the old mail carries nothing"
            );
            let third = queued(&c);
            create(&c, "kepala-dinkes", third, 1000, 50).unwrap();
            let state: String = c
                .query_row("SELECT state FROM outbox WHERE id = ?1", [second], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(
                state, "dead",
                "a waiting mail of a replaced link is not sent"
            );
        }
    }

    #[test]
    fn a_token_sets_the_password_once() {
        for (_db, c) in db() {
            let m = queued(&c);
            create(&c, "kepala-dinkes", m, 1000, 10).unwrap();
            let token = mint(&c, m, 20).unwrap().unwrap();
            let phc = super::super::hash("lampu-merah-7").unwrap();
            assert_eq!(
                consume(&c, &token, &phc, 30).unwrap().as_deref(),
                Some("kepala-dinkes")
            );
            assert_eq!(consume(&c, &token, &phc, 31).unwrap(), None);
            assert!(
                super::super::authenticate(&c, "kepala-dinkes", "lampu-merah-7")
                    .unwrap()
                    .is_some()
            );
            assert!(!live(&c, "kepala-dinkes", 32).unwrap());
        }
    }

    #[test]
    fn malformed_tokens_are_refused_without_a_query() {
        for t in [
            "",
            "abc",
            &"g".repeat(64),
            &"a".repeat(65),
            &"a".repeat(100_000),
        ] {
            assert!(!well_formed(t), "{t}");
        }
    }
}
