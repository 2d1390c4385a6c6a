//! `ronda-server`: command line over the server library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

mod init_cli;
mod mqtt_user_cli;
mod user_cli;

use clap::{Parser, Subcommand};
use ronda_server::ServerConfig;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "ronda-server",
    version,
    about = "Ronda central server: watches government offices while they are closed"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server until stopped (SIGTERM or Ctrl-C). SIGHUP reads the
    /// letters folder and the office registry again.
    Run {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Copy the database, consistently, while the server runs; check the
    /// copy and print its size and its evidence rows.
    Backup {
        #[arg(long, short)]
        config: PathBuf,
        /// Where the copy goes (written under a temporary name, then renamed).
        file: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Embedded broker, temporary database and three simulated offices.
    Demo {
        /// Address for the dashboard and API.
        #[arg(long, default_value = "127.0.0.1:8080")]
        http: SocketAddr,
        /// Address for the embedded MQTT broker.
        #[arg(long, default_value = "127.0.0.1:1883")]
        mqtt: SocketAddr,
        /// Seconds between the simulated offices' reports.
        #[arg(long, default_value_t = 5)]
        interval: u64,
        /// Where the Kotim 2018 letter's window starts: `now`, `original`
        /// (11 June 2018, so nothing is enforced), or a time like 2026-12-24T00:00+07:00.
        #[arg(long, default_value = "now")]
        window_start: String,
        /// Shorten every checklist item's grace time (`for`) to at most this.
        #[arg(long, default_value = "1m")]
        max_grace: String,
    },
    /// Manage user accounts (there is no default account).
    User {
        #[command(subcommand)]
        command: user_cli::UserCommand,
    },
    /// Manage the agents' MQTT credentials for the embedded broker.
    MqttUser {
        #[command(subcommand)]
        command: mqtt_user_cli::MqttUserCommand,
    },
    /// Work with circular letters (policy files).
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Check a config file and print every problem in it.
    Check {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Write a starting server.yaml, an offices.yaml registry and the first
    /// admin account, asking for what it needs (or taking flags).
    Init(Box<init_cli::InitArgs>),
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Check letters and print every problem in each, or a summary of each good one.
    Check {
        /// The office registry, to check office and group names against.
        #[arg(long)]
        offices: Option<PathBuf>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Ingest allocates and frees many small strings per report, across
/// threads; jemalloc does that faster and with less memory than glibc
/// (figures in server/Cargo.toml).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    // rumqttd logs every ordinary client disconnect as an error; keep it
    // quiet unless asked for with RUST_LOG.
    ronda_common::shell::init_logs("info,rumqttd=off");
    let cli = Cli::parse();
    let cli = match cli.command {
        Command::Init(args) => return finish(init_cli::execute(*args)),
        command => Cli { command },
    };
    if let Command::Policy {
        command: PolicyCommand::Check { offices, files },
    } = &cli.command
    {
        return policy_check(offices.as_deref(), files);
    }
    if let Command::User { command } = &cli.command {
        return finish(user_cli::execute(command));
    }
    if let Command::MqttUser { command } = &cli.command {
        return finish(mqtt_user_cli::execute(command));
    }
    if let Command::Backup {
        config,
        file,
        force,
    } = &cli.command
    {
        return finish(backup(config, file, *force));
    }
    if let Command::Check { config } = &cli.command {
        return match load_config(config) {
            Ok(mut c) => {
                // A warning, not a failure: the service may have a variable
                // the shell running the check does not.
                for e in c.unreadable_secrets() {
                    eprintln!("warning: {e}; `run` needs it");
                }
                println!("{}: ok", config.display());
                // The certificate and key were read by the load above.
                println!("{}", web_summary(&c));
                for letter in c.letters.iter() {
                    println!("{}", ronda_server::letters::summary(letter));
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        };
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(command: Command) -> anyhow::Result<ExitCode> {
    let shutdown = CancellationToken::new();
    tokio::spawn(ronda_common::shell::cancel_on_signal(shutdown.clone()));
    // Before anything slow: until SIGHUP is caught, it would end the process.
    let hangups = match command {
        Command::Run { .. } => ronda_common::shell::Hangups::catch(),
        _ => ronda_common::shell::Hangups::none(),
    };
    match command {
        Command::Run { config } => {
            let mut config = match load_config(&config) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(ExitCode::from(2));
                }
            };
            // Every secret `run` uses, read before anything starts.
            if let Err(errors) = config.read_secrets() {
                for e in errors {
                    eprintln!("{e}");
                }
                return Ok(ExitCode::from(2));
            }
            ronda_server::run(config, shutdown, hangups).await?;
        }
        Command::Demo {
            http,
            mqtt,
            interval,
            window_start,
            max_grace,
        } => {
            let interval = Duration::from_secs(interval.max(1));
            run_demo(http, mqtt, interval, &window_start, &max_grace, shutdown).await?;
        }
        Command::Check { .. }
        | Command::Init(_)
        | Command::Policy { .. }
        | Command::User { .. }
        | Command::MqttUser { .. }
        | Command::Backup { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "demo")]
async fn run_demo(
    http: SocketAddr,
    mqtt: SocketAddr,
    interval: Duration,
    window_start: &str,
    max_grace: &str,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let window_start = match window_start {
        "now" => Some(jiff::Timestamp::now()),
        "original" => None,
        t => Some(t.parse().map_err(|e| {
            anyhow::anyhow!(
                "--window-start: `{t}` is not now, original or a time with an offset: {e}"
            )
        })?),
    };
    let max_grace = ronda_common::conf::parse_duration(max_grace)
        .map_err(|e| anyhow::anyhow!("--max-grace: {e}"))?;
    let opts = ronda_server::demo::DemoOptions {
        http,
        mqtt,
        interval,
        window_start,
        max_grace,
    };
    Ok(ronda_server::demo::run(opts, shutdown).await?)
}

/// A server built for deployment carries no simulator: say how to get one that does.
#[cfg(not(feature = "demo"))]
async fn run_demo(
    _: SocketAddr,
    _: SocketAddr,
    _: Duration,
    _: &str,
    _: &str,
    _: CancellationToken,
) -> anyhow::Result<()> {
    anyhow::bail!(
        "this ronda-server was built without the demo (it carries no device simulator); \
         run the demo from the source tree with `cargo run -p ronda-server --features demo -- demo`"
    )
}

/// Where the web side listens and how, for `check`.
fn web_summary(c: &ServerConfig) -> String {
    let listen = c.http_listen;
    match &c.http_tls {
        Some(t) => {
            let mut s = format!(
                "https on {listen}: certificate {} and key {} read; they are read again at every start (restart after renewing)",
                t.cert_file.display(),
                t.key_file.display()
            );
            if let Some(r) = c.http_redirect_listen {
                s.push_str(&format!("\nhttp on {r} redirects to https on port {}", listen.port()));
            }
            s
        }
        None if listen.ip().is_loopback() => format!("http on {listen} (this machine only)"),
        None => format!(
            "http on {listen}: plain HTTP; browsers on other machines keep the login cookie only over HTTPS, \
             so put a reverse proxy with HTTPS in front or set http.tls (docs/https.md)"
        ),
    }
}

/// The config file, then the registry and letters it names.
fn load_config(path: &std::path::Path) -> Result<ServerConfig, String> {
    let mut config = ServerConfig::load(path).map_err(|e| e.to_string())?;
    ronda_server::letters::load(&mut config)?;
    Ok(config)
}

fn policy_check(offices: Option<&std::path::Path>, files: &[PathBuf]) -> ExitCode {
    let registry = match offices.map(ronda_policy::Registry::load).transpose() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if registry.is_none() {
        eprintln!("note: no --offices registry given; office names are checked for form only");
    }
    let checked = ronda_server::letters::check_files(files, registry.as_ref());
    for letter in &checked.letters {
        println!("{}", ronda_server::letters::summary(letter));
    }
    for e in &checked.errors {
        eprintln!("{e}");
    }
    if checked.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "{} of {} files have problems",
            checked.errors.len(),
            files.len()
        );
        ExitCode::from(2)
    }
}

/// `backup`: the database `config` names, copied to `file`.
fn backup(config: &std::path::Path, file: &std::path::Path, force: bool) -> Result<String, String> {
    // Only the database path is needed: the letters and secrets are not read.
    let c = ServerConfig::load(config).map_err(|e| e.to_string())?;
    let ronda_server::store::Location::File(db) = &c.database else {
        return Err(format!(
            "{}: the database is PostgreSQL ({}); back it up with pg_dump, which PostgreSQL \
             keeps consistent while the server runs",
            config.display(),
            c.database
        ));
    };
    let copy = ronda_server::store::backup::backup(db, file, force).map_err(|e| e.to_string())?;
    let mut out = format!(
        "{}: {} bytes, schema version {}, integrity ok, copied from {}",
        copy.path.display(),
        copy.bytes,
        copy.schema,
        db.display()
    );
    for (table, rows) in &copy.rows {
        out.push_str(&format!("\n  {table}: {rows} rows"));
    }
    Ok(out)
}

/// A management command's outcome: its output on stdout, or the error and 2.
fn finish(outcome: Result<String, String>) -> ExitCode {
    match outcome {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
