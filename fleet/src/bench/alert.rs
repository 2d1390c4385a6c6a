//! Scenario 4, alert latency: from a violation's grace time running out to
//! the SMTP server's 250, over 1,000 alerts. 1,000 offices each report a
//! dispenser left on, 100 a second, through MQTT to a real server process;
//! the item's grace is 2 s and the letter groups nothing (`group_wait: 0s`).
//! Grace expiry comes from the server's database (the alert's start plus the
//! grace), the 250 from the SMTP server, matched by Message-ID.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use super::results::{percentile, Sample};
use super::server::{Broker, Server, Setup};
// The same real SMTP server that the mail tests use.
use super::{BenchError, Ctx};
use crate::fleet::{self, Fleet, Spec};
use ronda_server::store::Location;
use ronda_testkit::Smtp;

pub const SCENARIO: &str = "4. Alert latency";

/// Which resource limits this scenario and what would raise it.
pub const LIMIT: &str = "Limit: none reached at 100 alerts a second. The engine acts on a grace time at the moment it runs out (not at the next one-second tick), and the mailer hands each message to SMTP as soon as the alert's change is committed, so the latency is the commit and one SMTP exchange on loopback.";

const GRACE_S: i64 = 2;

fn letter() -> String {
    format!(
        "letter: {{id: bench, number: '1', title: Bench, issuer: Bench, issued: 2018-06-08}}\n\
         timezone: Asia/Jakarta\nwindow: always\noffices: all\n\
         keep_on: [server, network, cctv-recorder, cctv-monitor]\n\
         checklist:\n  - id: off\n    text: {{id: Listrik diputus, en: Power cut}}\n    check: {{kind: power.off}}\n    for: {GRACE_S}s\n    severity: critical\n\
         notify:\n  critical: [it]\n  group_wait: 0s\n"
    )
}

pub async fn run(ctx: &Ctx, run: usize) -> Result<Vec<Sample>, BenchError> {
    let dir = ctx.run_dir("alert", run)?;
    let offices = if ctx.quick { 200 } else { 1000 };
    let mut spec = Spec {
        broker: ronda_common::link::BrokerUrl {
            host: "127.0.0.1".into(),
            port: 1,
            tls: false,
        },
        offices,
        agents_per_office: 1,
        devices: 10,
        interval: Duration::ZERO,
        reports: Some(1),
        keepalive: Duration::from_secs(30),
        connect_per_s: 100,
        office_prefix: "a".into(),
        faults: fleet::Faults {
            plugs_on: 1.0,
            ..fleet::Faults::default()
        },
        window: None,
        credentials: None,
    };
    let agents = fleet::agents(&spec);
    let ids: Vec<String> = agents.iter().map(|a| a.office.to_string()).collect();
    let smtp = Smtp::start();
    let setup = Setup {
        offices: &ids,
        broker: Broker::Embedded,
        agents: &agents,
        smtp: Some(smtp.addr),
        letter: Some(letter()),
    };
    let server = Server::start(ctx, &dir, setup).await?;
    spec.broker = server.agents_url.clone();
    spec.credentials = Some(server.credentials.clone());
    let stop = CancellationToken::new();
    let fleet = Fleet::start(spec, stop.clone());
    let deadline = Instant::now() + Duration::from_secs(offices as u64 / 100 + 60);
    while smtp.received().len() < offices && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.cancel();
    fleet.join().await;
    server.proc.stop().await;
    let got = smtp.received();
    let expiry = expiries(&server.db)?;
    let mut ms: Vec<f64> = got
        .iter()
        .filter_map(|m| {
            let expired = expiry.get(&m.header("Message-ID")?)?;
            Some(m.at?.duration_since(*expired).as_secs_f64() * 1000.0)
        })
        .collect();
    if ms.len() < offices {
        eprintln!(
            "bench: {} of {offices} alerts mailed and matched to their grace expiry",
            ms.len()
        );
    }
    ms.sort_by(f64::total_cmp);
    Ok(vec![
        Sample::new(SCENARIO, "alerts mailed", "alerts", ms.len() as f64),
        Sample::new(
            SCENARIO,
            "grace expiry to SMTP 250, p50",
            "ms",
            percentile(&ms, 0.5),
        ),
        Sample::new(
            SCENARIO,
            "grace expiry to SMTP 250, p99",
            "ms",
            percentile(&ms, 0.99),
        ),
        Sample::new(
            SCENARIO,
            "grace expiry to SMTP 250, max",
            "ms",
            percentile(&ms, 1.0),
        ),
    ])
}

/// Grace expiry of each alert, by the Message-ID of the message it went in.
fn expiries(db: &Location) -> Result<HashMap<String, Timestamp>, BenchError> {
    let fail = |e: String| BenchError::Scenario(format!("{db}: {e}"));
    let conn = db.open_read_only().map_err(|e| fail(e.to_string()))?;
    let rows = conn
        .query_rows(
            "SELECT o.message_id, a.started_ms FROM outbox o JOIN alerts a ON o.alert_ids = '[' || a.id || ']'",
            [],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? + GRACE_S * 1000)),
        )
        .map_err(|e| fail(e.to_string()))?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, ms)| Some((id, Timestamp::from_millisecond(ms).ok()?)))
        .collect())
}
