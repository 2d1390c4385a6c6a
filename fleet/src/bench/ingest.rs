//! Scenario 2, server ingest: reports per second accepted, evaluated
//! against the Kotim letter and committed to the database, from 1,000
//! simulated agents publishing flat out. Five phases in one run: Mosquitto
//! with a plain subscriber that does no work (the ceiling), then the server
//! behind Mosquitto and with its embedded broker, each on a SQLite file and
//! on PostgreSQL (when a cluster is at hand, see [`super::pg`]).

mod measure;

use std::path::Path;
use std::time::Duration;

use measure::{bare_broker, through_server, Phase};

use super::mosquitto::Mosquitto;
use super::pg::{self, Cluster};
use super::results::Sample;
use super::server::{Broker, Server, Setup};
use super::{BenchError, Ctx};
use crate::fleet::{self, AgentIds, Spec};

pub const SCENARIO: &str = "2. Server ingest";

/// Which resource limits this scenario and what would raise it.
pub const LIMIT: &str = "Limit: CPU. All phases share the machine's 2 cores with the fleet, so each phase runs until the cores are full; the broker, the server and the fleet's CPU are in the table. In the server, a profile (`perf record -g` on the Mosquitto phase) put about half of its CPU in the policy engine (evaluating the letter and building each finding's JSON evidence), about a fifth in decoding the JSON report, and about a fifth in the SQLite writer; fsync is not the limit, as each batch of up to 2,000 reports is one transaction. What would raise it: evidence kept as typed data and turned into JSON only when an alert changes or a page asks, one copy of each report body in SQLite instead of two (history and latest), and more cores (ingest, engine and writer already run on separate tasks and threads). With the embedded broker the gate and rumqttd also run in the server process. On PostgreSQL the limit is the writer's round trips, not CPU: neither the server nor PostgreSQL fills a core (both in the table). Each report is two statements (the report, the agent's latest report) and each agent in a batch one more (its acknowledged count), each a round trip from the writer through the connection's thread to PostgreSQL and back before the next. Below about 2,000 reports/s a full window of 20 reports per agent takes longer than the fleet's 10 s to be acknowledged, so the fleet sends copies (reports resent, in the table), which the server must also insert and drop. What would raise it: fewer round trips per batch (one multi-row INSERT or COPY for the batch's reports, one upsert per agent for its latest report), or statements pipelined on the connection.";

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
    let total = agents.len() as u64 * base.reports.unwrap_or(0);
    eprintln!(
        "bench: ingest run {run}: {} agents x {} reports",
        agents.len(),
        base.reports.unwrap_or(0)
    );
    let mut out = Vec::new();

    let bare_dir = phase_dir(&dir, "bare")?;
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
        bare.cpu.broker,
    ));

    let cluster = Cluster::from_env();
    let phases = Phases {
        ctx,
        dir: &dir,
        run,
        agents: &agents,
        total,
    };
    for via in [Via::Mosquitto, Via::Embedded] {
        let sqlite = phases.server(via, None).await?;
        push_server(&mut out, via, false, Ok(&sqlite), bare.rate, total);
        // A failed PostgreSQL phase leaves the SQLite figures standing.
        let pg = match &cluster {
            None => Err(pg::NOT_MEASURED.to_owned()),
            Some(c) => phases.server(via, Some(c)).await.map_err(|e| {
                eprintln!("bench: ingest on PostgreSQL {}: {e}", via.how());
                format!("not measured: {e}")
            }),
        };
        let pg = pg.as_ref().map_err(String::as_str);
        push_server(&mut out, via, true, pg, bare.rate, total);
    }
    Ok(out)
}

/// Where the agents connect.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Via {
    Mosquitto,
    Embedded,
}

impl Via {
    fn how(self) -> &'static str {
        match self {
            Via::Mosquitto => "with Mosquitto",
            Via::Embedded => "embedded broker",
        }
    }
}

/// What every server phase of one run shares.
struct Phases<'a> {
    ctx: &'a Ctx,
    dir: &'a Path,
    run: usize,
    agents: &'a [AgentIds],
    total: u64,
}

impl Phases<'_> {
    /// The fleet into a server reached `via`, on a SQLite file or, given a
    /// cluster, on a fresh PostgreSQL database dropped afterwards.
    async fn server(&self, via: Via, cluster: Option<&Cluster>) -> Result<Phase, BenchError> {
        let name = match (via, cluster) {
            (Via::Mosquitto, None) => "mosquitto",
            (Via::Embedded, None) => "embedded",
            (Via::Mosquitto, Some(_)) => "mosquitto_pg",
            (Via::Embedded, Some(_)) => "embedded_pg",
        };
        let dir = phase_dir(self.dir, name)?;
        let db = match cluster {
            Some(c) => Some(c.create(&format!(
                "ronda_bench_{}_{}_{name}",
                std::process::id(),
                self.run
            ))?),
            None => None,
        };
        let mosquitto = match via {
            Via::Mosquitto => Some(Mosquitto::start(&dir, self.agents).await?),
            Via::Embedded => None,
        };
        let offices: Vec<String> = self.agents.iter().map(|a| a.office.to_string()).collect();
        let setup = Setup {
            offices: &offices,
            broker: match &mosquitto {
                Some(m) => Broker::External {
                    url: m.url.clone(),
                    password: m.server_password.clone(),
                },
                None => Broker::Embedded,
            },
            agents: if mosquitto.is_some() {
                &[]
            } else {
                self.agents
            },
            smtp: None,
            letter: None,
            telegram: None,
            webhook: None,
        };
        let server = match &db {
            None => Server::start(self.ctx, &dir, setup).await?,
            Some(db) => Server::start_on(self.ctx, &dir, setup, db.location(), &db.yaml()).await?,
        };
        let spec = match &mosquitto {
            Some(m) => Spec {
                credentials: Some(m.credentials.clone()),
                ..spec(self.ctx, m.url.clone())
            },
            None => Spec {
                credentials: Some(server.credentials.clone()),
                ..spec(self.ctx, server.agents_url.clone())
            },
        };
        let phase =
            through_server(&server, mosquitto.as_ref(), db.as_ref(), spec, self.total).await;
        server.proc.stop().await;
        if let Some(mut m) = mosquitto {
            m.broker.kill();
        }
        phase
    }
}

fn phase_dir(dir: &Path, name: &str) -> Result<std::path::PathBuf, BenchError> {
    let dir = dir.join(name);
    std::fs::create_dir_all(&dir).map_err(|e| BenchError::io(&dir, e))?;
    Ok(dir)
}

/// The rows of one server phase, on SQLite or (`pg`) on PostgreSQL; when
/// the phase could not run, the same rows saying why.
fn push_server(
    out: &mut Vec<Sample>,
    via: Via,
    pg: bool,
    phase: Result<&Phase, &str>,
    bare_rate: f64,
    total: u64,
) {
    let who = if pg {
        "ronda-server on PostgreSQL"
    } else {
        "ronda-server"
    };
    let how = via.how();
    let empty = Phase::default();
    let p = phase.unwrap_or(&empty);
    let mut rows = vec![
        (format!("{who}, {how}"), "reports/s", p.rate),
        (
            format!("{who}, {how}: reports lost"),
            "reports",
            total.saturating_sub(p.count) as f64,
        ),
        (
            format!("{who}, {how}: reports resent"),
            "reports",
            p.resent as f64,
        ),
        (
            format!("{who}, {how}: fleet connections lost"),
            "connections",
            p.errors as f64,
        ),
        (format!("{who}, {how}: server CPU"), "cores", p.cpu.server),
    ];
    if pg {
        rows.push((format!("{who}, {how}: PostgreSQL CPU"), "cores", p.cpu.pg));
    }
    if via == Via::Mosquitto {
        rows.push((
            format!("{who}, {how}: Mosquitto CPU"),
            "cores",
            p.cpu.broker,
        ));
    }
    rows.extend([
        (format!("{who}, {how}: fleet CPU"), "cores", p.cpu.fleet),
        (
            format!("{who}, {how}: send to receive p50"),
            "ms",
            p.latency_p50,
        ),
        (
            format!("{who}, {how}: send to receive p99"),
            "ms",
            p.latency_p99,
        ),
        (
            format!("{who} {how} / Mosquitto alone"),
            "ratio",
            p.rate / bare_rate,
        ),
    ]);
    for (metric, unit, value) in rows {
        out.push(match phase {
            Ok(_) => Sample::new(SCENARIO, metric, unit, value),
            Err(why) => Sample::missing(SCENARIO, metric, unit, why),
        });
    }
}
