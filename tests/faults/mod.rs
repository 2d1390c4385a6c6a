//! Helpers of the process and network fault tests: the real binaries, what an
//! agent's outbox handed out, what the server stored of it, and a TCP proxy
//! (`proxy`) that black-holes or cuts the line.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

pub mod process;
pub mod proxy;

use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ronda_agent::{Sections, Source};
use ronda_sim::readings::MadeUpOffice;

/// A simulated office's readings, counted as they are made.
pub struct Counted(pub MadeUpOffice, pub Arc<AtomicU64>);

impl Source for Counted {
    async fn collect(&mut self) -> Sections {
        self.1.fetch_add(1, Ordering::Relaxed);
        self.0.collect().await
    }
}

/// Random fault points from a seed that is printed, so that a failing run
/// can be tried again with the same choices (`RONDA_FAULT_SEED=…`; the
/// timing of the processes will still differ). SplitMix64, seeded from the
/// standard library's random hasher keys: no dependency for this.
pub struct Dice(u64);

impl Dice {
    pub fn new(test: &str) -> Dice {
        let seed = std::env::var("RONDA_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| std::hash::RandomState::new().hash_one(test));
        eprintln!("{test}: RONDA_FAULT_SEED={seed}");
        Dice(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A duration of `lo..=hi` milliseconds.
    pub fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo + 1))
    }
}

/// Path of a binary of the workspace (`ronda-server`, `ronda-agent`).
///
/// Integration tests of the root package get no `CARGO_BIN_EXE_` for other
/// packages, and `cargo test` does not build those binaries (they are
/// `test = false`). So they are built here, once per test process, into the
/// folder this test executable was built for (`target/<profile>/deps/..`).
/// The build runs even when they exist, because a binary left by an older
/// build would test old code; when they are fresh it is a no-op.
pub fn binary(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(build_binaries).join(name)
}

fn build_binaries() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/fault_process-…
    let out = exe.parent().and_then(Path::parent).unwrap().to_owned();
    let target = out.parent().unwrap();
    let profile = out.file_name().unwrap().to_str().unwrap();
    let missing: Vec<_> = ["ronda-server", "ronda-agent"]
        .into_iter()
        .filter(|b| !out.join(b).exists())
        .collect();
    let mut cargo = Command::new(option_env!("CARGO").unwrap_or("cargo"));
    cargo
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--quiet",
            "-p",
            "ronda-server",
            "-p",
            "ronda-agent",
        ])
        .arg("--target-dir")
        .arg(target);
    // Not the variables cargo set for this test's run: a build script that
    // watches one (ring's does) would see it change, and this build and the
    // next `cargo test` would rebuild half the tree for each other.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let set_for_test = ["CARGO_PKG_", "CARGO_BIN_EXE_"]
            .iter()
            .any(|p| key.starts_with(p))
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "OUT_DIR",
            ]
            .contains(&key.as_ref());
        if set_for_test {
            cargo.env_remove(key.as_ref());
        }
    }
    match profile {
        "debug" => {}
        "release" => {
            cargo.arg("--release");
        }
        other => {
            cargo.args(["--profile", other]);
        }
    }
    if missing.is_empty() {
        eprintln!(
            "checking that ronda-server and ronda-agent in {} are current: {cargo:?}",
            out.display()
        );
    } else {
        eprintln!(
            "{} not built yet in {} (cargo test does not build them): {cargo:?}",
            missing.join(" and "),
            out.display()
        );
    }
    let started = std::time::Instant::now();
    let status = cargo.status().expect("cannot run cargo");
    assert!(status.success(), "building the binaries failed: {cargo:?}");
    eprintln!("binaries ready in {:.1} s", started.elapsed().as_secs_f64());
    out
}

/// What an agent's outbox says once the agent has stopped: the highest seq
/// it ever handed out (kept in `meta` even when every record is gone) and
/// the records it still holds.
pub fn outbox_state(state_dir: &Path) -> (u64, u64) {
    let db = rusqlite::Connection::open(state_dir.join("outbox.db")).unwrap();
    db.query_row(
        "SELECT max(coalesce((SELECT value FROM meta WHERE key = 'last_seq'), 0),
                    coalesce((SELECT max(seq) FROM records), 0)),
                (SELECT count(*) FROM records)",
        [],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )
    .unwrap()
}

/// One agent's seqs on the server against the `made` its outbox handed out.
#[derive(Debug)]
pub struct Tally {
    pub made: u64,
    pub stored: u64,
    /// Seqs in 1..=made the server does not have.
    pub holes: Vec<u64>,
    /// Seqs above `made`: the outbox gave a number out twice.
    pub beyond: Vec<u64>,
    pub acked_through: u64,
}

impl Tally {
    pub fn of(db: &Path, office: &str, agent: &str, made: u64) -> Tally {
        let db = rusqlite::Connection::open(db).unwrap();
        let mut q = db
            .prepare("SELECT seq FROM reports WHERE office = ?1 AND agent = ?2 ORDER BY seq")
            .unwrap();
        let seqs: Vec<u64> = q
            .query_map([office, agent], |r| r.get::<_, i64>(0))
            .unwrap()
            .map(|s| s.unwrap() as u64)
            .collect();
        let have: std::collections::BTreeSet<u64> = seqs.iter().copied().collect();
        let acked_through = db
            .query_row(
                "SELECT coalesce((SELECT acked_through FROM agents WHERE office = ?1 AND agent = ?2), 0)",
                [office, agent],
                |r| r.get::<_, i64>(0),
            )
            .unwrap() as u64;
        Tally {
            made,
            stored: seqs.len() as u64,
            holes: (1..=made).filter(|s| !have.contains(s)).collect(),
            beyond: seqs.iter().copied().filter(|s| *s > made).collect(),
            acked_through,
        }
    }

    /// Exactly 1..=made, each once (the table's key allows no second copy).
    pub fn complete(&self) -> bool {
        self.holes.is_empty() && self.beyond.is_empty() && self.stored == self.made
    }
}

/// A query's single integer answer.
pub fn sql(db: &Path, q: &str) -> i64 {
    let db = rusqlite::Connection::open(db).unwrap();
    db.query_row(q, [], |r| r.get(0)).unwrap()
}

/// The last lines of a log file, for a failure message.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
