//! Browsers an account has logged in from. A right password leaves a random
//! id in a long-lived `__Host-` cookie, stored only as its SHA-256; the login
//! throttle counts such a browser on its own ([`crate::ratelimit`]), so guesses
//! at the account from elsewhere cannot keep its owner out. The cookie grants
//! nothing else: the password is still needed.

use rusqlite::{params, Connection, OptionalExtension};

use super::session::{digest, hex};
use super::{random_bytes, UserError};

pub const COOKIE: &str = "__Host-ronda-device";
/// A browser is remembered this long after the login that made its cookie.
pub const LIFETIME_MS: i64 = 365 * 86_400 * 1000;
/// Longest cookie value looked up: ours are 64 hex digits.
const MAX_TOKEN: usize = 128;

/// The hash of `token` when it is a browser `account` has logged in from.
pub fn known(
    conn: &Connection,
    account: &str,
    token: &str,
    now_ms: i64,
) -> Result<Option<String>, UserError> {
    if token.len() > MAX_TOKEN {
        return Ok(None);
    }
    let hash = digest(token);
    let found = conn
        .query_row(
            "SELECT 1 FROM login_devices WHERE id_hash = ?1 AND account = ?2 AND created_ms > ?3",
            params![hash, account, now_ms - LIFETIME_MS],
            |_| Ok(()),
        )
        .optional()?;
    Ok(found.map(|()| hash))
}

/// Remember a new browser for `account`; the returned token is the cookie.
pub fn remember(conn: &Connection, account: &str, now_ms: i64) -> Result<String, UserError> {
    let token = hex(random_bytes::<32>());
    conn.execute(
        "INSERT INTO login_devices (id_hash, account, created_ms) VALUES (?1, ?2, ?3)",
        params![digest(&token), account, now_ms],
    )?;
    conn.execute(
        "DELETE FROM login_devices WHERE created_ms <= ?1",
        [now_ms - LIFETIME_MS],
    )?;
    Ok(token)
}

/// The `Set-Cookie` value for a remembered browser.
pub fn set_cookie(token: &str) -> String {
    format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age={}",
        LIFETIME_MS / 1000
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_browser_is_known_to_its_own_account_only_and_for_a_year() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("d.db")).unwrap();
        let token = remember(&conn, "budi", 1_000).unwrap();
        assert_eq!(
            known(&conn, "budi", &token, 2_000).unwrap(),
            Some(digest(&token))
        );
        assert_eq!(known(&conn, "sari", &token, 2_000).unwrap(), None);
        assert_eq!(known(&conn, "budi", "forged", 2_000).unwrap(), None);
        assert_eq!(
            known(&conn, "budi", &token, 1_000 + LIFETIME_MS).unwrap(),
            None
        );
    }
}
