//! `ronda-agent`: command line over the agent library.

use std::path::PathBuf;
use std::process::ExitCode;

mod enroll_cli;

use clap::{Parser, Subcommand};
use ronda_agent::AgentConfig;
use ronda_common::conf::read_all;
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
    /// Write this office PC's agent config from the broker's address, the
    /// office and agent ids and the agent's credential.
    Enroll(enroll_cli::EnrollArgs),
    #[cfg(feature = "doctor")]
    /// Probe every device once and print what Ronda sees: what each device
    /// gave, what it did not and why, the firmware behaviour detected, and
    /// what a letter would say. Exits 1 when a device cannot be read.
    Doctor {
        #[arg(long, short)]
        config: PathBuf,
        /// The office's circular letter (a letters/*.yaml file); without
        /// it, a built-in checklist asks every check of every device.
        #[arg(long)]
        letter: Option<PathBuf>,
        /// Language of the letter's verdicts: `en` or `id`.
        #[arg(long, default_value = "en", value_parser = ["en", "id"])]
        lang: String,
    },
}

fn main() -> ExitCode {
    ronda_common::shell::init_logs("info");
    let cli = Cli::parse();
    let config_path = match cli.command {
        Command::Enroll(args) => return enroll_cli::execute(args),
        Command::Run { ref config }
        | Command::Probe { ref config }
        | Command::Check { ref config } => config,
        #[cfg(feature = "doctor")]
        Command::Doctor { ref config, .. } => config,
    };
    let mut config = match AgentConfig::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Err(code) = read_secrets(&cli.command, &mut config) {
        return code;
    }
    warn_in_clear(&cli.command, &config);
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
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Read the secrets this command uses before anything runs, so a missing
/// variable stops `run` at once; `check` only warns, since the service may
/// have a variable the shell running the check does not.
fn read_secrets(command: &Command, config: &mut AgentConfig) -> Result<(), ExitCode> {
    let read = match command {
        Command::Run { .. } => read_all(config.secrets()),
        Command::Probe { .. } => read_all(config.local_secrets()),
        #[cfg(feature = "doctor")]
        Command::Doctor { .. } => read_all(config.local_secrets()),
        Command::Enroll(_) => Ok(()),
        Command::Check { .. } => {
            for e in config.secrets().filter_map(|s| s.resolve().err()) {
                eprintln!("warning: {e}; `run` needs it");
            }
            Ok(())
        }
    };
    read.map_err(|errors| {
        for e in errors {
            eprintln!("{e}");
        }
        ExitCode::from(2)
    })
}

/// Say at start which broker this command sends a password to in clear
/// (`allow_plaintext: true`): `run` uses both, `probe` and `doctor` only the
/// office broker of the MQTT plugs.
fn warn_in_clear(command: &Command, config: &AgentConfig) {
    let both = matches!(command, Command::Run { .. } | Command::Check { .. });
    for (setting, broker) in config.brokers_in_clear() {
        if both || setting == "local_broker" {
            broker.warn_if_in_clear(setting);
        }
    }
}

/// `Ok(false)`: the command ran and found a problem (the doctor, a device
/// it could not read).
async fn execute(command: Command, config: AgentConfig) -> anyhow::Result<bool> {
    match command {
        Command::Run { .. } => {
            let shutdown = CancellationToken::new();
            tokio::spawn(ronda_common::shell::cancel_on_signal(shutdown.clone()));
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
        Command::Enroll(_) => {}
        #[cfg(feature = "doctor")]
        Command::Doctor { letter, lang, .. } => {
            let visit = ronda_agent::doctor::visit(&config, letter.as_deref()).await?;
            print!("{}", ronda_agent::doctor::render(&visit, &lang));
            return Ok(visit.unreadable() == 0);
        }
    }
    Ok(true)
}
