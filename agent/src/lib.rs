//! Ronda's office agent: probes the host and the office's devices and reports
//! them over MQTT to the central server.
//!
//! `main` is a thin shell over [`run`], which tests call directly. Config
//! loading and the MQTT connection are in `ronda-common`, shared with the
//! server.

pub mod command;
pub mod config;
pub mod delivery;
pub mod devconf;
pub mod devices;
#[cfg(feature = "doctor")]
pub mod doctor;
pub mod doors;
pub mod enroll;
pub mod fixture;
pub mod host;
pub mod http;
pub mod outbox;
pub mod pause;
pub mod plugs;
pub mod probe;
pub mod recorders;
pub mod services;
mod session;
pub mod source;
pub mod view;
pub mod xml;

use std::time::Duration;

use jiff::Timestamp;
use ronda_common::link;
use ronda_wire::{Command, CommandResult, Kind, Report, Topic, SCHEMA_VERSION};
use rumqttc::{AsyncClient, LastWill, QoS};
use tokio_util::sync::CancellationToken;

pub use config::AgentConfig;
use delivery::{Courier, ReportSink};
use outbox::{Outbox, OutboxError, Sync};
use session::Inbound;
pub use source::{DeviceSet, Probes, Sections, SetupError, Source};

/// Largest MQTT packet the agent sends or accepts.
const MAX_PACKET: usize = 1 << 20;
/// Requests rumqttc may hold while the broker is away. Bounded on purpose:
/// rumqttc's own queue would grow without limit.
const REQUEST_CAPACITY: usize = 64;
/// How long a clean shutdown may take to say `offline` before giving up.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error(transparent)]
    Link(#[from] link::LinkError),
    #[error("cannot read this host: {0}")]
    Host(#[from] sysinfo::Error),
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error(transparent)]
    Doors(#[from] doors::DoorsError),
}

/// Client id on the office broker, distinct from the central connection's.
fn office_client_id(config: &AgentConfig) -> String {
    format!("ronda-{}-{}-office", config.office, config.agent)
}

/// The real probes for `config`: this host and the configured devices.
pub fn probes(config: &AgentConfig, shutdown: &CancellationToken) -> Result<Probes, AgentError> {
    let devices = DeviceSet::build(&config.devices, &office_client_id(config), shutdown)?;
    Ok(Probes::new(host::HostProbe::new()?, devices))
}

/// Run the agent with its real probes until `shutdown` fires.
pub async fn run(config: AgentConfig, shutdown: CancellationToken) -> Result<(), AgentError> {
    // A damaged outbox is recovered, and logged, inside `open`.
    let (outbox, _) = Outbox::open(&config.state_dir, config.outbox, Sync::Full)?;
    let probes = probes(&config, &shutdown)?;
    run_with(config, probes, outbox, shutdown).await
}

/// One round of probes as a report, for `ronda-agent probe`. No broker needed.
pub async fn probe_once(config: &AgentConfig) -> Result<Report, AgentError> {
    let stop = CancellationToken::new();
    let _stop_on_return = stop.clone().drop_guard();
    let mut probes = probes(config, &stop)?;
    probes.settle().await;
    let sections = probes.collect().await;
    Ok(report(config, sections))
}

async fn next_batch(doors: &mut Option<doors::Doors>) -> Option<doors::Batch> {
    match doors {
        Some(d) => d.batches.recv().await,
        None => std::future::pending().await,
    }
}

/// Keep a device's events in the outbox (sending them at once when
/// connected) and tell the adapter whether they are on disk.
fn keep_batch<T: ReportSink>(
    config: &AgentConfig,
    courier: &mut Courier<T>,
    batch: doors::Batch,
) -> Result<(), OutboxError> {
    let events = ronda_wire::Events {
        schema: SCHEMA_VERSION,
        office: config.office.clone(),
        agent: config.agent.clone(),
        seq: 0,
        observed_at: Timestamp::now(),
        doors: batch.events,
        delivery: None,
    };
    let cursor = batch.cursor.as_deref().map(|c| (batch.device.as_str(), c));
    let result = courier.store_events(events, cursor);
    let _ = batch.kept.send(result.is_ok());
    result
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

/// A report without its seq: the outbox gives that when it keeps it.
pub fn report(config: &AgentConfig, s: Sections) -> Report {
    Report {
        schema: SCHEMA_VERSION,
        office: config.office.clone(),
        agent: config.agent.clone(),
        seq: 0,
        observed_at: Timestamp::now(),
        host: s.host,
        recorders: s.recorders,
        plugs: s.plugs,
        services: s.services,
        access: Vec::new(),
        delivery: None,
    }
}

/// Reports and events go out as QoS 1 publishes through the shared client.
struct Mqtt {
    client: AsyncClient,
    report_topic: String,
    event_topic: String,
}

impl ReportSink for Mqtt {
    fn send(&mut self, seq: u64, kind: Kind, payload: Vec<u8>) -> bool {
        let topic = match kind {
            Kind::Event => &self.event_topic,
            _ => &self.report_topic,
        };
        match self
            .client
            .try_publish(topic, QoS::AtLeastOnce, false, payload)
        {
            Ok(()) => true,
            Err(e) => {
                // Still in the outbox: it goes again later.
                tracing::debug!(seq, error = %e, "report not queued now");
                false
            }
        }
    }
}

/// Carry out a command in its own task (switching a plug takes seconds and
/// must not hold up the reports), then publish the result.
fn on_command(
    payload: &[u8],
    devices: Option<std::sync::Arc<DeviceSet>>,
    client: AsyncClient,
    topic: String,
) {
    let cmd = match Command::decode(payload) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "command refused: not a valid command");
            // Answer when the id can be read, so the server is not left waiting.
            let id = serde_json::from_slice::<serde_json::Value>(payload)
                .ok()
                .and_then(|v| v.get("id")?.as_str().map(str::to_owned));
            if let Some(id) = id {
                send_result(
                    &client,
                    &topic,
                    &CommandResult::refused(&id, format!("not a valid command: {e}")),
                );
            }
            return;
        }
    };
    tokio::spawn(async move {
        let result = match devices {
            Some(d) => command::handle(&d, cmd).await,
            None => CommandResult::refused(&cmd.id, "this agent has no devices to command"),
        };
        send_result(&client, &topic, &result);
    });
}

fn send_result(client: &AsyncClient, topic: &str, result: &CommandResult) {
    match serde_json::to_vec(result) {
        Ok(body) => {
            if let Err(e) = client.try_publish(topic, QoS::AtLeastOnce, false, body) {
                tracing::warn!(error = %e, "command result dropped");
            }
        }
        Err(e) => tracing::error!(error = %e, "command result cannot be encoded"),
    }
}

/// Run with any source of readings and any outbox: the seam that the demo's
/// simulated offices and the tests use.
pub async fn run_with(
    config: AgentConfig,
    mut source: impl Source,
    outbox: Outbox,
    shutdown: CancellationToken,
) -> Result<(), AgentError> {
    let topic = |kind| Topic::new(config.office.clone(), config.agent.clone(), kind).to_string();
    let (state_topic, report_topic) = (topic(Kind::State), topic(Kind::Report));
    let result_topic = topic(Kind::CmdResult);
    let (inbound_tx, mut inbound) = tokio::sync::mpsc::channel(64);
    let will = LastWill::new(&state_topic, "offline", QoS::AtLeastOnce, true);
    let client_id = format!("ronda-{}-{}", config.office, config.agent);
    let options = link::options(&client_id, &config.broker, Some(will), MAX_PACKET)?;
    let (client, eventloop) = link::connect(options, REQUEST_CAPACITY);
    let session_stop = CancellationToken::new();
    let topics = session::Topics {
        state: state_topic.clone(),
        cmd: topic(Kind::Cmd),
        ack: topic(Kind::Ack),
    };
    let mut session = tokio::spawn(session::drive(
        eventloop,
        client.clone(),
        topics,
        inbound_tx,
        session_stop.clone(),
    ));
    tracing::info!(office = %config.office, agent = %config.agent, broker = %config.broker.url, "agent started");

    let first = config.startup_jitter.mul_f64(fastrand::f64());
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + first, config.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut doors = doors::start(
        &config.access,
        config.access_listen,
        outbox.cursors()?,
        &shutdown,
    )
    .await?;
    let mqtt = Mqtt {
        client: client.clone(),
        report_topic,
        event_topic: topic(Kind::Event),
    };
    let mut courier = Courier::new(outbox, mqtt, config.pace);
    loop {
        let wake = courier.wake_at();
        let step = tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = ticks.tick() => {
                let mut r = report(&config, source.collect().await);
                if let Some(d) = &doors {
                    r.access = d.board.snapshot();
                }
                courier.store(r).map(drop)
            }
            Some(batch) = next_batch(&mut doors) => keep_batch(&config, &mut courier, batch),
            Some(msg) = inbound.recv() => match msg {
                Inbound::Up => courier.connected(),
                Inbound::Down => {
                    courier.disconnected();
                    Ok(())
                }
                Inbound::Ack(through) => courier.acknowledged(through),
                Inbound::Command(payload) => {
                    on_command(&payload, source.devices(), client.clone(), result_topic.clone());
                    Ok(())
                }
            },
            _ = sleep_until(wake), if wake.is_some() => courier.work(tokio::time::Instant::now()),
        };
        // A disk that refuses a write must not stop the probes: the report
        // of the next round may well be kept.
        if let Err(e) = step {
            tracing::error!(error = %e, "outbox");
        }
    }

    // Say goodbye: retained `offline` first, then a clean DISCONNECT so the
    // broker does not also fire the Last Will.
    let _ = client.try_publish(&state_topic, QoS::AtLeastOnce, true, "offline");
    let _ = client.try_disconnect();
    session_stop.cancel();
    if tokio::time::timeout(GOODBYE_TIMEOUT, &mut session)
        .await
        .is_err()
    {
        tracing::warn!("broker did not take the goodbye in time");
        session.abort();
    }
    tracing::info!("agent stopped");
    Ok(())
}
