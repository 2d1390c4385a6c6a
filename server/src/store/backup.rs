//! `ronda-server backup FILE`: a consistent copy of the database, taken
//! while the server runs.
//!
//! SQLite's online backup API (rusqlite's `backup` feature), all pages in
//! one step: the copy is the database as of one moment (one read
//! transaction), page for page, so its schema version, triggers and free
//! pages are exactly the original's. Under WAL the server's writer goes on
//! meanwhile. (`VACUUM INTO` would also give one moment, but rebuilds every
//! table and index on the way: more CPU and time on a server that is
//! ingesting, for a copy that is only smaller.)
//!
//! The copy is written under a temporary name beside `FILE`, readable by
//! its owner only (it holds password hashes), checked with
//! `PRAGMA integrity_check`, synced, and only then renamed to `FILE`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// How long a locked database is waited for, and how often it is tried.
const BUSY_WAIT: Duration = Duration::from_secs(30);
const RETRY: Duration = Duration::from_millis(50);

/// The tables whose rows are evidence, counted in the copy.
pub const EVIDENCE: [&str; 6] = [
    "signatures",
    "audit",
    "attestations",
    "alerts",
    "alert_transitions",
    "door_events",
];

/// A finished copy.
#[derive(Debug)]
pub struct Copy {
    pub path: PathBuf,
    pub bytes: u64,
    /// `PRAGMA user_version`: the schema the copy is at.
    pub schema: i64,
    /// Rows of each [`EVIDENCE`] table.
    pub rows: Vec<(&'static str, i64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists; give --force to replace it")]
    Exists(PathBuf),
    #[error("{0} is the live database or one of its own files; give another file")]
    SameFile(PathBuf),
    #[error("no database at {0}")]
    NoDatabase(PathBuf),
    #[error("{path}: {error}")]
    Sqlite {
        path: PathBuf,
        error: rusqlite::Error,
    },
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("the copy failed its integrity check, and was removed: {0}")]
    Corrupt(String),
}

/// Copy the database at `db` to `dest`. An existing `dest` is replaced
/// only with `force`.
pub fn backup(db: &Path, dest: &Path, force: bool) -> Result<Copy, BackupError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |error| BackupError::Io { path, error }
    };
    if !db.is_file() {
        return Err(BackupError::NoDatabase(db.to_owned()));
    }
    // Even with --force: replacing the database's WAL would lose commits.
    if is_own_file(db, dest) {
        return Err(BackupError::SameFile(dest.to_owned()));
    }
    // `symlink_metadata`: a dangling link at `dest` is a file there too.
    if dest.symlink_metadata().is_ok() && !force {
        return Err(BackupError::Exists(dest.to_owned()));
    }
    let temp = temp_name(dest);
    // A copy left by an interrupted run is ours to replace.
    let _ = std::fs::remove_file(&temp);
    create_private(&temp).map_err(io(&temp))?;
    let copied = copy_into(db, &temp).and_then(|()| check(&temp));
    let copy = match copied {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
    };
    sync(&temp).map_err(io(&temp))?;
    std::fs::rename(&temp, dest).map_err(io(dest))?;
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The rename itself must survive a power cut.
        sync(dir).map_err(io(dir))?;
    }
    let bytes = std::fs::metadata(dest).map_err(io(dest))?.len();
    Ok(Copy {
        path: dest.to_owned(),
        bytes,
        ..copy
    })
}

/// Every page of `db`, as of one moment, into the empty database `temp`.
fn copy_into(db: &Path, temp: &Path) -> Result<(), BackupError> {
    let sqlite = |path: &Path| {
        let path = path.to_owned();
        move |error| BackupError::Sqlite { path, error }
    };
    // Read-write without create: a wrong path must not leave an empty
    // database behind. Nothing is written through it.
    let src = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite(db))?;
    src.busy_timeout(Duration::from_secs(30))
        .map_err(sqlite(db))?;
    let mut dst = Connection::open(temp).map_err(sqlite(temp))?;
    let step = rusqlite::backup::Backup::new(&src, &mut dst).map_err(sqlite(temp))?;
    // -1: all pages in one step, so one read transaction and one moment;
    // in smaller steps a write by the server would restart the copy.
    // (rusqlite's `run_to_completion` takes only a positive page count.)
    let mut waited = Duration::ZERO;
    loop {
        use rusqlite::backup::StepResult;
        match step.step(-1).map_err(sqlite(db))? {
            StepResult::Done => break,
            // Busy or locked: another connection holds a lock for a moment.
            _ if waited < BUSY_WAIT => {
                std::thread::sleep(RETRY);
                waited += RETRY;
            }
            _ => {
                return Err(BackupError::Sqlite {
                    path: db.to_owned(),
                    error: rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                        Some(format!("still locked after {BUSY_WAIT:?}")),
                    ),
                })
            }
        }
    }
    drop(step);
    // One self-contained file, whatever the original's journal mode.
    dst.pragma_update(None, "journal_mode", "DELETE")
        .map_err(sqlite(temp))?;
    Ok(())
}

/// `PRAGMA integrity_check` and the counts, on the copy.
fn check(temp: &Path) -> Result<Copy, BackupError> {
    let sqlite = |error| BackupError::Sqlite {
        path: temp.to_owned(),
        error,
    };
    let conn =
        Connection::open_with_flags(temp, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sqlite)?;
    let mut stmt = conn.prepare("PRAGMA integrity_check").map_err(sqlite)?;
    let verdict: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .map_err(sqlite)?
        .collect::<rusqlite::Result<_>>()
        .map_err(sqlite)?;
    if verdict != ["ok"] {
        return Err(BackupError::Corrupt(verdict.join("; ")));
    }
    let schema: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sqlite)?;
    let mut rows = Vec::new();
    for table in EVIDENCE {
        // A database older than the table has none of it.
        let n = conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap_or(0);
        rows.push((table, n));
    }
    Ok(Copy {
        path: temp.to_owned(),
        bytes: 0,
        schema,
        rows,
    })
}

/// `.NAME.partial` beside `dest`: same folder, so the rename is atomic.
fn temp_name(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map_or_else(|| "backup".into(), |n| n.to_string_lossy().into_owned());
    dest.with_file_name(format!(".{name}.partial"))
}

fn create_private(path: &Path) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path).map(drop)
}

fn sync(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

/// Whether `dest` is the database `db` or its `-wal`, `-shm` or
/// `-journal`, whichever way either path is written.
fn is_own_file(db: &Path, dest: &Path) -> bool {
    let full = |p: &Path| -> Option<PathBuf> {
        let dir = match p.parent().filter(|d| !d.as_os_str().is_empty()) {
            Some(d) => d.canonicalize().ok()?,
            None => std::env::current_dir().ok()?,
        };
        // The file itself may be a link to the database.
        let real = p.canonicalize().ok();
        Some(real.unwrap_or(dir.join(p.file_name()?)))
    };
    let (Some(db), Some(dest)) = (full(db), full(dest)) else {
        return false;
    };
    ["", "-wal", "-shm", "-journal"].iter().any(|suffix| {
        let mut own = db.clone().into_os_string();
        own.push(suffix);
        own == dest.as_os_str()
    })
}

#[cfg(test)]
mod tests;
