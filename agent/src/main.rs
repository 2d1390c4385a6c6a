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
    ronda_agent::shell::init_logs("info");
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
            tokio::spawn(ronda_agent::shell::cancel_on_signal(shutdown.clone()));
            ronda_agent::run(config, shutdown).await?;
        }
        Command::Probe { .. } => {
            let report = ronda_agent::probe_once(&config).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Command::Check { config: path } => {
            let d = &config.devices;
            println!(
                "{}: ok (office {}, agent {}; {} recorders, {} plugs, {} services)",
                path.display(),
                config.office,
                config.agent,
                d.recorders.len(),
                d.plugs.len(),
                d.services.len()
            );
        }
    }
    Ok(())
}
