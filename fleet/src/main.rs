//! `ronda-fleet`: simulated agents over real MQTT, and the benchmark suite.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ronda_common::conf::parse_duration;
use ronda_common::link::BrokerUrl;
use ronda_fleet::bench;
use ronda_fleet::fleet::{Faults, Fleet, Spec};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "ronda-fleet",
    version,
    about = "Ronda fleet simulator: thousands of simulated agents over real MQTT, and the benchmark suite"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate offices × agents × devices publishing reports to a broker.
    Run(RunArgs),
    /// Run the benchmark scenarios and write bench/results (see bench/README.md).
    Bench(BenchArgs),
    /// Camera views over simulated days: the false-finding rate of
    /// `cctv.view` with no fault (see bench/README.md).
    ViewRun(ViewRunArgs),
}

#[derive(clap::Args)]
struct ViewRunArgs {
    #[arg(long, default_value_t = 7)]
    days: u32,
    #[arg(long, default_value_t = 8)]
    cameras: u64,
    /// The agent's `view.every`; each wait is drawn from 0.75x to 1.5x.
    #[arg(long, default_value = "20m")]
    every: String,
    /// Snapshot size, as the sub-stream sends it.
    #[arg(long, default_value = "640x360")]
    size: String,
    /// Judge without pinned views (moved and blurred are then not judged).
    #[arg(long)]
    unpinned: bool,
    /// First print what one look of each fault shows.
    #[arg(long)]
    faults: bool,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The broker, mqtt://host:port.
    #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
    broker: String,
    #[arg(long, default_value_t = 100)]
    offices: usize,
    #[arg(long, default_value_t = 1)]
    agents: usize,
    /// Devices behind each agent.
    #[arg(long, default_value_t = 10)]
    devices: usize,
    /// Time between one agent's reports (0s: back to back, as fast as the broker takes them).
    #[arg(long, default_value = "30s")]
    interval: String,
    /// Reports per agent, then stay connected (default: until Ctrl-C).
    #[arg(long)]
    reports: Option<u64>,
    #[arg(long, default_value = "30s")]
    keepalive: String,
    #[arg(long, default_value_t = 500)]
    connect_per_s: u32,
    /// Office ids are this prefix and a five-digit number.
    #[arg(long, default_value = "o")]
    office_prefix: String,
    /// This many agents hang (socket open, nothing sent) after --silent-after.
    #[arg(long, default_value_t = 0)]
    silent: usize,
    #[arg(long, default_value = "60s")]
    silent_after: String,
    /// Share of agents (0–1) reporting a plug that should be off switched on.
    #[arg(long, default_value_t = 0.0)]
    plugs_on: f64,
    /// Share of agents (0–1) whose front-road camera stopped recording.
    #[arg(long, default_value_t = 0.0)]
    not_recording: f64,
    /// Reports an agent may have out before the server acknowledges them
    /// (0: do not wait for the server, only for the broker).
    #[arg(long, default_value_t = 200)]
    window: u64,
    /// File of `office/agent password` lines (from `ronda-server mqtt-user add`).
    #[arg(long)]
    credentials: Option<PathBuf>,
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Runs of each scenario; the table shows medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Only these scenarios (1-6); default all.
    #[arg(long, value_delimiter = ',')]
    only: Vec<u8>,
    /// Short runs to try the suite; the figures are not comparable.
    #[arg(long)]
    quick: bool,
    /// Where RESULTS.md and results.json go.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// Keep the scratch folder (configs, databases, logs) for reading afterwards.
    #[arg(long)]
    keep: bool,
    /// Folder of the release binaries (default: beside this one).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
}

fn main() -> anyhow::Result<ExitCode> {
    ronda_common::shell::init_logs("warn");
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        match cli.command {
            Command::Run(args) => run(args).await,
            Command::Bench(args) => bench_cmd(args).await,
            Command::ViewRun(args) => view_run(args),
        }
    })
}

fn view_run(a: ViewRunArgs) -> anyhow::Result<ExitCode> {
    let size: ronda_sim::view::Size = a.size.parse().map_err(|e| anyhow::anyhow!("--size: {e}"))?;
    if a.faults {
        for line in ronda_fleet::view_run::faults(size)? {
            println!("{line}");
        }
    }
    let spec = ronda_fleet::view_run::Spec {
        days: a.days,
        cameras: a.cameras,
        every: parse_duration(&a.every).map_err(|e| anyhow::anyhow!("--every: {e}"))?,
        size,
        pinned: !a.unpinned,
    };
    eprintln!(
        "view-run: {} cameras × {} days, a look every {} (±), {}, {}",
        a.cameras,
        a.days,
        a.every,
        a.size,
        if spec.pinned {
            "day and night views pinned"
        } else {
            "no views pinned"
        }
    );
    let o = ronda_fleet::view_run::run(&spec)?;
    let camera_days = (a.cameras * u64::from(a.days)).max(1) as f64;
    println!("FIGURE view-run looks={} odd_looks={} false_fail_judgements={} false_alerts={} false_alerts_per_camera_day={:.4} cpu_per_look_ms={:.2} by_problem={:?}",
        o.looks, o.odd_looks, o.false_fails, o.false_alerts, o.false_alerts as f64 / camera_days,
        o.cpu_per_look.as_secs_f64() * 1e3, o.by_problem);
    Ok(ExitCode::SUCCESS)
}

async fn run(a: RunArgs) -> anyhow::Result<ExitCode> {
    bench::procs::raise_nofile();
    let dur = |name: &str, v: &str| parse_duration(v).map_err(|e| anyhow::anyhow!("--{name}: {e}"));
    let credentials = match &a.credentials {
        Some(path) => Some(Arc::new(read_credentials(path)?)),
        None => None,
    };
    let spec = Spec {
        broker: BrokerUrl::parse(&a.broker).map_err(|e| anyhow::anyhow!("--broker: {e}"))?,
        offices: a.offices,
        agents_per_office: a.agents,
        devices: a.devices,
        interval: dur("interval", &a.interval)?,
        reports: a.reports,
        keepalive: dur("keepalive", &a.keepalive)?,
        connect_per_s: a.connect_per_s,
        office_prefix: a.office_prefix,
        faults: Faults {
            silent: a.silent,
            silent_after: dur("silent-after", &a.silent_after)?,
            plugs_on: a.plugs_on,
            not_recording: a.not_recording,
        },
        window: (a.window > 0).then_some(a.window),
        credentials,
    };
    let total = spec.offices * spec.agents_per_office;
    let stop = CancellationToken::new();
    tokio::spawn(ronda_common::shell::cancel_on_signal(stop.clone()));
    let fleet = Fleet::start(spec, stop.clone());
    let stats = fleet.stats.clone();
    let progress = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            eprintln!(
                "ronda-fleet: {}/{total} connected, {} reports published, {} acknowledged, {} connection errors, {} silent",
                stats.connected.load(Ordering::Relaxed),
                stats.published.load(Ordering::Relaxed),
                stats.acked.load(Ordering::Relaxed),
                stats.errors.load(Ordering::Relaxed),
                stats.silenced.lock().map_or(0, |s| s.len()),
            );
        }
    });
    fleet.join().await;
    progress.abort();
    Ok(ExitCode::SUCCESS)
}

fn read_credentials(path: &PathBuf) -> anyhow::Result<HashMap<String, String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = HashMap::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let (user, pass) = line.split_once(char::is_whitespace).with_context(|| {
            format!(
                "{}:{}: expected `office/agent password`",
                path.display(),
                n + 1
            )
        })?;
        out.insert(user.to_owned(), pass.trim().to_owned());
    }
    Ok(out)
}

async fn bench_cmd(a: BenchArgs) -> anyhow::Result<ExitCode> {
    bench::procs::raise_nofile();
    let bin_dir = match a.bin_dir {
        Some(d) => d,
        None => std::env::current_exe()?
            .parent()
            .context("cannot tell where ronda-fleet is")?
            .to_owned(),
    };
    let scratch = tempfile::Builder::new().prefix("ronda-bench-").tempdir()?;
    let ctx = bench::Ctx {
        bin_dir,
        scratch: scratch.path().to_owned(),
        quick: a.quick,
    };
    let mut summary = bench::suite(&ctx, a.runs, &a.only).await;
    if a.keep {
        eprintln!("bench: kept {}", scratch.keep().display());
    }
    bench::results::write(&a.out, &mut summary)?;
    println!("{}", bench::results::markdown(&summary));
    eprintln!(
        "bench: wrote {}/RESULTS.md and results.json",
        a.out.display()
    );
    let missed = summary.rows.iter().filter(|r| r.met == Some(false)).count();
    Ok(if missed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
