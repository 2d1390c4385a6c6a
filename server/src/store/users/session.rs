//! Login sessions: a random id in a `__Host-` cookie, stored only as its
//! SHA-256; a new id at every login; logout, a password change or disabling
//! the account ends it. Each session carries its own CSRF token.

use crate::store::sql::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use super::{random_bytes, Role, User, UserError};

/// The cookie's name. `__Host-` makes browsers insist on Secure, Path=/
/// and no Domain, so no other site or subdomain can set it.
pub const COOKIE: &str = "__Host-ronda";
/// A session lasts this long from login.
pub const LIFETIME_MS: i64 = 12 * 3600 * 1000;

pub struct Started {
    /// The cookie value; shown to the browser once, never stored.
    pub token: String,
    pub csrf: String,
}

pub(super) fn hex<const N: usize>(b: [u8; N]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(super) fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

pub fn start(conn: &Connection, user: &str, now_ms: i64) -> Result<Started, UserError> {
    let token = hex(random_bytes::<32>());
    let csrf = hex(random_bytes::<16>());
    conn.execute(
        "INSERT INTO sessions (id_hash, \"user\", csrf, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![digest(&token), user, csrf, now_ms, now_ms + LIFETIME_MS],
    )?;
    conn.execute("DELETE FROM sessions WHERE expires_ms < ?1", [now_ms])?;
    Ok(Started { token, csrf })
}

/// The user and CSRF token of a live session.
pub fn find(
    conn: &Connection,
    token: &str,
    now_ms: i64,
) -> Result<Option<(User, String)>, UserError> {
    let found = conn
        .query_row(
            "SELECT u.name, u.role, u.office, u.disabled, s.csrf FROM sessions s JOIN users u ON u.name = s.\"user\"
             WHERE s.id_hash = ?1 AND s.expires_ms > ?2 AND u.disabled = 0",
            params![digest(token), now_ms],
            |r| {
                Ok((
                    User {
                        name: r.get(0)?,
                        role: Role::parse(&r.get::<_, String>(1)?).unwrap_or(Role::Viewer),
                        office: r.get(2)?,
                        disabled: r.get(3)?,
                    },
                    r.get::<_, String>(4)?,
                ))
            },
        )
        .optional()?;
    Ok(found)
}

pub fn end(conn: &Connection, token: &str) -> Result<(), UserError> {
    conn.execute("DELETE FROM sessions WHERE id_hash = ?1", [digest(token)])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_end_at_logout_and_at_a_password_change() {
        for (_db, c) in crate::store::testdb::each() {
            super::super::add(&c, "budi", "it", None, "lampu-merah-7", 0).unwrap();
            let a = start(&c, "budi", 0).unwrap();
            let b = start(&c, "budi", 0).unwrap();
            assert_ne!(a.token, b.token, "a new id at every login");
            assert_eq!(find(&c, &a.token, 1).unwrap().unwrap().0.name, "budi");
            let stored: String = c
                .query_row("SELECT id_hash FROM sessions LIMIT 1", [], |r| r.get(0))
                .unwrap();
            assert!(
                stored != a.token && stored != b.token,
                "only a hash is stored"
            );
            end(&c, &a.token).unwrap();
            assert!(find(&c, &a.token, 1).unwrap().is_none(), "logged out");
            assert!(find(&c, &b.token, 1).unwrap().is_some());
            super::super::passwd(&c, "budi", "lampu-hijau-8", 2).unwrap();
            assert!(
                find(&c, &b.token, 3).unwrap().is_none(),
                "a password change ends every session"
            );
            let late = start(&c, "budi", 0).unwrap();
            assert!(
                find(&c, &late.token, LIFETIME_MS + 1).unwrap().is_none(),
                "expired"
            );
        }
    }
}
