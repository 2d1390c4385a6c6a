//! `ronda-server bench`: reports per second that this machine ingests,
//! validates and commits, through a real broker and a real SQLite file.
//!
//! A quick local figure, not the full benchmark suite: simulated agents
//! publish as fast as the broker takes QoS 1 messages, and the clock stops
//! when the last report is committed.

use std::time::{Duration, Instant};

use ronda_agent::link;
use ronda_agent::Source;
use ronda_wire::{Id, Kind, Report, Topic, SCHEMA_VERSION};
use rumqttc::QoS;
use tokio_util::sync::CancellationToken;

use crate::sim::SimOffice;
use crate::{start, BrokerChoice, ServerConfig, ServerError};

pub struct BenchOptions {
    pub agents: usize,
    pub reports_per_agent: u64,
    /// The embedded broker's segment count: its memory for a backlog.
    pub segments: usize,
}

#[derive(Debug)]
pub struct BenchResult {
    pub reports: u64,
    pub bytes_per_report: usize,
    pub elapsed: Duration,
    pub stored: u64,
}

impl BenchResult {
    pub fn per_second(&self) -> f64 {
        self.stored as f64 / self.elapsed.as_secs_f64()
    }
}

/// Give up when nothing new was committed for this long.
const STALL: Duration = Duration::from_secs(15);

pub async fn run(opts: BenchOptions) -> Result<BenchResult, ServerError> {
    let dir = tempfile::tempdir().map_err(ServerError::TempDir)?;
    let shutdown = CancellationToken::new();
    let db = dir.path().join("bench.db");
    let mut config = ServerConfig::local(db.clone());
    if let BrokerChoice::Embedded(e) = &mut config.broker {
        e.segments = opts.segments;
    }
    let server = start(config, shutdown.clone()).await?;
    server.ready().await;
    let body = sample_report().await;
    let total = opts.agents as u64 * opts.reports_per_agent;
    eprintln!(
        "bench: {} agents x {} reports of {} bytes",
        opts.agents,
        opts.reports_per_agent,
        body.len()
    );

    let started = Instant::now();
    let mut publishers = Vec::new();
    for n in 0..opts.agents {
        let mut broker = crate::broker_config_for(&server.broker_url);
        let (office, agent) = bench_ids(n)?;
        crate::users::mqtt::provision(&db, &mut broker, &office, &agent)
            .map_err(|e| ServerError::Demo(format!("bench credentials: {e}")))?;
        let body = body.clone();
        let count = opts.reports_per_agent;
        publishers.push(tokio::spawn(async move {
            publish(office, agent, broker, body, count).await
        }));
    }
    let stored = wait_for_commits(&server.metrics, total).await;
    let elapsed = started.elapsed();
    for p in publishers {
        p.abort();
    }
    shutdown.cancel();
    server.wait().await;
    Ok(BenchResult {
        reports: total,
        bytes_per_report: body.len(),
        elapsed,
        stored,
    })
}

async fn wait_for_commits(metrics: &crate::metrics::Metrics, total: u64) -> u64 {
    let mut last = (0, Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let stored = metrics.stored.get();
        if stored >= total {
            return stored;
        }
        if stored != last.0 {
            if stored / 50_000 != last.0 / 50_000 {
                eprintln!("bench: {stored} of {total} stored");
            }
            last = (stored, Instant::now());
        } else if last.1.elapsed() > STALL {
            eprintln!("bench: stalled at {stored} of {total}; the rest were lost on the way");
            return stored;
        }
    }
}

fn bench_ids(n: usize) -> Result<(Id, Id), ServerError> {
    match (Id::new(format!("bench-{n}")), Id::new("gw")) {
        (Ok(o), Ok(a)) => Ok((o, a)),
        _ => Err(ServerError::Demo(format!("bench-{n} is not an id"))),
    }
}

/// One simulated agent publishing `count` reports back to back.
async fn publish(office: Id, agent: Id, broker: link::BrokerConfig, template: String, count: u64) {
    let Ok(options) = link::options(&format!("{office}-{agent}"), &broker, None, 1 << 20) else {
        return;
    };
    let (client, mut eventloop) = link::connect(options, 100);
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    let topic = Topic::new(office.clone(), agent, Kind::Report).to_string();
    let template = template.replace("\"office\":\"dinkes\"", &format!("\"office\":\"{office}\""));
    for seq in 1..=count {
        let body = template.replacen("\"seq\":0", &format!("\"seq\":{seq}"), 1);
        if client
            .publish(&topic, QoS::AtLeastOnce, false, body)
            .await
            .is_err()
        {
            return;
        }
    }
}

/// A realistic report: a simulated office's full snapshot.
async fn sample_report() -> String {
    let sections = SimOffice::new("dinkes").collect().await;
    let (Ok(office), Ok(agent)) = (Id::new("dinkes"), Id::new("gw")) else {
        return String::new();
    };
    let _ = Topic::new(office.clone(), agent.clone(), Kind::Report);
    let report = Report {
        schema: SCHEMA_VERSION,
        office,
        agent,
        seq: 0,
        observed_at: jiff::Timestamp::now(),
        host: sections.host,
        recorders: sections.recorders,
        plugs: sections.plugs,
        services: sections.services,
        delivery: None,
    };
    serde_json::to_string(&report).unwrap_or_default()
}
