//! API tokens for scripts: each has a name, a role and (for a head) an
//! office, exactly like an account. Only the SHA-256 of a token is stored;
//! the token itself is printed once, when it is made.

use crate::store::sql::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{random_bytes, scope, session::digest, Role, User, UserError};

/// What `token list` shows: never the token.
#[derive(Debug, Serialize)]
pub struct TokenInfo {
    pub name: String,
    pub role: Role,
    pub office: Option<String>,
    pub created_ms: i64,
}

/// Make a token; the returned string is the only copy.
pub fn add(
    conn: &Connection,
    name: &str,
    role: &str,
    office: Option<&str>,
    now_ms: i64,
) -> Result<String, UserError> {
    let role = scope(name, role, office)?;
    let token = format!("ronda_{}", super::session::hex(random_bytes::<24>()));
    let n = conn.execute(
        "INSERT INTO api_tokens (id_hash, name, role, office, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT DO NOTHING",
        params![digest(&token), name, role.as_str(), office, now_ms],
    )?;
    if n == 0 {
        return Err(UserError::Exists(name.into()));
    }
    Ok(token)
}

pub fn list(conn: &Connection) -> Result<Vec<TokenInfo>, UserError> {
    let mut stmt =
        conn.prepare("SELECT name, role, office, created_ms FROM api_tokens ORDER BY name")?;
    let rows = stmt.query_map([], |r| {
        Ok(TokenInfo {
            name: r.get(0)?,
            role: Role::parse(&r.get::<_, String>(1)?).unwrap_or(Role::Viewer),
            office: r.get(2)?,
            created_ms: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<crate::store::sql::Result<_>>()?)
}

pub fn revoke(conn: &Connection, name: &str) -> Result<(), UserError> {
    if conn.execute("DELETE FROM api_tokens WHERE name = ?1", [name])? == 0 {
        return Err(UserError::Unknown(name.into()));
    }
    Ok(())
}

/// The principal a bearer token stands for. Its name is `token:<name>`, so
/// the audit log tells a script from a person.
pub fn find(conn: &Connection, token: &str) -> Result<Option<User>, UserError> {
    Ok(conn
        .query_row(
            "SELECT name, role, office FROM api_tokens WHERE id_hash = ?1",
            [digest(token)],
            |r| {
                Ok(User {
                    name: format!("token:{}", r.get::<_, String>(0)?),
                    role: Role::parse(&r.get::<_, String>(1)?).unwrap_or(Role::Viewer),
                    office: r.get(2)?,
                    disabled: false,
                })
            },
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_stands_for_its_role_and_office_until_revoked() {
        for (_db, conn) in crate::store::testdb::each() {
            let t = add(&conn, "report-bot", "head", Some("dinkes"), 1).unwrap();
            let u = find(&conn, &t).unwrap().unwrap();
            assert_eq!(
                (u.name.as_str(), u.role, u.office.as_deref()),
                ("token:report-bot", Role::Head, Some("dinkes"))
            );
            assert!(find(&conn, "ronda_wrong").unwrap().is_none());
            assert!(matches!(
                add(&conn, "report-bot", "it", None, 2),
                Err(UserError::Exists(_))
            ));
            assert!(matches!(
                add(&conn, "x-bot", "head", None, 2),
                Err(UserError::Office)
            ));
            let stored: String = conn
                .query_row("SELECT id_hash FROM api_tokens", [], |r| r.get(0))
                .unwrap();
            assert_ne!(stored, t, "the token itself is never stored");
            revoke(&conn, "report-bot").unwrap();
            assert!(find(&conn, &t).unwrap().is_none());
        }
    }
}
