//! Accounts made without a password (`user sync`): nobody can log in to one
//! until its owner sets a password through a one-time link (`links`).

use crate::store::sql::{Connection, OptionalExtension};

use super::{insert, scope, User, UserError};

/// Add an account with no password: nobody can log in to it until its
/// owner sets one through a one-time link ([`links`]).
pub fn add_pending(
    conn: &Connection,
    name: &str,
    role: &str,
    office: Option<&str>,
    now_ms: i64,
) -> Result<User, UserError> {
    let role = scope(name, role, office)?;
    insert(conn, name, role, office, "", now_ms)
}

/// The head accounts of `office`: name, whether a password is set, and
/// whether the account is disabled.
pub fn heads_of(conn: &Connection, office: &str) -> Result<Vec<(String, bool, bool)>, UserError> {
    let mut stmt = conn.prepare(
        "SELECT name, password_hash != '', disabled FROM users WHERE role = 'head' AND office = ?1 ORDER BY name",
    )?;
    let rows = stmt.query_map([office], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<crate::store::sql::Result<_>>()?)
}

/// Whether an account named `name` exists.
pub fn exists(conn: &Connection, name: &str) -> Result<bool, UserError> {
    Ok(conn
        .query_row("SELECT 1 FROM users WHERE name = ?1", [name], |_| Ok(()))
        .optional()?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::super::{account, check, HASHES};
    use super::*;

    fn db() -> Vec<(crate::store::testdb::TestDb, Connection)> {
        crate::store::testdb::each()
    }

    /// argon2 runs made on this thread while `f` runs.
    fn hashes_in(f: impl FnOnce()) -> u32 {
        let before = HASHES.with(std::cell::Cell::get);
        f();
        HASHES.with(std::cell::Cell::get) - before
    }

    #[test]
    fn an_account_without_a_password_cannot_log_in_and_costs_a_hash() {
        for (_db, c) in db() {
            add_pending(&c, "kepala-dinkes", "head", Some("dinkes"), 1).unwrap();
            let found = || account(&c, "kepala-dinkes").unwrap();
            for guess in ["", "lampu-merah-7"] {
                assert_eq!(hashes_in(|| assert!(check(found(), guess).is_none())), 1);
            }
        }
    }
}
