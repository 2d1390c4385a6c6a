//! The per-agent sequence number, strictly increasing across restarts.
//!
//! The server stores a repeated `(agent, seq)` once, so a sequence that went
//! back after a restart would silently lose reports. The file holds the top of
//! a reserved block; a crash skips the rest of the block, which is harmless.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Numbers reserved per write, so the disk is touched once per 1000 reports.
const BLOCK: u64 = 1000;

pub trait SeqSource: Send {
    fn next(&mut self) -> u64;
}

#[derive(Debug, thiserror::Error)]
pub enum SeqError {
    // The cause is in the message, so it is not also a `source` (anyhow's
    // `{:#}` would print it twice).
    #[error("cannot use state directory {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "sequence file {0} is corrupt; delete it only if the server has never seen this agent"
    )]
    Corrupt(PathBuf),
}

/// Sequence kept in memory: for simulations and one-shot probes.
#[derive(Debug, Default)]
pub struct MemorySeq(u64);

impl SeqSource for MemorySeq {
    fn next(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

/// Sequence persisted in `state_dir/seq`.
#[derive(Debug)]
pub struct FileSeq {
    path: PathBuf,
    next: u64,
    reserved: u64,
}

impl FileSeq {
    pub fn open(state_dir: &Path) -> Result<FileSeq, SeqError> {
        let io = |error| SeqError::Io {
            path: state_dir.to_owned(),
            error,
        };
        std::fs::create_dir_all(state_dir).map_err(io)?;
        let path = state_dir.join("seq");
        let start = match std::fs::read_to_string(&path) {
            Ok(text) => text
                .trim()
                .parse()
                .map_err(|_| SeqError::Corrupt(path.clone()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(io(e)),
        };
        let mut seq = FileSeq {
            path,
            next: start + 1,
            reserved: start,
        };
        seq.reserve()?;
        Ok(seq)
    }

    fn reserve(&mut self) -> Result<(), SeqError> {
        let top = self.next + BLOCK;
        let tmp = self.path.with_extension("tmp");
        let io = |error| SeqError::Io {
            path: self.path.clone(),
            error,
        };
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(format!("{top}\n").as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        self.reserved = top;
        Ok(())
    }
}

impl SeqSource for FileSeq {
    /// Never fails once open: if the disk refuses a new reservation, the
    /// agent keeps reporting (in memory) and says so, rather than going quiet.
    fn next(&mut self) -> u64 {
        if self.next > self.reserved {
            if let Err(e) = self.reserve() {
                tracing::error!(error = %e, "cannot save the sequence number; a restart may repeat numbers");
                self.reserved = self.next + BLOCK;
            }
        }
        let n = self.next;
        self.next += 1;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn increases_across_restarts_and_block_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let mut last = 0;
        for _ in 0..3 {
            let mut seq = FileSeq::open(dir.path()).unwrap();
            for _ in 0..1500 {
                let n = seq.next();
                assert!(n > last, "{n} after {last}");
                last = n;
            }
        }
    }

    #[test]
    fn corrupt_file_is_an_error_not_a_reset() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("seq"), "garbage").unwrap();
        assert!(matches!(
            FileSeq::open(dir.path()),
            Err(SeqError::Corrupt(_))
        ));
    }
}
