//! SQLite persistence: one writer thread that batches, and a reader for the API.

pub mod alerts;
pub mod audit;
pub mod backup;
pub mod commands;
mod db;
mod delivery;
pub mod doors;
pub mod history;
pub mod outbox;
pub mod prune;
mod read;
mod schema;
pub mod signatures;
pub mod sql;
pub mod telegram;
#[cfg(test)]
pub(crate) mod testdb;
pub mod users;
pub mod view_pins;
mod writer;

use std::path::{Path, PathBuf};

use rusqlite::OpenFlags;

pub use db::Db;
pub use delivery::AckOut;
pub use read::{AgentRow, MailRow, Reader};
use sql::Connection;
pub use writer::{spawn_writer, AckSender, Write, WriterHandle};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {error}")]
    Open {
        path: PathBuf,
        error: rusqlite::Error,
    },
    #[error("database {url}: {error}")]
    Connect { url: String, error: sql::Error },
    #[error(transparent)]
    Db(#[from] sql::Error),
    #[error(
        "database schema version {found} is newer than this Ronda knows ({known}); upgrade Ronda"
    )]
    TooNew { found: usize, known: usize },
    #[error("database {path} cannot be made durable (WAL, synchronous=FULL); it has {found}. Put it on a local disk")]
    NotDurable { path: PathBuf, found: String },
    #[error("database reader is gone: {0}")]
    Join(String),
    #[error("the database has not answered for {0:?}")]
    Busy(std::time::Duration),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Db(e.into())
    }
}

/// Where the server keeps its state: a SQLite file, or a PostgreSQL
/// database that several servers can share.
#[derive(Debug, Clone)]
pub enum Location {
    File(PathBuf),
    Postgres(sql::PgConfig),
}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Self {
        Location::File(path)
    }
}

impl From<&Location> for Location {
    fn from(l: &Location) -> Self {
        l.clone()
    }
}

impl From<&PathBuf> for Location {
    fn from(path: &PathBuf) -> Self {
        Location::File(path.clone())
    }
}

impl From<&Path> for Location {
    fn from(path: &Path) -> Self {
        Location::File(path.to_owned())
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(p) => write!(f, "{}", p.display()),
            // The URL holds no password (the config check refuses one).
            Location::Postgres(pg) => f.write_str(&pg.url),
        }
    }
}

impl Location {
    /// Open (creating if needed) and migrate the database.
    pub fn open(&self) -> Result<Connection, StoreError> {
        match self {
            Location::File(path) => open(path),
            Location::Postgres(pg) => {
                let conn = Connection::postgres(pg).map_err(|error| StoreError::Connect {
                    url: pg.url.clone(),
                    error,
                })?;
                schema::migrate(&conn)?;
                Ok(conn)
            }
        }
    }

    /// A connection for reading only. PostgreSQL enforces it per
    /// transaction; SQLite opens the file read-only.
    pub fn open_read_only(&self) -> Result<Connection, StoreError> {
        match self {
            Location::File(path) => open_read_only(path),
            Location::Postgres(pg) => {
                let conn = Connection::postgres(pg).map_err(|error| StoreError::Connect {
                    url: pg.url.clone(),
                    error,
                })?;
                conn.execute_batch("SET default_transaction_read_only = on")?;
                Ok(conn)
            }
        }
    }
}

/// Open (creating if needed) and migrate the SQLite database at `path`.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let wrap = |error| StoreError::Open {
        path: path.to_owned(),
        error,
    };
    let conn = rusqlite::Connection::open(path).map_err(wrap)?;
    // WAL lets the API read while the writer writes. FULL syncs every commit:
    // the server tells agents to forget a report once it is committed, so a
    // commit must survive a power cut too.
    durable(&conn, path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(wrap)?;
    let conn = Connection::from(conn);
    schema::migrate(&conn)?;
    Ok(conn)
}

/// Set WAL and `synchronous=FULL`, then read both back: a filesystem that
/// refuses WAL (some network mounts) must stop the server, not weaken it.
fn durable(conn: &rusqlite::Connection, path: &Path) -> Result<(), StoreError> {
    let wrap = |error| StoreError::Open {
        path: path.to_owned(),
        error,
    };
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(wrap)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(wrap)?;
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .map_err(wrap)?;
    let sync: i64 = conn
        .pragma_query_value(None, "synchronous", |r| r.get(0))
        .map_err(wrap)?;
    if !mode.eq_ignore_ascii_case("wal") || sync != 2 {
        return Err(StoreError::NotDurable {
            path: path.to_owned(),
            found: format!("journal_mode={mode}, synchronous={sync}"),
        });
    }
    Ok(())
}

fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|error| StoreError::Open {
        path: path.to_owned(),
        error,
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn.into())
}

/// What the policy engine needs to resume after a restart.
pub struct Seed {
    pub open_alerts: Vec<ronda_policy::alert::Alert>,
    pub last_alert_id: i64,
    pub agents: Vec<SeedAgent>,
    pub attestations:
        std::collections::BTreeMap<(String, String, String), ronda_policy::eval::Attestation>,
    /// Door events received within the engine's lookback, oldest first.
    pub door_events: Vec<doors::StoredEvent>,
    /// The camera views heads and IT pinned, every office.
    pub view_pins: Vec<view_pins::PinRow>,
}

pub struct SeedAgent {
    pub office: String,
    pub agent: String,
    pub online: bool,
    pub last_seen: Option<jiff::Timestamp>,
    pub last_seq: Option<u64>,
    pub report: Option<ronda_wire::Report>,
}

/// Read the engine's starting point from the database.
pub fn seed(location: &Location) -> Result<Seed, StoreError> {
    let conn = location.open_read_only()?;
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
        .collect::<sql::Result<Vec<_>>>()?;
    Ok(Seed {
        open_alerts,
        last_alert_id,
        agents,
        attestations: alerts::attestations(&conn)?,
        door_events: doors::received_since(&conn, door_lookback_start())?,
        view_pins: view_pins::list(&conn, None)?,
    })
}

/// The oldest receipt time the engine keeps door events from.
fn door_lookback_start() -> i64 {
    let back = ronda_policy::eval::DOOR_LOOKBACK.as_millis() as i64;
    now_ms().saturating_sub(back)
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
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
        drop(conn);
        assert!(matches!(
            open(&path),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }

    #[test]
    fn postgres_migrates_once_and_refuses_a_newer_database() {
        let pg = testdb::all()
            .into_iter()
            .filter(|d| matches!(d.location, Location::Postgres(_)));
        for db in pg {
            drop(db.open());
            let conn = db.open();
            let v: usize = conn
                .query_row("SELECT version FROM ronda_schema", [], |r| r.get(0))
                .unwrap();
            assert_eq!(v, schema::version());
            conn.execute("UPDATE ronda_schema SET version = 99", [])
                .unwrap();
            drop(conn);
            assert!(matches!(
                db.location.open(),
                Err(StoreError::TooNew { found: 99, .. })
            ));
        }
    }
}
