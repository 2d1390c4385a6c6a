//! Browsers an account has logged in from. A right password leaves a random
//! id in a long-lived `__Host-` cookie, stored only as its SHA-256; the login
//! throttle (`http::ratelimit`) counts such a browser on its own, so guesses
//! at the account from elsewhere cannot keep its owner out. The cookie grants
//! nothing else: the password is still needed.
//!
//! One id per browser, remembered for every account that logged in with it,
//! so two people sharing an office PC are both known there.

use crate::store::sql::{params, Connection, OptionalExtension};

use super::session::{digest, hex};
use super::{random_bytes, UserError};

pub const COOKIE: &str = "__Host-ronda-device";
/// A browser is remembered this long after its last login to the account.
pub const LIFETIME_MS: i64 = 365 * 86_400 * 1000;
/// Browsers remembered per account, the most recent logins kept.
pub const PER_ACCOUNT: u32 = 20;

/// Whether `token` is one of ours: 64 hex digits (32 random bytes).
fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The hash of `token` when it is a browser `account` has logged in from.
pub fn known(
    conn: &Connection,
    account: &str,
    token: &str,
    now_ms: i64,
) -> Result<Option<String>, UserError> {
    if !well_formed(token) {
        return Ok(None);
    }
    let hash = digest(token);
    let found = conn
        .query_row(
            "SELECT 1 FROM login_devices WHERE id_hash = ?1 AND account = ?2 AND login_ms > ?3",
            params![hash, account, now_ms - LIFETIME_MS],
            |_| Ok(()),
        )
        .optional()?;
    Ok(found.map(|()| hash))
}

/// Remember this browser for `account` after a right password: its own id
/// if it has one, else a new one. Returns the id for the cookie.
pub fn remember(
    conn: &Connection,
    account: &str,
    token: Option<&str>,
    now_ms: i64,
) -> Result<String, UserError> {
    let token = match token.filter(|t| well_formed(t)) {
        Some(t) => t.to_owned(),
        None => hex(random_bytes::<32>()),
    };
    conn.execute(
        "INSERT INTO login_devices (id_hash, account, login_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (id_hash, account) DO UPDATE SET login_ms = excluded.login_ms",
        params![digest(&token), account, now_ms],
    )?;
    // Bounded, however often the account logs in from new browsers.
    conn.execute(
        "DELETE FROM login_devices WHERE account = ?1 AND (login_ms <= ?2 OR id_hash NOT IN
           (SELECT id_hash FROM login_devices WHERE account = ?1 ORDER BY login_ms DESC LIMIT ?3))",
        params![account, now_ms - LIFETIME_MS, PER_ACCOUNT],
    )?;
    Ok(token)
}

/// Forget every browser of `account` (password changed, account disabled).
pub fn forget(conn: &Connection, account: &str) -> Result<(), UserError> {
    conn.execute("DELETE FROM login_devices WHERE account = ?1", [account])?;
    Ok(())
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

    fn db() -> Vec<(crate::store::testdb::TestDb, Connection)> {
        crate::store::testdb::each()
    }

    #[test]
    fn a_browser_is_known_to_the_accounts_that_logged_in_with_it_for_a_year() {
        for (_db, conn) in db() {
            let token = remember(&conn, "budi", None, 1_000).unwrap();
            let hash = Some(digest(&token));
            assert_eq!(known(&conn, "budi", &token, 2_000).unwrap(), hash);
            assert_eq!(known(&conn, "sari", &token, 2_000).unwrap(), None);
            assert_eq!(known(&conn, "budi", &"0".repeat(64), 2_000).unwrap(), None);
            assert_eq!(known(&conn, "budi", "forged", 2_000).unwrap(), None);
            let later = 1_000 + LIFETIME_MS;
            assert_eq!(known(&conn, "budi", &token, later).unwrap(), None);
            // Sari logs in on the same shared PC: the browser keeps its id, and
            // is now known to both.
            assert_eq!(remember(&conn, "sari", Some(&token), 3_000).unwrap(), token);
            assert!(known(&conn, "sari", &token, 4_000).unwrap().is_some());
            assert!(known(&conn, "budi", &token, 4_000).unwrap().is_some());
        }
    }

    #[test]
    fn an_account_keeps_its_latest_browsers_only_and_forgets_them_all_on_request() {
        for (_db, conn) in db() {
            let tokens: Vec<String> = (0..PER_ACCOUNT + 5)
                .map(|i| remember(&conn, "budi", None, i64::from(i)).unwrap())
                .collect();
            let rows: u32 = conn
                .query_row("SELECT count(*) FROM login_devices", [], |r| r.get(0))
                .unwrap();
            assert_eq!(rows, PER_ACCOUNT);
            let now = 100;
            assert!(known(&conn, "budi", &tokens[0], now).unwrap().is_none());
            let newest = tokens.last().unwrap();
            assert!(known(&conn, "budi", newest, now).unwrap().is_some());
            crate::store::users::add(&conn, "budi", "it", None, "lampu-merah-7", 1).unwrap();
            crate::store::users::passwd(&conn, "budi", "lampu-hijau-8", 2).unwrap();
            assert!(known(&conn, "budi", newest, now).unwrap().is_none());
        }
    }
}
