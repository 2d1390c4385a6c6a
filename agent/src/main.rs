//! `ronda-agent`: command line over the agent library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ronda_agent::AgentConfig;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "ronda-agent",
    version,
    about = "Ronda office agent: watches CCTV recorders, smart plugs, services and this host"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Report to the broker until stopped (SIGTERM or Ctrl-C).
    Run {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Run one round of probes and print the report as JSON. No broker needed.
    Probe {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Check a config file and print every problem in it.
    Check {
        #[arg(long, short)]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    init_logs();
    let cli = Cli::parse();
    let config_path = match &cli.command {
        Command::Run { config } | Command::Probe { config } | Command::Check { config } => config,
    };
    let config = match AgentConfig::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    // One thread is plenty for an agent and keeps its memory small.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(command: Command, config: AgentConfig) -> anyhow::Result<()> {
    match command {
        Command::Run { .. } => {
            let shutdown = CancellationToken::new();
            tokio::spawn(stop_on_signal(shutdown.clone()));
            ronda_agent::run(config, shutdown).await?;
        }
        Command::Probe { .. } => {
            let report = ronda_agent::probe_once(&config).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Command::Check { config: path } => {
            println!(
                "{}: ok (office {}, agent {})",
                path.display(),
                config.office,
                config.agent
            );
        }
    }
    Ok(())
}

async fn stop_on_signal(shutdown: CancellationToken) {
    wait_for_signal().await;
    tracing::info!("stopping");
    shutdown.cancel();
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
