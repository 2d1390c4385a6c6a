//! `ronda-server demo`: the whole central side plus three simulated offices,
//! on a fresh machine, with nothing to configure. Each office is a
//! `ronda-sim` office (recorders, plugs, a service, its own MQTT broker)
//! watched by a real agent, so the demo shows real probe code at work.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::Duration;

use ronda_agent::seq::MemorySeq;
use ronda_agent::AgentConfig;
use ronda_sim::Options;
use tokio_util::sync::CancellationToken;

use crate::config::{BrokerChoice, EmbeddedBroker};
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
    let (sims, agents) = spawn_offices(&server, opts.interval, &shutdown).await?;
    print_banner(&server, &dir.path().join("ronda.db"), &sims);
    shutdown.cancelled().await;
    for a in agents {
        let _ = a.await;
    }
    server.wait().await;
    Ok(())
}

async fn spawn_offices(
    server: &Running,
    interval: Duration,
    shutdown: &CancellationToken,
) -> Result<(Vec<ronda_sim::Sim>, Vec<tokio::task::JoinHandle<()>>), ServerError> {
    let (mut sims, mut tasks) = (Vec::new(), Vec::new());
    for office in OFFICES {
        let sim = ronda_sim::start(
            ronda_sim::layout::default_office(),
            Options::default(),
            shutdown.clone(),
        )
        .await
        .map_err(|e| ServerError::Demo(format!("simulated office {office}: {e}")))?;
        let interval = format!("{}ms", interval.as_millis());
        let broker = server.broker_url.to_string();
        let yaml =
            ronda_sim::agent_config::agent_yaml(&sim, office, "kantor-utama", &broker, &interval);
        let name = PathBuf::from(format!("<demo {office}>"));
        let config =
            AgentConfig::from_text(&name, yaml).map_err(|e| ServerError::Demo(e.to_string()))?;
        let probes =
            ronda_agent::probes(&config, shutdown).map_err(|e| ServerError::Demo(e.to_string()))?;
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) = ronda_agent::run_with(config, probes, MemorySeq::default(), stop).await
            {
                tracing::error!(office, error = %e, "demo agent stopped");
            }
        }));
        sims.push(sim);
    }
    Ok((sims, tasks))
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

fn print_banner(server: &Running, db: &std::path::Path, sims: &[ronda_sim::Sim]) {
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
    for (office, sim) in OFFICES.iter().zip(sims) {
        println!(
            "  {office:<12} devices: {} (change them: http://{}/devices)",
            sim.devices.len(),
            sim.control
        );
    }
    println!();
    println!("A real agent joins as one more office:");
    println!("  cargo run -p ronda-agent -- run --config examples/agent.yaml");
    println!("Press Ctrl-C to stop.");
}
