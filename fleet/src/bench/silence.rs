//! Scenario 5, silence detection: agents hang without a clean disconnect
//! (socket open, nothing sent, not even a ping). The time from each one's
//! last packet to the server marking it offline, as a multiple of the
//! keepalive, with the embedded broker and with Mosquitto.

use std::time::Duration;

use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use super::mosquitto::Mosquitto;
use super::results::{percentile, Sample};
use super::server::{Broker, Server, Setup};
use super::{BenchError, Ctx};
use crate::fleet::{self, Fleet, Spec};

pub const SCENARIO: &str = "5. Silence detection";

/// Which resource limits this scenario and what would raise it.
pub const LIMIT: &str = "Limit: the broker's keepalive timer. MQTT lets a broker wait 1.5 × keepalive before it gives up on a silent client and publishes its Will; the embedded broker (rumqttd) does so on time, and the Will reaches the server within milliseconds. Mosquitto 2.0 checks keepalives only every few seconds, so its figure is later by up to that period. What would lower it for Mosquitto: a shorter keepalive on the agents.";

const KEEPALIVE: Duration = Duration::from_secs(10);

fn spec(ctx: &Ctx, broker: ronda_common::link::BrokerUrl) -> Spec {
    let agents = if ctx.quick { 20 } else { 100 };
    Spec {
        broker,
        offices: agents,
        agents_per_office: 1,
        devices: 10,
        interval: Duration::from_secs(5),
        reports: None,
        keepalive: KEEPALIVE,
        connect_per_s: 200,
        office_prefix: "s".into(),
        faults: fleet::Faults {
            silent: agents,
            // Spread over more than a keepalive, so that the agents fall
            // silent at every point of their ping cycle.
            silent_after: Duration::from_secs(12),
            ..fleet::Faults::default()
        },
        window: None,
        credentials: None,
    }
}

pub async fn run(ctx: &Ctx, run: usize) -> Result<Vec<Sample>, BenchError> {
    let dir = ctx.run_dir("silence", run)?;
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
    let mut out = Vec::new();

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
    let s = Spec {
        credentials: Some(server.credentials.clone()),
        ..spec(ctx, server.agents_url.clone())
    };
    let multiples = measure(&server, s).await?;
    server.proc.stop().await;
    push(&mut out, "embedded broker", &multiples, agents.len());

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
    let s = Spec {
        credentials: Some(mosquitto.credentials.clone()),
        ..spec(ctx, mosquitto.url.clone())
    };
    let multiples = measure(&server, s).await?;
    server.proc.stop().await;
    mosquitto.broker.kill();
    push(&mut out, "Mosquitto", &multiples, agents.len());
    Ok(out)
}

fn push(out: &mut Vec<Sample>, how: &str, m: &[f64], agents: usize) {
    out.push(Sample::new(
        SCENARIO,
        format!("{how}: agents marked offline"),
        "agents",
        m.len() as f64,
    ));
    out.push(Sample::new(
        SCENARIO,
        format!("{how}: agents never marked offline"),
        "agents",
        agents.saturating_sub(m.len()) as f64,
    ));
    out.push(Sample::new(
        SCENARIO,
        format!("{how}: last packet to offline, p50"),
        "× keepalive",
        percentile(m, 0.5),
    ));
    out.push(Sample::new(
        SCENARIO,
        format!("{how}: last packet to offline, max"),
        "× keepalive",
        percentile(m, 1.0),
    ));
    // MQTT lets a broker wait 1.5 × keepalive before it gives up on a client,
    // so no broker does better; what is past that is the broker's own timer
    // and the Will's trip to the server.
    let excess = (percentile(m, 1.0) - 1.5) * KEEPALIVE.as_secs_f64() * 1000.0;
    out.push(Sample::new(
        SCENARIO,
        format!("{how}: time past 1.5 × keepalive, max"),
        "ms",
        excess,
    ));
}

/// Each silenced agent's (offline time − last packet) / keepalive, sorted.
async fn measure(server: &Server, spec: Spec) -> Result<Vec<f64>, BenchError> {
    let n = spec.faults.silent;
    let stop = CancellationToken::new();
    let wait = spec.faults.silent_after + KEEPALIVE * 3 + Duration::from_secs(10);
    let fleet = Fleet::start(spec, stop.clone());
    eprintln!(
        "bench: {n} agents go silent after 12 s; waiting {} s for the server to notice",
        wait.as_secs()
    );
    tokio::time::sleep(wait).await;
    let rows = server.get_json("/api/v1/agents").await?;
    let silenced = fleet
        .stats
        .silenced
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    stop.cancel();
    fleet.join().await;
    let mut multiples = Vec::new();
    for (ids, last_out) in silenced {
        let row = rows.as_array().and_then(|rows| {
            rows.iter()
                .find(|r| r["office"] == ids.office.as_str() && r["agent"] == ids.agent.as_str())
        });
        let Some(row) = row else { continue };
        if row["online"] != false {
            continue;
        }
        let Some(since) = row["online_since"]
            .as_str()
            .and_then(|t| t.parse::<Timestamp>().ok())
        else {
            continue;
        };
        let seconds = since.duration_since(last_out).as_secs_f64();
        multiples.push(seconds / KEEPALIVE.as_secs_f64());
    }
    multiples.sort_by(f64::total_cmp);
    Ok(multiples)
}
