//! Helpers of the process and network fault tests: the real binaries, what an
//! agent's outbox handed out, what the server stored of it, and a TCP proxy
//! (`proxy`) that black-holes or cuts the line.

pub mod process;
pub mod proxy;

pub use crate::common::{outbox_state, sql};

mod backup;
mod delivery;
mod doors;
mod failover;
mod kills;
mod network;
mod reload;

use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ronda_agent::{Sections, Source};
use ronda_server::store::Location;
use ronda_sim::readings::MadeUpOffice;

/// A simulated office's readings, counted as they are made.
pub struct Counted(pub MadeUpOffice, pub Arc<AtomicU64>);

impl Source for Counted {
    async fn collect(&mut self) -> Sections {
        self.1.fetch_add(1, Ordering::Relaxed);
        self.0.collect().await
    }
}

/// A real agent on `office`'s made-up readings, each counted in `made`.
pub fn run_counted(
    config: ronda_agent::AgentConfig,
    office: &str,
    made: &Arc<AtomicU64>,
    outbox: ronda_agent::outbox::Outbox,
    stop: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let source = Counted(MadeUpOffice::new(office), made.clone());
    tokio::spawn(async move {
        ronda_agent::run_with(config, source, outbox, stop)
            .await
            .unwrap();
    })
}

/// A real agent `office/gw` on made-up readings and an outbox file in
/// `dir/office`, each report counted in `made`; through a broker that a
/// fault test takes away, so a report it dropped goes again after 2 s.
pub fn outbox_agent(
    dir: &Path,
    office: &str,
    broker: &ronda_common::link::BrokerUrl,
    interval: Duration,
    made: &Arc<AtomicU64>,
    stop: &tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let config = ronda_agent::AgentConfig {
        office: ronda_wire::Id::new(office).unwrap(),
        agent: ronda_wire::Id::new("gw").unwrap(),
        interval,
        startup_jitter: interval.min(Duration::from_millis(100)),
        state_dir: dir.join(office),
        broker: crate::common::broker_config(broker),
        devices: Default::default(),
        access: Vec::new(),
        access_listen: None,
        outbox: ronda_agent::outbox::Limits::default(),
        pace: ronda_agent::delivery::Pace {
            // Reports the broker took while no server was subscribed are
            // gone; they go again after this.
            ack_timeout: Duration::from_secs(2),
            ..Default::default()
        },
    };
    // The agents are not the ones killed: no need for fsync.
    let (outbox, _) = ronda_agent::outbox::Outbox::open(
        &config.state_dir,
        config.outbox,
        ronda_agent::outbox::Sync::Off,
    )
    .unwrap();
    run_counted(config, office, made, outbox, stop.clone())
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
/// Cargo builds them, not this test: `cargo test --workspace` builds each
/// package's binaries for its own integration tests (`agent/tests/`,
/// `server/tests/`), into the folder this test executable was built for
/// (`target/<profile>/`, beside `deps/`). `cargo test -p ronda-e2e` alone
/// does not, so a missing binary fails with the command that builds it.
/// (Building from inside a test raced the outer cargo for its lock and, with
/// cargo's variables changed, rebuilt half the tree.)
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/e2e-…
    let out = exe.parent().and_then(Path::parent).unwrap();
    let path = out.join(name);
    assert!(
        path.is_file(),
        "{} is missing: build the binaries first with \
         `cargo build -p ronda-server -p ronda-agent` (with the same profile and \
         CARGO_TARGET_DIR), or run the whole suite with `cargo test --workspace`",
        path.display()
    );
    path
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
    pub fn of(db: impl Into<Location>, office: &str, agent: &str, made: u64) -> Tally {
        let db = db.into().open_read_only().unwrap();
        let seqs: Vec<u64> = db
            .query_rows(
                "SELECT seq FROM reports WHERE office = ?1 AND agent = ?2 ORDER BY seq",
                [office, agent],
                |r| r.get(0),
            )
            .unwrap();
        let have: std::collections::BTreeSet<u64> = seqs.iter().copied().collect();
        let acked_through = db
            .query_row(
                "SELECT coalesce((SELECT acked_through FROM agents WHERE office = ?1 AND agent = ?2), 0)",
                [office, agent],
                |r| r.get(0),
            )
            .unwrap();
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

/// The last lines of a log file, for a failure message.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
