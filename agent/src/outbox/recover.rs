//! Salvage of a damaged outbox file: the intact reports are kept, the rest
//! are counted, and the damaged file is moved aside for a person to inspect.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags};

use super::{checksum, sqlite, Limits, Outbox, OutboxError, Sync};

/// Added to the sequence when the damaged file's own counter is unreadable:
/// numbers must never go back, or the server would take new reports for
/// repeats of ones it already has.
const SEQ_JUMP: u64 = 100_000;
/// A range wider than this is itself a sign of damage; only so many numbers
/// are probed.
const MAX_PROBE: u64 = 10_000_000;

/// What recovery found. All zero when the file was sound.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Intact reports carried over to the new outbox.
    pub recovered: u64,
    /// Reports that were in the file but could not be read back intact.
    pub corrupt: u64,
    /// Where the damaged file now is.
    pub moved_to: Option<PathBuf>,
}

struct Salvage {
    records: Vec<(u64, i64, Vec<u8>)>,
    corrupt: u64,
    last_seq: u64,
    dropped: u64,
}

pub(super) fn recover(
    path: &Path,
    limits: Limits,
    sync: Sync,
) -> Result<(Outbox, Recovery), OutboxError> {
    let stamp = jiff::Timestamp::now().as_second();
    let aside = path.with_extension(format!("db.damaged-{stamp}"));
    for suffix in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", path.display()));
        let to = PathBuf::from(format!("{}{suffix}", aside.display()));
        if from.exists() {
            std::fs::rename(&from, &to).map_err(|error| OutboxError::MoveAside {
                path: from.clone(),
                error,
            })?;
        }
    }
    let found = salvage(&aside);
    let mut outbox = Outbox::open_file(path, limits, sync)?;
    restore(&mut outbox, &found)?;
    let recovery = Recovery {
        recovered: found.records.len() as u64,
        corrupt: found.corrupt,
        moved_to: Some(aside.clone()),
    };
    tracing::warn!(recovered = recovery.recovered, corrupt = recovery.corrupt, moved_to = %aside.display(), "outbox recovered; the lost reports are counted as dropped");
    Ok((outbox, recovery))
}

/// Read every number in the file's range one at a time, so that one bad page
/// costs only the reports on it.
fn salvage(path: &Path) -> Salvage {
    let mut out = Salvage {
        records: Vec::new(),
        corrupt: 0,
        last_seq: 0,
        dropped: 0,
    };
    let Ok(conn) = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        out.last_seq = SEQ_JUMP;
        return out;
    };
    let one = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, Option<u64>>(0)).ok();
    let meta = |key: &str| one(&format!("SELECT value FROM meta WHERE key = '{key}'"));
    let (low, high) = (
        one("SELECT min(seq) FROM records"),
        one("SELECT max(seq) FROM records"),
    );
    let counter = meta("last_seq");
    out.dropped = meta("dropped").flatten().unwrap_or(0);
    out.last_seq = match counter {
        Some(n) => n.unwrap_or(0).max(high.flatten().unwrap_or(0)),
        None => high.flatten().unwrap_or(0) + SEQ_JUMP,
    };
    let (Some(Some(low)), Some(Some(high))) = (low, high) else {
        return out;
    };
    let high = high.min(low.saturating_add(MAX_PROBE));
    let Ok(mut read) = conn.prepare("SELECT observed_ms, sum, body FROM records WHERE seq = ?1")
    else {
        out.corrupt = high - low + 1;
        return out;
    };
    for seq in low..=high {
        let row = read.query_row([seq], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        });
        match row {
            Ok((observed_ms, sum, body)) if checksum(&body) == sum => {
                out.records.push((seq, observed_ms, body));
            }
            // Numbers have no gaps inside the outbox, so a missing one was lost too.
            _ => out.corrupt += 1,
        }
    }
    out
}

fn restore(outbox: &mut Outbox, found: &Salvage) -> Result<(), OutboxError> {
    let path = outbox.path.clone();
    let err = |e| sqlite(&path, e);
    let tx = outbox.conn.transaction().map_err(err)?;
    for (seq, observed_ms, body) in &found.records {
        tx.execute(
            "INSERT INTO records (seq, observed_ms, sum, body) VALUES (?1, ?2, ?3, ?4)",
            params![seq, observed_ms, checksum(body), body],
        )
        .map_err(err)?;
    }
    let dropped = found.dropped + found.corrupt;
    for (key, value) in [("last_seq", found.last_seq), ("dropped", dropped)] {
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )
        .map_err(err)?;
    }
    tx.commit().map_err(err)?;
    outbox.count = found.records.len() as u64;
    outbox.bytes = found.records.iter().map(|r| r.2.len() as u64).sum();
    outbox.last_seq = found.last_seq;
    outbox.dropped = dropped;
    Ok(())
}
