//! The agent's outbox: every report is on disk before it is sent, and stays
//! there until the server says it is committed.
//!
//! SQLite in WAL mode with `synchronous=FULL`, so a report whose `push`
//! returned survives a crash and a power cut. Sequence numbers are handed out
//! in the same transaction as the insert, so they have no gaps: a missing
//! number inside the outbox can only mean damage, which `recover` counts.

mod cursors;
mod recover;

use std::path::{Path, PathBuf};
use std::time::Duration;

use ronda_wire::Delivery;
use rusqlite::{params, Connection, OptionalExtension};
use sha1::{Digest, Sha1};

pub use recover::Recovery;

/// How much the outbox may hold before it drops its oldest reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: u64,
    pub max_age: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 100 << 20,
            max_age: Duration::from_secs(14 * 86_400),
        }
    }
}

/// `Full` for the real agent. `Off` only where a crash means dropping the
/// handle inside one process (the model tests), which loses nothing either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sync {
    Full,
    Off,
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox {path}: {error}")]
    Sqlite {
        path: PathBuf,
        error: rusqlite::Error,
    },
    #[error("outbox {path}: {what} is `{found}` after setting it; the disk cannot be trusted with reports")]
    Pragma {
        path: PathBuf,
        what: &'static str,
        found: String,
    },
    #[error("cannot create the state directory {path}: {error}")]
    Dir {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("outbox {path}: cannot move the damaged file aside: {error}")]
    MoveAside {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// One stored report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    pub body: Vec<u8>,
}

pub struct Outbox {
    conn: Connection,
    path: PathBuf,
    limits: Limits,
    /// Kept in memory so that `push` does not sum the table every time.
    bytes: u64,
    count: u64,
    last_seq: u64,
    dropped: u64,
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS records (
        seq INTEGER PRIMARY KEY,
        observed_ms INTEGER NOT NULL,
        sum INTEGER NOT NULL,
        body BLOB NOT NULL
    );
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS cursors (device TEXT PRIMARY KEY, value TEXT NOT NULL);";

/// First 8 bytes of SHA-1: SQLite does not checksum its pages, and a
/// flipped bit in a stored report must be found, not sent.
pub(crate) fn checksum(body: &[u8]) -> i64 {
    let digest = Sha1::digest(body);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_le_bytes(first)
}

impl Outbox {
    /// Open `state_dir/outbox.db`, recovering what it can from a damaged file.
    /// A sequence file left by an older agent (`state_dir/seq`) is honoured,
    /// so that numbers never go back.
    pub fn open(
        state_dir: &Path,
        limits: Limits,
        sync: Sync,
    ) -> Result<(Outbox, Recovery), OutboxError> {
        let path = state_dir.join("outbox.db");
        std::fs::create_dir_all(state_dir).map_err(|error| OutboxError::Dir {
            path: state_dir.to_owned(),
            error,
        })?;
        let (mut outbox, recovery) = match Self::open_file(&path, limits, sync) {
            Ok(o) => (o, Recovery::default()),
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "outbox damaged; recovering what is intact");
                recover::recover(&path, limits, sync)?
            }
        };
        let legacy = std::fs::read_to_string(state_dir.join("seq"))
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok());
        if let Some(n) = legacy.filter(|n| *n > outbox.last_seq) {
            outbox.set_meta("last_seq", n)?;
            outbox.last_seq = n;
        }
        Ok((outbox, recovery))
    }

    /// An outbox that lives only as long as the process: simulated offices.
    pub fn memory(limits: Limits) -> Outbox {
        // SQLite in memory only fails when it cannot allocate.
        Self::setup(
            Connection::open_in_memory().expect("SQLite in memory"),
            PathBuf::from(":memory:"),
            limits,
            Sync::Off,
        )
        .expect("SQLite in memory")
    }

    fn open_file(path: &Path, limits: Limits, sync: Sync) -> Result<Outbox, OutboxError> {
        let conn = Connection::open(path).map_err(|e| sqlite(path, e))?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| sqlite(path, e))?;
        if check != "ok" {
            return Err(OutboxError::Pragma {
                path: path.to_owned(),
                what: "quick_check",
                found: check,
            });
        }
        Self::setup(conn, path.to_owned(), limits, sync)
    }

    fn setup(
        conn: Connection,
        path: PathBuf,
        limits: Limits,
        sync: Sync,
    ) -> Result<Outbox, OutboxError> {
        let err = |e| sqlite(&path, e);
        if path.as_os_str() != ":memory:" {
            set_pragma(&conn, &path, "journal_mode", "wal")?;
        }
        let level = match sync {
            Sync::Full => "2",
            Sync::Off => "0",
        };
        set_pragma(&conn, &path, "synchronous", level)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        let (count, bytes, top): (u64, u64, Option<u64>) = conn
            .query_row(
                "SELECT count(*), coalesce(sum(length(body)), 0), max(seq) FROM records",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(err)?;
        let mut outbox = Outbox {
            conn,
            path,
            limits,
            bytes,
            count,
            last_seq: 0,
            dropped: 0,
        };
        outbox.last_seq = outbox.meta("last_seq")?.max(top.unwrap_or(0));
        outbox.dropped = outbox.meta("dropped")?;
        Ok(outbox)
    }

    fn meta(&self, key: &str) -> Result<u64, OutboxError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map(Option::unwrap_or_default)
            .map_err(|e| sqlite(&self.path, e))
    }

    fn set_meta(&self, key: &str, value: u64) -> Result<(), OutboxError> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map(drop)
            .map_err(|e| sqlite(&self.path, e))
    }

    /// Store a new report under the next sequence number, which `body` is
    /// given to write into it. Drops the oldest reports beyond the limits
    /// (never the new one). Returns the new report's seq.
    pub fn push(
        &mut self,
        observed_ms: i64,
        body: impl FnOnce(u64) -> Vec<u8>,
    ) -> Result<u64, OutboxError> {
        self.push_with(observed_ms, body, None)
    }

    /// [`Outbox::push`], and in the same transaction note where a device's
    /// log stands (`(device, cursor)`), so that events and the place to
    /// resume from are kept or lost together.
    pub fn push_with(
        &mut self,
        observed_ms: i64,
        body: impl FnOnce(u64) -> Vec<u8>,
        cursor: Option<(&str, &str)>,
    ) -> Result<u64, OutboxError> {
        let seq = self.last_seq + 1;
        let body = body(seq);
        let len = body.len() as u64;
        let path = self.path.clone();
        let err = |e| sqlite(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute(
            "INSERT INTO records (seq, observed_ms, sum, body) VALUES (?1, ?2, ?3, ?4)",
            params![seq, observed_ms, checksum(&body), body],
        )
        .map_err(err)?;
        let oldest_kept = observed_ms.saturating_sub(self.limits.max_age.as_millis() as i64);
        let (mut bytes, mut count) = (self.bytes + len, self.count + 1);
        let mut dropped = 0u64;
        loop {
            let (old_seq, old_ms, old_len): (u64, i64, u64) = tx
                .query_row(
                    "SELECT seq, observed_ms, length(body) FROM records ORDER BY seq LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .map_err(err)?;
            let over = bytes > self.limits.max_bytes || old_ms < oldest_kept;
            if !over || old_seq == seq {
                break;
            }
            tx.execute("DELETE FROM records WHERE seq = ?1", [old_seq])
                .map_err(err)?;
            (bytes, count, dropped) = (bytes - old_len, count - 1, dropped + 1);
        }
        let meta = "INSERT INTO meta (key, value) VALUES (?1, ?2)
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value";
        tx.execute(meta, params!["last_seq", seq]).map_err(err)?;
        if dropped > 0 {
            tx.execute(meta, params!["dropped", self.dropped + dropped])
                .map_err(err)?;
        }
        if let Some((device, value)) = cursor {
            cursors::save(&tx, device, value).map_err(err)?;
        }
        tx.commit().map_err(err)?;
        if dropped > 0 {
            tracing::warn!(dropped, kept = count, "outbox full: oldest reports dropped");
        }
        (self.bytes, self.count, self.last_seq) = (bytes, count, seq);
        self.dropped += dropped;
        Ok(seq)
    }

    /// The first intact report with a seq of at least `from`. A report whose
    /// checksum fails is deleted and counted, never sent.
    pub fn next_from(&mut self, from: u64) -> Result<Option<Record>, OutboxError> {
        loop {
            let row: Option<(u64, i64, Vec<u8>)> = self
                .conn
                .query_row(
                    "SELECT seq, sum, body FROM records WHERE seq >= ?1 ORDER BY seq LIMIT 1",
                    [from],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(|e| sqlite(&self.path, e))?;
            let Some((seq, sum, body)) = row else {
                return Ok(None);
            };
            if checksum(&body) == sum {
                return Ok(Some(Record { seq, body }));
            }
            tracing::error!(seq, "outbox record damaged; dropped");
            self.dropped += self.delete(seq, seq)?;
            self.set_meta("dropped", self.dropped)?;
        }
    }

    /// Forget every report up to `through`: the server has committed them.
    pub fn acknowledge(&mut self, through: u64) -> Result<u64, OutboxError> {
        self.delete(0, through)
    }

    fn delete(&mut self, low: u64, high: u64) -> Result<u64, OutboxError> {
        let err = |e| sqlite(&self.path, e);
        let mut delete = self
            .conn
            .prepare_cached(
                "DELETE FROM records WHERE seq BETWEEN ?1 AND ?2 RETURNING length(body)",
            )
            .map_err(err)?;
        let sizes = delete
            .query_map(params![low, high], |r| r.get::<_, u64>(0))
            .map_err(err)?
            .collect::<Result<Vec<u64>, _>>()
            .map_err(err)?;
        drop(delete);
        self.count -= sizes.len() as u64;
        self.bytes -= sizes.iter().sum::<u64>();
        Ok(sizes.len() as u64)
    }

    /// The lowest seq held, if any.
    pub fn first(&self) -> Result<Option<u64>, OutboxError> {
        self.conn
            .query_row("SELECT min(seq) FROM records", [], |r| r.get(0))
            .map_err(|e| sqlite(&self.path, e))
    }

    /// The highest seq ever handed out.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// What a report sent now should say about the outbox.
    pub fn delivery(&self) -> Result<Delivery, OutboxError> {
        Ok(Delivery {
            floor: self.first()?.unwrap_or(self.last_seq + 1),
            pending: self.count,
            dropped: self.dropped,
            newest: self.last_seq,
        })
    }
}

fn sqlite(path: &Path, error: rusqlite::Error) -> OutboxError {
    OutboxError::Sqlite {
        path: path.to_owned(),
        error,
    }
}

/// Set a pragma and read it back: some filesystems silently refuse WAL.
fn set_pragma(
    conn: &Connection,
    path: &Path,
    name: &'static str,
    want: &str,
) -> Result<(), OutboxError> {
    let err = |e| sqlite(path, e);
    conn.pragma_update(None, name, want).map_err(err)?;
    let found: String = conn
        .pragma_query_value(None, name, |r| {
            Ok(match r.get::<_, rusqlite::types::Value>(0)? {
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Text(t) => t,
                other => format!("{other:?}"),
            })
        })
        .map_err(err)?;
    if found.eq_ignore_ascii_case(want) {
        Ok(())
    } else {
        Err(OutboxError::Pragma {
            path: path.to_owned(),
            what: name,
            found,
        })
    }
}

#[cfg(test)]
mod tests;
