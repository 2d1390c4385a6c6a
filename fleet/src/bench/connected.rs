//! Scenario 3, connected agents: server and broker memory with 10,000 idle
//! agents connected (each has said "online" and then only pings), and the
//! memory each agent costs, with the embedded broker and with Mosquitto.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::mosquitto::Mosquitto;
use super::results::Sample;
use super::server::{Broker, Server, Setup};
use super::{BenchError, Ctx};
use crate::fleet::{self, Fleet, Spec};

pub const SCENARIO: &str = "3. Connected agents";

/// Which resource limits this scenario and what would raise it.
pub const LIMIT: &str = "Limit: memory and open files. With the embedded broker each agent costs the memory in the table (rumqttd keeps per-connection state and buffers, and the gate holds two sockets and their buffers), and three file descriptors in one process. On this machine the hard open-files limit is 20,000 and cannot be raised from inside the container, so the embedded phase connects as many agents as fit; `ronda-server` raises its soft limit to what `max_connections` needs and warns when the hard limit is lower. Mosquitto holds an agent in a few kilobytes and one socket. What would raise it: a higher `LimitNOFILE` (systemd's default hard limit is 524,288), or Mosquitto for fleets in the tens of thousands.";

/// Sockets one agent holds in the server process with the embedded broker
/// (the gate's two ends and rumqttd's), and what the process keeps for itself.
const FILES_PER_AGENT: u64 = 3;
const FILES_SPARE: u64 = 300;

fn spec(agents: usize, broker: ronda_common::link::BrokerUrl) -> Spec {
    Spec {
        broker,
        offices: agents,
        agents_per_office: 1,
        devices: 10,
        interval: Duration::from_secs(3600),
        reports: Some(0),
        keepalive: Duration::from_secs(60),
        connect_per_s: 500,
        office_prefix: "c".into(),
        faults: fleet::Faults::default(),
        window: None,
        credentials: None,
    }
}

/// Agents to connect: 10,000, or as many as this machine's open-files
/// limit lets the embedded broker hold, whichever is less.
fn target(ctx: &Ctx, embedded: bool) -> usize {
    let want = if ctx.quick { 1000 } else { 10_000 };
    if !embedded {
        return want;
    }
    let hard = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(u64::MAX, |(_, hard)| hard);
    let fits = hard.saturating_sub(FILES_SPARE) / FILES_PER_AGENT;
    if (fits as usize) < want {
        eprintln!("bench: the open-files hard limit is {hard}; the embedded broker can hold {fits} agents here ({FILES_PER_AGENT} sockets each), so the embedded phase connects {fits}");
    }
    want.min(fits as usize)
}

pub async fn run(ctx: &Ctx, run: usize) -> Result<Vec<Sample>, BenchError> {
    let dir = ctx.run_dir("connected", run)?;
    let mut out = Vec::new();

    let n = target(ctx, true);
    let base = spec(n, loopback());
    let agents = fleet::agents(&base);
    let offices: Vec<String> = agents.iter().map(|a| a.office.to_string()).collect();
    let emb = dir.join("embedded");
    std::fs::create_dir_all(&emb).map_err(|e| BenchError::io(&emb, e))?;
    let server = Server::start(
        ctx,
        &emb,
        Setup {
            offices: &offices,
            broker: Broker::Embedded,
            agents: &agents,
            smtp: None,
            letter: None,
            telegram: None,
            webhook: None,
        },
    )
    .await?;
    let spec_emb = Spec {
        credentials: Some(server.credentials.clone()),
        ..spec(n, server.agents_url.clone())
    };
    let before = settle_rss(&server).await?;
    let held = hold(&server, spec_emb, n, || {
        server.proc.rss_bytes().unwrap_or(0)
    })
    .await?;
    server.proc.stop().await;
    out.push(Sample::new(
        SCENARIO,
        "embedded broker: agents held",
        "agents",
        held.agents as f64,
    ));
    out.push(Sample::new(
        SCENARIO,
        "embedded broker: server RSS, no agents",
        "MB",
        before as f64 / 1e6,
    ));
    out.push(Sample::new(
        SCENARIO,
        "embedded broker: server RSS with the agents",
        "MB",
        held.rss as f64 / 1e6,
    ));
    out.push(Sample::new(
        SCENARIO,
        "embedded broker: memory per agent",
        "KB",
        per_agent(before, held.rss, held.agents),
    ));

    let n = target(ctx, false);
    let base = spec(n, loopback());
    let agents = fleet::agents(&base);
    let offices: Vec<String> = agents.iter().map(|a| a.office.to_string()).collect();
    let ext = dir.join("mosquitto");
    std::fs::create_dir_all(&ext).map_err(|e| BenchError::io(&ext, e))?;
    let mut mosquitto = Mosquitto::start(&ext, &agents).await?;
    let broker = Broker::External {
        url: mosquitto.url.clone(),
        password: mosquitto.server_password.clone(),
    };
    let server = Server::start(
        ctx,
        &ext,
        Setup {
            offices: &offices,
            broker,
            agents: &[],
            smtp: None,
            letter: None,
            telegram: None,
            webhook: None,
        },
    )
    .await?;
    let spec_ext = Spec {
        credentials: Some(mosquitto.credentials.clone()),
        ..spec(n, mosquitto.url.clone())
    };
    let server_before = settle_rss(&server).await?;
    let broker_before = super::procs::rss_bytes(mosquitto.broker.pid())?;
    let held = hold(&server, spec_ext, n, || {
        super::procs::rss_bytes(mosquitto.broker.pid()).unwrap_or(0)
    })
    .await?;
    let server_after = server.proc.rss_bytes()?;
    server.proc.stop().await;
    mosquitto.broker.kill();
    out.push(Sample::new(
        SCENARIO,
        "Mosquitto: agents held",
        "agents",
        held.agents as f64,
    ));
    out.push(Sample::new(
        SCENARIO,
        "Mosquitto: broker RSS with the agents",
        "MB",
        held.rss as f64 / 1e6,
    ));
    out.push(Sample::new(
        SCENARIO,
        "Mosquitto: broker memory per agent",
        "KB",
        per_agent(broker_before, held.rss, held.agents),
    ));
    out.push(Sample::new(
        SCENARIO,
        "Mosquitto: server RSS with the agents",
        "MB",
        server_after as f64 / 1e6,
    ));
    out.push(Sample::new(
        SCENARIO,
        "Mosquitto: server memory per agent",
        "KB",
        per_agent(server_before, server_after, held.agents),
    ));
    Ok(out)
}

fn loopback() -> ronda_common::link::BrokerUrl {
    ronda_common::link::BrokerUrl {
        host: "127.0.0.1".into(),
        port: 1,
        tls: false,
    }
}

fn per_agent(before: u64, after: u64, agents: usize) -> f64 {
    after.saturating_sub(before) as f64 / agents.max(1) as f64 / 1e3
}

/// The server's RSS once it has been idle for two seconds.
async fn settle_rss(server: &Server) -> Result<u64, BenchError> {
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.proc.rss_bytes()
}

struct Held {
    agents: usize,
    rss: u64,
}

/// Connect the fleet, wait until the server shows every agent online (or
/// no more arrive), idle ten seconds, and read the memory `rss` measures.
async fn hold(
    server: &Server,
    spec: Spec,
    n: usize,
    rss: impl Fn() -> u64,
) -> Result<Held, BenchError> {
    let stop = CancellationToken::new();
    let fleet = Fleet::start(spec, stop.clone());
    let (mut online, mut last) = (0usize, (0usize, Instant::now()));
    let mut progress = Instant::now();
    while online < n && last.1.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        online = server.metric("ronda_agents_online").await? as usize;
        if online != last.0 {
            last = (online, Instant::now());
        }
        if progress.elapsed() > Duration::from_secs(5) {
            progress = Instant::now();
            eprintln!(
                "bench: {online} of {n} agents online ({} connected, {} connection errors)",
                fleet.stats.connected.load(Ordering::Relaxed),
                fleet.stats.errors.load(Ordering::Relaxed)
            );
        }
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    let held = Held {
        agents: server.metric("ronda_agents_online").await? as usize,
        rss: rss(),
    };
    if held.agents < n {
        eprintln!("bench: only {} of {n} agents stayed online", held.agents);
    }
    stop.cancel();
    fleet.join().await;
    Ok(held)
}
