//! Scenario 6, dashboard: the region overview page with 1,000 offices that
//! have reported (some out of line), timed over 200 requests one after the
//! other, as the browser of a head of region would load it.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::results::{percentile, Sample};
use super::server::{Broker, Server, Setup};
use super::{BenchError, Ctx};
use crate::fleet::{self, Fleet, Spec};

pub const SCENARIO: &str = "6. Dashboard";

/// Which resource limits this scenario and what would raise it.
pub const LIMIT: &str = "Limit: rendering one large page. The overview of 1,000 offices is one HTML page (size in the table) rendered from the engine's in-memory views; no database query is on the path. What would lower it: paging or grouping the overview by district for regions with thousands of offices.";

const REQUESTS: usize = 200;

pub async fn run(ctx: &Ctx, run: usize) -> Result<Vec<Sample>, BenchError> {
    let dir = ctx.run_dir("overview", run)?;
    let mut spec = Spec {
        broker: ronda_common::link::BrokerUrl {
            host: "127.0.0.1".into(),
            port: 1,
            tls: false,
        },
        offices: 1000,
        agents_per_office: 1,
        devices: 10,
        interval: Duration::ZERO,
        reports: Some(2),
        keepalive: Duration::from_secs(30),
        connect_per_s: 2000,
        office_prefix: "v".into(),
        faults: fleet::Faults {
            plugs_on: 0.1,
            not_recording: 0.05,
            ..fleet::Faults::default()
        },
        window: None,
        credentials: None,
    };
    let agents = fleet::agents(&spec);
    let offices: Vec<String> = agents.iter().map(|a| a.office.to_string()).collect();
    let server = Server::start(
        ctx,
        &dir,
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
    spec.broker = server.agents_url.clone();
    spec.credentials = Some(server.credentials.clone());
    let total = (agents.len() * 2) as u64;
    let stop = CancellationToken::new();
    let fleet = Fleet::start(spec, stop.clone());
    let started = Instant::now();
    while (server.metric("ronda_reports_stored_total").await? as u64) < total {
        if started.elapsed() > Duration::from_secs(60) {
            return Err(BenchError::Scenario(
                "the 1,000 offices' reports were not all stored within 60 s".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Let the policy engine take in the last reports.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut ms = Vec::with_capacity(REQUESTS);
    let mut bytes = 0;
    for _ in 0..REQUESTS {
        let (status, took, size) = server.get_sized("/").await?;
        if status != 200 {
            return Err(BenchError::Scenario(format!("GET / answered {status}")));
        }
        bytes = size;
        ms.push(took.as_secs_f64() * 1000.0);
    }
    stop.cancel();
    fleet.join().await;
    server.proc.stop().await;
    ms.sort_by(f64::total_cmp);
    Ok(vec![
        Sample::new(
            SCENARIO,
            "region overview, 1,000 offices: p50",
            "ms",
            percentile(&ms, 0.5),
        ),
        Sample::new(
            SCENARIO,
            "region overview, 1,000 offices: p99",
            "ms",
            percentile(&ms, 0.99),
        ),
        Sample::new(
            SCENARIO,
            "region overview, 1,000 offices: page size",
            "KB",
            bytes as f64 / 1e3,
        ),
    ])
}
