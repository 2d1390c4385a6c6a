//! `ronda-fleet bench`: the benchmark suite. Each scenario runs several
//! times on this machine and returns samples; the suite keeps the median of
//! each and writes a markdown table and a JSON file.
//!
//! Figures that compare Ronda with something else (node_exporter, bare
//! Mosquitto) are ratios taken inside one run, because the machine is shared
//! and its speed drifts between runs.

pub mod alert;
pub mod connected;
pub mod footprint;
pub mod ingest;
pub mod mosquitto;
pub mod overview;
pub mod pg;
pub mod procs;
pub mod results;
pub mod server;
pub mod silence;

use std::path::{Path, PathBuf};

pub use results::{Sample, Summary};

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{0}")]
    Scenario(String),
    #[error(transparent)]
    Server(#[from] ronda_server::ServerError),
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
}

impl BenchError {
    pub fn io(path: &Path, error: std::io::Error) -> BenchError {
        BenchError::Io {
            path: path.to_owned(),
            error,
        }
    }
}

/// What every scenario needs: where the release binaries are, a scratch
/// folder, and how hard to push.
pub struct Ctx {
    /// Folder holding ronda-server, ronda-agent and ronda-sim (release).
    pub bin_dir: PathBuf,
    /// Scratch space for databases, configs and logs of this run.
    pub scratch: PathBuf,
    /// Shorter runs for trying the suite out; figures are then not comparable.
    pub quick: bool,
}

impl Ctx {
    pub fn binary(&self, name: &str) -> Result<PathBuf, BenchError> {
        let path = self.bin_dir.join(name);
        if path.exists() {
            Ok(path)
        } else {
            Err(BenchError::Scenario(format!(
                "{} is missing; build it first with `cargo build --release -p {name}`",
                path.display()
            )))
        }
    }

    /// A fresh folder for one run of one scenario.
    pub fn run_dir(&self, scenario: &str, run: usize) -> Result<PathBuf, BenchError> {
        let dir = self.scratch.join(format!("{scenario}-{run}"));
        std::fs::create_dir_all(&dir).map_err(|e| BenchError::io(&dir, e))?;
        Ok(dir)
    }
}

/// Each scenario's number, name and one run.
type RunFn = for<'a> fn(
    &'a Ctx,
    usize,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Vec<Sample>, BenchError>> + 'a>,
>;

fn scenarios() -> Vec<(u8, &'static str, RunFn, &'static str)> {
    vec![
        (
            1,
            "agent footprint",
            |c, r| Box::pin(footprint::run(c, r)),
            footprint::LIMIT,
        ),
        (
            2,
            "server ingest",
            |c, r| Box::pin(ingest::run(c, r)),
            ingest::LIMIT,
        ),
        (
            3,
            "connected agents",
            |c, r| Box::pin(connected::run(c, r)),
            connected::LIMIT,
        ),
        (
            4,
            "alert latency",
            |c, r| Box::pin(alert::run(c, r)),
            alert::LIMIT,
        ),
        (
            5,
            "silence detection",
            |c, r| Box::pin(silence::run(c, r)),
            silence::LIMIT,
        ),
        (
            6,
            "dashboard",
            |c, r| Box::pin(overview::run(c, r)),
            overview::LIMIT,
        ),
    ]
}

/// The budgets of issue 8 and DESIGN.md, keyed by metric name.
pub const BUDGETS: &[results::Budget] = &[
    results::Budget {
        metric: "ronda-agent RSS after 60 s",
        at_most: true,
        limit: 10.0,
        text: "< 10 MB",
    },
    results::Budget {
        metric: "ronda-agent RSS / node_exporter RSS",
        at_most: true,
        limit: 1.0 / 3.0,
        text: "< 1/3",
    },
    results::Budget {
        metric: "ronda-agent CPU, % of one core",
        at_most: true,
        limit: 0.2,
        text: "< 0.2 %",
    },
    results::Budget {
        metric: "ronda-server, embedded broker",
        at_most: false,
        limit: 20_000.0,
        text: "≥ 20,000/s",
    },
    results::Budget {
        metric: "ronda-server, with Mosquitto",
        at_most: false,
        limit: 20_000.0,
        text: "≥ 20,000/s",
    },
    results::Budget {
        metric: "ronda-server with Mosquitto / Mosquitto alone",
        at_most: false,
        limit: 0.5,
        text: "≥ 0.5",
    },
    results::Budget {
        metric: "ronda-server embedded broker / Mosquitto alone",
        at_most: false,
        limit: 0.5,
        text: "≥ 0.5",
    },
    results::Budget {
        metric: "embedded broker: agents held",
        at_most: false,
        limit: 10_000.0,
        text: "≥ 10,000",
    },
    results::Budget {
        metric: "Mosquitto: agents held",
        at_most: false,
        limit: 10_000.0,
        text: "≥ 10,000",
    },
    results::Budget {
        metric: "grace expiry to SMTP 250, p99",
        at_most: true,
        limit: 1000.0,
        text: "< 1,000 ms",
    },
    results::Budget {
        metric: "grace expiry to Telegram sendMessage, p99",
        at_most: true,
        limit: 1000.0,
        text: "< 1,000 ms",
    },
    results::Budget {
        metric: "grace expiry to webhook 2xx, p99",
        at_most: true,
        limit: 1000.0,
        text: "< 1,000 ms",
    },
    results::Budget {
        metric: "embedded broker: time past 1.5 × keepalive, max",
        at_most: true,
        limit: 500.0,
        text: "≤ 500 ms",
    },
    results::Budget {
        metric: "Mosquitto: time past 1.5 × keepalive, max",
        at_most: true,
        limit: 500.0,
        text: "≤ 500 ms",
    },
    results::Budget {
        metric: "region overview, 1,000 offices: p99",
        at_most: true,
        limit: 200.0,
        text: "< 200 ms",
    },
];

/// Run the chosen scenarios `runs` times each and fold the samples.
pub async fn suite(ctx: &Ctx, runs: usize, only: &[u8]) -> Summary {
    let started = jiff::Timestamp::now()
        .strftime("%Y-%m-%d %H:%M UTC")
        .to_string();
    let mut samples = Vec::new();
    let mut limits = std::collections::BTreeMap::new();
    for (n, name, run, limit) in scenarios() {
        if !only.is_empty() && !only.contains(&n) {
            continue;
        }
        for r in 1..=runs.max(1) {
            eprintln!("bench: scenario {n} ({name}), run {r} of {runs}");
            match run(ctx, r).await {
                Ok(s) => {
                    if let Some(scenario) = s.first().map(|s| s.scenario) {
                        limits.insert(scenario.to_owned(), limit.to_owned());
                    }
                    samples.extend(s);
                }
                Err(e) => eprintln!("bench: scenario {n} ({name}) run {r} failed: {e}"),
            }
        }
    }
    Summary {
        machine: machine(),
        runs,
        rows: results::rows(&samples, BUDGETS, &started),
        limits,
    }
}

/// CPU model and count, memory, kernel: what the figures were measured on.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!("{cores} × {cpu}, {mem_gib:.0} GiB RAM")
}
