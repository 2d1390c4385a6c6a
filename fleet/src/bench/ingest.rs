//! Scenario 2, server ingest: reports per second accepted, evaluated
//! against the Kotim letter and committed to SQLite, from 1,000 simulated
//! agents publishing flat out. Three phases in one run: Mosquitto with a
//! plain subscriber that does no work (the ceiling), the server behind
//! Mosquitto, and the server with its embedded broker.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rumqttc::{Event, Packet, QoS};
use tokio_util::sync::CancellationToken;

use super::mosquitto::{Mosquitto, SERVER_USER};
use super::results::{percentile, Sample};
use super::server::{Broker, Server, Setup};
use super::{BenchError, Ctx};
use crate::fleet::{self, Fleet, Spec};

pub const SCENARIO: &str = "2. Server ingest";

/// Which resource limits this scenario and what would raise it.
pub const LIMIT: &str = "Limit: CPU. All three phases share the machine's 2 cores with the fleet, so each phase runs until the cores are full; the broker, the server and the fleet's CPU are in the table. In the server, a profile (`perf record -g` on the Mosquitto phase) put about half of its CPU in the policy engine (evaluating the letter and building each finding's JSON evidence), about a fifth in decoding the JSON report, and about a fifth in the SQLite writer; fsync is not the limit, as each batch of up to 2,000 reports is one transaction. What would raise it: evidence kept as typed data and turned into JSON only when an alert changes or a page asks, one copy of each report body in SQLite instead of two (history and latest), and more cores (ingest, engine and writer already run on separate tasks and threads). With the embedded broker the gate and rumqttd also run in the server process.";

/// Give up on a phase when nothing new arrived for this long.
const STALL: Duration = Duration::from_secs(20);

pub fn spec(ctx: &Ctx, broker: ronda_common::link::BrokerUrl) -> Spec {
    Spec {
        broker,
        offices: if ctx.quick { 200 } else { 1000 },
        agents_per_office: 1,
        devices: 10,
        interval: Duration::ZERO,
        reports: Some(if ctx.quick { 20 } else { 100 }),
        keepalive: Duration::from_secs(30),
        connect_per_s: 2000,
        office_prefix: "o".into(),
        faults: fleet::Faults {
            plugs_on: 0.05,
            not_recording: 0.02,
            ..fleet::Faults::default()
        },
        // The real courier's window is 200; 20 keeps the broker's backlog,
        // and the embedded broker's memory, bounded at 1,000 agents.
        window: Some(WINDOW),
        credentials: None,
    }
}

/// Reports each agent may have out before the server acknowledges them.
const WINDOW: u64 = 20;

pub async fn run(ctx: &Ctx, run: usize) -> Result<Vec<Sample>, BenchError> {
    let dir = ctx.run_dir("ingest", run)?;
    let base = spec(
        ctx,
        ronda_common::link::BrokerUrl {
            host: "127.0.0.1".into(),
            port: 1,
            tls: false,
        },
    );
    let agents = fleet::agents(&base);
    let offices: Vec<String> = agents.iter().map(|a| a.office.to_string()).collect();
    let total = agents.len() as u64 * base.reports.unwrap_or(0);
    eprintln!(
        "bench: ingest run {run}: {} agents x {} reports",
        agents.len(),
        base.reports.unwrap_or(0)
    );
    let mut out = Vec::new();

    // Bare Mosquitto and a subscriber that only counts.
    let bare_dir = dir.join("bare");
    std::fs::create_dir_all(&bare_dir).map_err(|e| BenchError::io(&bare_dir, e))?;
    let mut mosquitto = Mosquitto::start(&bare_dir, &agents).await?;
    let bare = bare_broker(&mosquitto, &base, total).await?;
    mosquitto.broker.kill();
    out.push(Sample::new(
        SCENARIO,
        "Mosquitto alone, plain subscriber",
        "reports/s",
        bare.rate,
    ));
    out.push(Sample::new(
        SCENARIO,
        "Mosquitto alone: Mosquitto CPU",
        "cores",
        bare.cpu_broker,
    ));

    // The server behind Mosquitto.
    let ext_dir = dir.join("mosquitto");
    std::fs::create_dir_all(&ext_dir).map_err(|e| BenchError::io(&ext_dir, e))?;
    let mut mosquitto = Mosquitto::start(&ext_dir, &agents).await?;
    let broker = Broker::External {
        url: mosquitto.url.clone(),
        password: mosquitto.server_password.clone(),
    };
    let server = Server::start(
        ctx,
        &ext_dir,
        Setup {
            offices: &offices,
            broker,
            agents: &[],
            smtp: None,
            letter: None,
        },
    )
    .await?;
    let spec_ext = Spec {
        credentials: Some(mosquitto.credentials.clone()),
        ..spec(ctx, mosquitto.url.clone())
    };
    let ext = through_server(&server, Some(&mosquitto), spec_ext, total).await?;
    server.proc.stop().await;
    mosquitto.broker.kill();
    push_server(&mut out, "with Mosquitto", &ext, total);
    out.push(Sample::new(
        SCENARIO,
        "ronda-server with Mosquitto / Mosquitto alone",
        "ratio",
        ext.rate / bare.rate,
    ));

    // The server with its embedded broker.
    let emb_dir = dir.join("embedded");
    std::fs::create_dir_all(&emb_dir).map_err(|e| BenchError::io(&emb_dir, e))?;
    let server = Server::start(
        ctx,
        &emb_dir,
        Setup {
            offices: &offices,
            broker: Broker::Embedded,
            agents: &agents,
            smtp: None,
            letter: None,
        },
    )
    .await?;
    let spec_emb = Spec {
        credentials: Some(server.credentials.clone()),
        ..spec(ctx, server.agents_url.clone())
    };
    let emb = through_server(&server, None, spec_emb, total).await?;
    server.proc.stop().await;
    push_server(&mut out, "embedded broker", &emb, total);
    out.push(Sample::new(
        SCENARIO,
        "ronda-server embedded broker / Mosquitto alone",
        "ratio",
        emb.rate / bare.rate,
    ));
    Ok(out)
}

fn push_server(out: &mut Vec<Sample>, how: &str, p: &Phase, total: u64) {
    out.push(Sample::new(
        SCENARIO,
        format!("ronda-server, {how}"),
        "reports/s",
        p.rate,
    ));
    out.push(Sample::new(
        SCENARIO,
        format!("ronda-server, {how}: reports lost"),
        "reports",
        total.saturating_sub(p.count) as f64,
    ));
    out.push(Sample::new(
        SCENARIO,
        format!("ronda-server, {how}: reports resent"),
        "reports",
        p.resent as f64,
    ));
    out.push(Sample::new(
        SCENARIO,
        format!("ronda-server, {how}: fleet connections lost"),
        "connections",
        p.errors as f64,
    ));
    out.push(Sample::new(
        SCENARIO,
        format!("ronda-server, {how}: server CPU"),
        "cores",
        p.cpu_server,
    ));
    if p.cpu_broker > 0.0 {
        out.push(Sample::new(
            SCENARIO,
            format!("ronda-server, {how}: Mosquitto CPU"),
            "cores",
            p.cpu_broker,
        ));
    }
    out.push(Sample::new(
        SCENARIO,
        format!("ronda-server, {how}: fleet CPU"),
        "cores",
        p.cpu_fleet,
    ));
    out.push(Sample::new(
        SCENARIO,
        format!("ronda-server, {how}: send to receive p50"),
        "ms",
        p.latency_p50,
    ));
    out.push(Sample::new(
        SCENARIO,
        format!("ronda-server, {how}: send to receive p99"),
        "ms",
        p.latency_p99,
    ));
}

#[derive(Debug, Default)]
struct Phase {
    count: u64,
    rate: f64,
    /// Cores used on average over the phase.
    cpu_server: f64,
    cpu_broker: f64,
    cpu_fleet: f64,
    latency_p50: f64,
    latency_p99: f64,
    /// Reports sent again because their acknowledgement did not come.
    resent: u64,
    /// Fleet connections lost or refused (each drops what it had in flight).
    errors: u64,
}

/// CPU seconds of the processes that matter, to turn into cores used.
struct Cpu {
    at: Instant,
    server: f64,
    broker: f64,
    fleet: f64,
}

impl Cpu {
    fn read(server: Option<&Server>, broker: Option<&Mosquitto>) -> Cpu {
        Cpu::read_at(Instant::now(), server, broker)
    }

    fn read_at(at: Instant, server: Option<&Server>, broker: Option<&Mosquitto>) -> Cpu {
        Cpu {
            at,
            server: server
                .and_then(|s| s.proc.cpu_seconds().ok())
                .unwrap_or(0.0),
            broker: broker
                .and_then(|b| super::procs::cpu_seconds(b.broker.pid()).ok())
                .unwrap_or(0.0),
            fleet: super::procs::own_cpu_seconds().unwrap_or(0.0),
        }
    }

    /// Cores used between two readings: server, broker, fleet.
    fn cores_until(&self, now: &Cpu) -> (f64, f64, f64) {
        let secs = now.at.duration_since(self.at).as_secs_f64().max(1e-9);
        (
            (now.server - self.server) / secs,
            (now.broker - self.broker) / secs,
            (now.fleet - self.fleet) / secs,
        )
    }
}

async fn bare_broker(mosquitto: &Mosquitto, base: &Spec, total: u64) -> Result<Phase, BenchError> {
    let broker = ronda_common::link::BrokerConfig {
        username: Some(SERVER_USER.into()),
        password: Some(ronda_common::conf::Secret::new(mosquitto.server_password.clone()).into()),
        ..ronda_server::broker_config_for(&mosquitto.url)
    };
    let options = ronda_common::link::options("bench-subscriber", &broker, None, 1 << 20)
        .map_err(|e| BenchError::Scenario(e.to_string()))?;
    let (client, mut eventloop) = ronda_common::link::connect(options, 64);
    client
        .subscribe(
            ronda_wire::Topic::filter_all(ronda_wire::Kind::Report),
            QoS::AtLeastOnce,
        )
        .await
        .map_err(|e| BenchError::Scenario(e.to_string()))?;
    // Wait for the SUBACK before the fleet starts.
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::SubAck(_))) => break,
            Ok(_) => {}
            Err(e) => return Err(BenchError::Scenario(format!("bench subscriber: {e}"))),
        }
    }
    let stop = CancellationToken::new();
    // A plain subscriber sends no acknowledgements: no window.
    let spec = Spec {
        credentials: Some(mosquitto.credentials.clone()),
        broker: mosquitto.url.clone(),
        window: None,
        ..base.clone()
    };
    let cpu = Cpu::read(None, Some(mosquitto));
    let started = Instant::now();
    let fleet = Fleet::start(spec, stop.clone());
    let (mut count, mut last) = (0u64, Instant::now());
    let mut cpu_last = Cpu::read(None, Some(mosquitto));
    while count < total {
        match tokio::time::timeout(STALL, eventloop.poll()).await {
            Ok(Ok(Event::Incoming(Packet::Publish(_)))) => {
                count += 1;
                last = Instant::now();
                if count % 1000 == 0 || count == total {
                    cpu_last = Cpu::read_at(last, None, Some(mosquitto));
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(BenchError::Scenario(format!("bench subscriber: {e}"))),
            Err(_) => break,
        }
    }
    let (_, cpu_broker, cpu_fleet) = cpu.cores_until(&cpu_last);
    stop.cancel();
    fleet.join().await;
    if count < total {
        eprintln!("bench: the bare subscriber got {count} of {total}");
    }
    Ok(Phase {
        count,
        rate: count as f64 / last.duration_since(started).as_secs_f64(),
        cpu_broker,
        cpu_fleet,
        ..Phase::default()
    })
}

async fn through_server(
    server: &Server,
    broker: Option<&Mosquitto>,
    spec: Spec,
    total: u64,
) -> Result<Phase, BenchError> {
    let stop = CancellationToken::new();
    let cpu = Cpu::read(Some(server), broker);
    let started = Instant::now();
    let fleet = Fleet::start(spec, stop.clone());
    let (mut stored, mut last) = (0u64, (0u64, Instant::now()));
    let mut cpu_last = Cpu::read(Some(server), broker);
    let mut progress = Instant::now();
    while stored < total {
        tokio::time::sleep(Duration::from_millis(50)).await;
        stored = server.metric("ronda_reports_stored_total").await? as u64;
        if stored != last.0 {
            last = (stored, Instant::now());
            cpu_last = Cpu::read_at(last.1, Some(server), broker);
        } else if last.1.elapsed() > STALL {
            eprintln!("bench: stalled at {stored} of {total} stored");
            break;
        }
        if progress.elapsed() > Duration::from_secs(5) {
            progress = Instant::now();
            eprintln!(
                "bench: {stored} of {total} stored, {} published, {} resent",
                fleet.stats.published.load(Ordering::Relaxed),
                fleet.stats.resent.load(Ordering::Relaxed)
            );
        }
    }
    let (cpu_server, cpu_broker, cpu_fleet) = cpu.cores_until(&cpu_last);
    let resent = fleet.stats.resent.load(Ordering::Relaxed);
    let errors = fleet.stats.errors.load(Ordering::Relaxed);
    stop.cancel();
    fleet.join().await;
    let (latency_p50, latency_p99) = latency(&server.db)?;
    Ok(Phase {
        count: stored,
        rate: stored as f64 / last.1.duration_since(started).as_secs_f64(),
        cpu_server,
        cpu_broker,
        cpu_fleet,
        latency_p50,
        latency_p99,
        resent,
        errors,
    })
}

/// Send (the report's own time) to the server receiving it, from the store.
fn latency(db: &std::path::Path) -> Result<(f64, f64), BenchError> {
    let fail = |e: rusqlite::Error| BenchError::Scenario(format!("{}: {e}", db.display()));
    let conn = rusqlite::Connection::open(db).map_err(fail)?;
    let mut stmt = conn
        .prepare("SELECT received_ms - observed_ms FROM reports")
        .map_err(fail)?;
    let mut ms: Vec<f64> = stmt
        .query_map([], |r| r.get::<_, i64>(0))
        .map_err(fail)?
        .filter_map(Result::ok)
        .map(|v| v as f64)
        .collect();
    ms.sort_by(f64::total_cmp);
    Ok((percentile(&ms, 0.5), percentile(&ms, 0.99)))
}
