//! One phase of the ingest scenario measured: the fleet publishing flat
//! out, what arrived (at a bare subscriber, or committed by the server), and
//! the CPU of every process involved.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ronda_server::store::Location;
use rumqttc::{Event, Packet, QoS};
use tokio_util::sync::CancellationToken;

use super::super::mosquitto::{Mosquitto, SERVER_USER};
use super::super::pg::PgDb;
use super::super::results::percentile;
use super::super::server::Server;
use super::super::BenchError;
use crate::fleet::{Fleet, Spec};

/// Give up on a phase when nothing new arrived for this long.
const STALL: Duration = Duration::from_secs(20);

#[derive(Debug, Default)]
pub struct Phase {
    pub count: u64,
    pub rate: f64,
    /// Cores used on average over the phase.
    pub cpu: Cores,
    pub latency_p50: f64,
    pub latency_p99: f64,
    /// Reports sent again because their acknowledgement did not come.
    pub resent: u64,
    /// Fleet connections lost or refused (each drops what it had in flight).
    pub errors: u64,
}

/// The processes of a phase whose CPU is read.
#[derive(Clone, Copy, Default)]
struct Watched<'a> {
    server: Option<&'a Server>,
    broker: Option<&'a Mosquitto>,
    /// The PostgreSQL cluster the server writes to.
    pg: Option<&'a PgDb>,
}

/// Cores used on average between two readings.
#[derive(Debug, Default)]
pub struct Cores {
    pub server: f64,
    pub broker: f64,
    pub fleet: f64,
    pub pg: f64,
}

/// CPU seconds of the processes that matter, to turn into cores used.
struct Cpu {
    at: Instant,
    seconds: Cores,
}

impl Cpu {
    fn read(watched: Watched<'_>) -> Cpu {
        Cpu::read_at(Instant::now(), watched)
    }

    fn read_at(at: Instant, w: Watched<'_>) -> Cpu {
        let seconds = Cores {
            server: w
                .server
                .and_then(|s| s.proc.cpu_seconds().ok())
                .unwrap_or(0.0),
            broker: w
                .broker
                .and_then(|b| super::super::procs::cpu_seconds(b.broker.pid()).ok())
                .unwrap_or(0.0),
            fleet: super::super::procs::own_cpu_seconds().unwrap_or(0.0),
            pg: w.pg.map_or(0.0, PgDb::cpu_seconds),
        };
        Cpu { at, seconds }
    }

    /// Cores used between this reading and a later one.
    fn cores_until(&self, now: &Cpu) -> Cores {
        let secs = now.at.duration_since(self.at).as_secs_f64().max(1e-9);
        let (a, b) = (&self.seconds, &now.seconds);
        Cores {
            server: (b.server - a.server) / secs,
            broker: (b.broker - a.broker) / secs,
            fleet: (b.fleet - a.fleet) / secs,
            pg: (b.pg - a.pg) / secs,
        }
    }
}

/// Bare Mosquitto and a subscriber that only counts.
pub async fn bare_broker(
    mosquitto: &Mosquitto,
    base: &Spec,
    total: u64,
) -> Result<Phase, BenchError> {
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
    let watched = Watched {
        broker: Some(mosquitto),
        ..Watched::default()
    };
    let cpu = Cpu::read(watched);
    let started = Instant::now();
    let fleet = Fleet::start(spec, stop.clone());
    let (mut count, mut last) = (0u64, Instant::now());
    let mut cpu_last = Cpu::read(watched);
    while count < total {
        match tokio::time::timeout(STALL, eventloop.poll()).await {
            Ok(Ok(Event::Incoming(Packet::Publish(_)))) => {
                count += 1;
                last = Instant::now();
                if count % 1000 == 0 || count == total {
                    cpu_last = Cpu::read_at(last, watched);
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(BenchError::Scenario(format!("bench subscriber: {e}"))),
            Err(_) => break,
        }
    }
    let cores = cpu.cores_until(&cpu_last);
    stop.cancel();
    fleet.join().await;
    if count < total {
        eprintln!("bench: the bare subscriber got {count} of {total}");
    }
    Ok(Phase {
        count,
        rate: count as f64 / last.duration_since(started).as_secs_f64(),
        cpu: cores,
        ..Phase::default()
    })
}

/// The fleet into a server, counting what it has committed.
pub async fn through_server(
    server: &Server,
    broker: Option<&Mosquitto>,
    pg: Option<&PgDb>,
    spec: Spec,
    total: u64,
) -> Result<Phase, BenchError> {
    let watched = Watched {
        server: Some(server),
        broker,
        pg,
    };
    let stop = CancellationToken::new();
    let cpu = Cpu::read(watched);
    let started = Instant::now();
    let fleet = Fleet::start(spec, stop.clone());
    let (mut stored, mut last) = (0u64, (0u64, Instant::now()));
    let mut cpu_last = Cpu::read(watched);
    let mut progress = Instant::now();
    while stored < total {
        tokio::time::sleep(Duration::from_millis(50)).await;
        stored = server.metric("ronda_reports_stored_total").await? as u64;
        if stored != last.0 {
            last = (stored, Instant::now());
            cpu_last = Cpu::read_at(last.1, watched);
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
    let cores = cpu.cores_until(&cpu_last);
    let resent = fleet.stats.resent.load(Ordering::Relaxed);
    let errors = fleet.stats.errors.load(Ordering::Relaxed);
    stop.cancel();
    fleet.join().await;
    let (latency_p50, latency_p99) = latency(&server.db)?;
    Ok(Phase {
        count: stored,
        rate: stored as f64 / last.1.duration_since(started).as_secs_f64(),
        cpu: cores,
        latency_p50,
        latency_p99,
        resent,
        errors,
    })
}

/// Send (the report's own time) to the server receiving it, from the store.
fn latency(db: &Location) -> Result<(f64, f64), BenchError> {
    let fail = |e: String| BenchError::Scenario(format!("{db}: {e}"));
    let conn = db.open_read_only().map_err(|e| fail(e.to_string()))?;
    let mut ms: Vec<f64> = conn
        .query_rows("SELECT received_ms - observed_ms FROM reports", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(|e| fail(e.to_string()))?
        .into_iter()
        .map(|v| v as f64)
        .collect();
    ms.sort_by(f64::total_cmp);
    Ok((percentile(&ms, 0.5), percentile(&ms, 0.99)))
}
