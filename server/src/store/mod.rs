//! SQLite persistence: one writer thread that batches, and a reader for the API.

pub mod alerts;
pub mod commands;
pub mod history;
mod read;
mod schema;
mod writer;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

pub use read::{AgentRow, MailRow, Reader};
pub use writer::{spawn_writer, Write, WriterHandle};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {error}")]
    Open {
        path: PathBuf,
        error: rusqlite::Error,
    },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "database schema version {found} is newer than this Ronda knows ({known}); upgrade Ronda"
    )]
    TooNew { found: usize, known: usize },
    #[error("database reader is gone: {0}")]
    Join(String),
}

/// Open (creating if needed) and migrate the database at `path`.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let wrap = |error| StoreError::Open {
        path: path.to_owned(),
        error,
    };
    let mut conn = Connection::open(path).map_err(wrap)?;
    // WAL lets the API read while the writer writes. NORMAL survives a crash
    // of the process; the agent-side outbox covers a power cut.
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(wrap)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(wrap)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(wrap)?;
    schema::migrate(&mut conn)?;
    Ok(conn)
}

fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|error| StoreError::Open {
        path: path.to_owned(),
        error,
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// What the policy engine needs to resume after a restart.
pub struct Seed {
    pub open_alerts: Vec<ronda_policy::alert::Alert>,
    pub last_alert_id: i64,
    pub agents: Vec<SeedAgent>,
    pub attestations:
        std::collections::BTreeMap<(String, String, String), ronda_policy::eval::Attestation>,
}

pub struct SeedAgent {
    pub office: String,
    pub agent: String,
    pub online: bool,
    pub last_seen: Option<jiff::Timestamp>,
    pub last_seq: Option<u64>,
    pub report: Option<ronda_wire::Report>,
}

/// Read the engine's starting point from the database at `path`.
pub fn seed(path: &Path) -> Result<Seed, StoreError> {
    let conn = open_read_only(path)?;
    let (open_alerts, last_alert_id) = alerts::open_alerts(&conn)?;
    let mut stmt = conn.prepare(
        "SELECT office, agent, online, last_received_ms, last_seq, latest_report FROM agents",
    )?;
    let agents = stmt
        .query_map([], |r| {
            Ok(SeedAgent {
                office: r.get(0)?,
                agent: r.get(1)?,
                online: r.get(2)?,
                last_seen: r
                    .get::<_, Option<i64>>(3)?
                    .and_then(|m| jiff::Timestamp::from_millisecond(m).ok()),
                last_seq: r.get::<_, Option<i64>>(4)?.map(|s| s.max(0) as u64),
                // A stored report was checked when it arrived; one this
                // version cannot read is left out rather than stopping the server.
                report: r
                    .get::<_, Option<String>>(5)?
                    .and_then(|s| serde_json::from_str(&s).ok()),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Seed {
        open_alerts,
        last_alert_id,
        agents,
        attestations: alerts::attestations(&conn)?,
    })
}

pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_refuse_newer_databases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        drop(open(&path).unwrap());
        let conn = open(&path).unwrap();
        let v: usize = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, schema::version());
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        assert!(matches!(
            open(&path),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }
}
