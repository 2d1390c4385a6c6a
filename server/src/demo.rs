//! `ronda-server demo`: the whole central side plus three simulated offices,
//! on a fresh machine, with nothing to configure.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::Duration;

use ronda_agent::seq::MemorySeq;
use ronda_agent::AgentConfig;
use ronda_wire::Id;
use tokio_util::sync::CancellationToken;

use crate::config::{BrokerChoice, EmbeddedBroker};
use crate::sim::SimOffice;
use crate::{start, Running, ServerConfig, ServerError};

pub const OFFICES: [&str; 3] = ["dinkes", "disdukcapil", "bappeda"];

pub struct DemoOptions {
    pub http: SocketAddr,
    pub mqtt: SocketAddr,
    pub interval: Duration,
}

/// Run the demo until `shutdown`. The database lives in a temporary
/// directory that is removed on exit.
pub async fn run(opts: DemoOptions, shutdown: CancellationToken) -> Result<(), ServerError> {
    let dir = tempfile::Builder::new()
        .prefix("ronda-demo-")
        .tempdir()
        .map_err(ServerError::TempDir)?;
    let mut config = ServerConfig::local(dir.path().join("ronda.db"));
    config.http_listen = free_or_any(opts.http);
    config.broker = BrokerChoice::Embedded(EmbeddedBroker {
        listen: free_or_any(opts.mqtt),
        ..EmbeddedBroker::default()
    });
    let server = start(config, shutdown.clone()).await?;
    server.ready().await;
    let agents = spawn_offices(&server, opts.interval, &shutdown);
    print_banner(&server, &dir.path().join("ronda.db"));
    shutdown.cancelled().await;
    for a in agents {
        let _ = a.await;
    }
    server.wait().await;
    Ok(())
}

fn spawn_offices(
    server: &Running,
    interval: Duration,
    shutdown: &CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for office in OFFICES {
        let (Ok(office_id), Ok(agent)) = (Id::new(office), Id::new("kantor-utama")) else {
            continue;
        };
        let config = AgentConfig {
            office: office_id,
            agent,
            interval,
            startup_jitter: Duration::from_millis(500),
            state_dir: PathBuf::new(),
            broker: crate::broker_config_for(&server.broker_url),
            devices: Default::default(),
        };
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) =
                ronda_agent::run_with(config, SimOffice::new(office), MemorySeq::default(), stop)
                    .await
            {
                tracing::error!(office, error = %e, "simulated office stopped");
            }
        }));
    }
    tasks
}

/// The asked-for address if it is free, otherwise any free port, so that the
/// demo starts even where 8080 or 1883 is taken.
fn free_or_any(addr: SocketAddr) -> SocketAddr {
    match TcpListener::bind(addr) {
        Ok(_) => addr,
        Err(e) => {
            eprintln!("note: {addr} is not available ({e}); using a free port instead");
            SocketAddr::new(addr.ip(), 0)
        }
    }
}

fn print_banner(server: &Running, db: &std::path::Path) {
    let http = server.http_addr;
    println!();
    println!(
        "Ronda demo is running with {} simulated offices: {}",
        OFFICES.len(),
        OFFICES.join(", ")
    );
    println!("  dashboard    http://{http}/");
    println!("  API          http://{http}/api/v1/agents");
    println!("  metrics      http://{http}/metrics");
    println!("  MQTT broker  {}", server.broker_url);
    println!("  database     {} (removed on exit)", db.display());
    println!();
    println!("A real agent joins as one more office:");
    println!("  cargo run -p ronda-agent -- run --config examples/agent.yaml");
    println!("Press Ctrl-C to stop.");
}
