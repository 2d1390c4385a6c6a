//! The audit log: who did what, from where, and when. Append-only: the
//! schema's triggers refuse any change or deletion.

use crate::store::sql::{params, Connection};

/// Append to the audit log.
pub fn append(
    conn: &Connection,
    actor: Option<&str>,
    action: &str,
    detail: &str,
    source: Option<&str>,
    now_ms: i64,
) -> crate::store::sql::Result<()> {
    conn.execute(
        "INSERT INTO audit (at_ms, actor, action, detail, source) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![now_ms, actor, action, detail, source],
    )?;
    Ok(())
}

/// One line of the audit log as stored.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub at_ms: i64,
    pub actor: Option<String>,
    pub action: String,
    pub detail: String,
    pub source: Option<String>,
}

/// The newest `limit` lines of the audit log, newest first.
pub fn recent(conn: &Connection, limit: u32) -> crate::store::sql::Result<Vec<AuditRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT at_ms, actor, action, detail, source FROM audit ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| {
        Ok(AuditRow {
            at_ms: r.get(0)?,
            actor: r.get(1)?,
            action: r.get(2)?,
            detail: r.get(3)?,
            source: r.get(4)?,
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_log_is_append_only() {
        for (_db, c) in crate::store::testdb::each() {
            append(&c, Some("admin"), "user.add", "kepala", None, 1).unwrap();
            assert!(c.execute("UPDATE audit SET detail = 'x'", []).is_err());
            assert!(c.execute("DELETE FROM audit", []).is_err());
        }
    }
}
