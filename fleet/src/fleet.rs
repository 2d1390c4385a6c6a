//! The load generator: N offices × M agents, each a real MQTT client with
//! its own credential, Last Will and report template, publishing at a set
//! interval (or as fast as the broker takes them), with the faults asked for.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use ronda_common::conf::Secret;
use ronda_common::link::{self, BrokerConfig, BrokerUrl};
use ronda_wire::{Id, Kind, Topic};
use rumqttc::{Event, LastWill, Packet, QoS};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::report::{AgentFaults, Template};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Spec {
    pub broker: BrokerUrl,
    pub offices: usize,
    pub agents_per_office: usize,
    /// Devices behind each agent.
    pub devices: usize,
    /// Time between one agent's reports; zero sends them back to back, as
    /// fast as the broker acknowledges (at most 100 in flight per agent).
    pub interval: Duration,
    /// Reports per agent; `None` keeps going until stopped.
    pub reports: Option<u64>,
    pub keepalive: Duration,
    /// New connections per second, so that the fleet does not open every
    /// socket in the same instant (a real fleet's restarts are spread too).
    pub connect_per_s: u32,
    /// Office ids are this prefix and a number: `o00001`.
    pub office_prefix: String,
    pub faults: Faults,
    /// Reports an agent may have out before the server acknowledges them
    /// (`ronda/v1/{office}/{agent}/ack`, sent once committed), as the real
    /// agent's courier does. `None` waits only for the broker's PUBACK,
    /// which is all a plain subscriber can give.
    pub window: Option<u64>,
    /// username → password, when the broker wants credentials.
    pub credentials: Option<Arc<HashMap<String, String>>>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// This many agents (the first ones) go silent after `silent_after`:
    /// the process hangs, its socket stays open and nothing more is sent,
    /// not even a ping, so only the broker's keepalive notices.
    pub silent: usize,
    pub silent_after: Duration,
    /// Share of agents (0–1) reporting a dispenser plug switched on.
    pub plugs_on: f64,
    /// Share of agents (0–1) whose front-road camera is not recording.
    pub not_recording: f64,
}

/// One simulated agent's ids.
#[derive(Debug, Clone)]
pub struct AgentIds {
    pub office: Id,
    pub agent: Id,
}

impl AgentIds {
    pub fn username(&self) -> String {
        format!("{}/{}", self.office, self.agent)
    }
}

/// Every agent of a spec, in the order they connect.
pub fn agents(spec: &Spec) -> Vec<AgentIds> {
    let mut out = Vec::with_capacity(spec.offices * spec.agents_per_office);
    for o in 0..spec.offices {
        for a in 0..spec.agents_per_office {
            let agent = if spec.agents_per_office == 1 {
                "gw".to_owned()
            } else {
                format!("gw-{a}")
            };
            if let (Ok(office), Ok(agent)) = (Id::new(office_id(spec, o)), Id::new(agent)) {
                out.push(AgentIds { office, agent });
            }
        }
    }
    out
}

pub fn office_id(spec: &Spec, n: usize) -> String {
    format!("{}{n:05}", spec.office_prefix)
}

/// Live counters, read by the bench and the progress line.
#[derive(Debug, Default)]
pub struct Stats {
    /// Agents whose first CONNACK arrived.
    pub connected: AtomicU64,
    /// Reports handed to the MQTT client.
    pub published: AtomicU64,
    /// PUBACKs received for reports and states.
    pub acked: AtomicU64,
    /// Connections lost or refused.
    pub errors: AtomicU64,
    /// Reports sent again because the server's acknowledgement did not come.
    pub resent: AtomicU64,
    /// Agents that went silent, with the time they last sent anything.
    pub silenced: Mutex<Vec<(AgentIds, Timestamp)>>,
}

/// A running fleet.
pub struct Fleet {
    pub stats: Arc<Stats>,
    pub agents: Vec<AgentIds>,
    tasks: JoinSet<()>,
}

impl Fleet {
    pub fn start(spec: Spec, stop: CancellationToken) -> Fleet {
        let stats = Arc::new(Stats::default());
        let spec = Arc::new(spec);
        let agents = agents(&spec);
        let mut tasks = JoinSet::new();
        for (n, ids) in agents.iter().enumerate() {
            let plan = Plan {
                delay: Duration::from_secs_f64(n as f64 / f64::from(spec.connect_per_s.max(1))),
                silent: n < spec.faults.silent,
                faults: AgentFaults {
                    plug_on: picked(n, spec.faults.plugs_on),
                    not_recording: picked(n + 7, spec.faults.not_recording),
                },
            };
            tasks.spawn(agent(
                ids.clone(),
                plan,
                spec.clone(),
                stats.clone(),
                stop.clone(),
            ));
        }
        Fleet {
            stats,
            agents,
            tasks,
        }
    }

    /// Wait until every agent has stopped (after the stop token, or after
    /// sending all its reports).
    pub async fn join(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Spread a share evenly over agent numbers: deterministic, so runs compare.
fn picked(n: usize, share: f64) -> bool {
    let share = share.clamp(0.0, 1.0);
    ((n + 1) as f64 * share).floor() > (n as f64 * share).floor()
}

struct Plan {
    delay: Duration,
    silent: bool,
    faults: AgentFaults,
}

async fn agent(
    ids: AgentIds,
    plan: Plan,
    spec: Arc<Spec>,
    stats: Arc<Stats>,
    stop: CancellationToken,
) {
    tokio::select! {
        _ = stop.cancelled() => return,
        _ = tokio::time::sleep(plan.delay) => {}
    }
    let state = Topic::new(ids.office.clone(), ids.agent.clone(), Kind::State).to_string();
    let will = LastWill::new(&state, "offline", QoS::AtLeastOnce, true);
    let username = ids.username();
    let password = spec
        .credentials
        .as_ref()
        .and_then(|c| c.get(&username))
        .map(|p| ronda_common::conf::LazySecret::from(Secret::new(p.clone())));
    let broker = BrokerConfig {
        url: spec.broker.clone(),
        username: password.as_ref().map(|_| username.clone()),
        password,
        ca_file: None,
        keepalive: spec.keepalive,
    };
    let client_id = format!("{}-{}", ids.office, ids.agent);
    let Ok(options) = link::options(&client_id, &broker, Some(will), 1 << 20) else {
        stats.errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let (client, eventloop) = link::connect(options, 64);
    let silence = CancellationToken::new();
    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel();
    let (acked_tx, acked) = tokio::sync::watch::channel(0u64);
    tokio::spawn(poll(
        eventloop,
        stats.clone(),
        stop.clone(),
        silence.clone(),
        stopped_tx,
        acked_tx,
    ));
    let template = Template::new(&ids.office, &ids.agent, spec.devices, plan.faults);
    let publish = async {
        if spec.window.is_some() {
            let ack = Topic::new(ids.office.clone(), ids.agent.clone(), Kind::Ack).to_string();
            let _ = client.subscribe(ack, QoS::AtLeastOnce).await;
        }
        let _ = client
            .publish(&state, QoS::AtLeastOnce, true, "online")
            .await;
        send_reports(&client, &ids, &template, &spec, &stats, acked).await;
    };
    if plan.silent {
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = publish => stop.cancelled().await,
            _ = tokio::time::sleep(spec.faults.silent_after) => {
                silence.cancel();
                if let Ok(at) = stopped_rx.await {
                    if let Ok(mut s) = stats.silenced.lock() {
                        s.push((ids.clone(), at));
                    }
                }
                stop.cancelled().await;
            }
        }
    } else {
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = publish => {
                // Sent everything: stay connected until told to stop, so
                // acknowledgements still arrive and no Will fires.
                stop.cancelled().await;
            }
        }
    }
    drop(client);
}

async fn send_reports(
    client: &rumqttc::AsyncClient,
    ids: &AgentIds,
    template: &Template,
    spec: &Spec,
    stats: &Stats,
    mut acked: tokio::sync::watch::Receiver<u64>,
) {
    let topic = Topic::new(ids.office.clone(), ids.agent.clone(), Kind::Report).to_string();
    // A random phase, as real agents' start-up jitter gives them.
    if !spec.interval.is_zero() {
        tokio::time::sleep(spec.interval.mul_f64(fastrand::f64())).await;
    }
    let mut every = tokio::time::interval(spec.interval.max(Duration::from_micros(1)));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seq = 0;
    while spec.reports.is_none_or(|r| seq < r) {
        if !spec.interval.is_zero() {
            every.tick().await;
        }
        seq += 1;
        if let Some(window) = spec.window {
            if !wait_for_room(client, &topic, template, seq, window, &mut acked, stats).await {
                return;
            }
        }
        let body = template.stamp(seq, Timestamp::now());
        if client
            .publish(&topic, QoS::AtLeastOnce, false, body)
            .await
            .is_err()
        {
            return;
        }
        stats.published.fetch_add(1, Ordering::Relaxed);
    }
    // Like the real outbox: keep the tail until the server has it.
    if spec.window.is_some() {
        wait_for_room(client, &topic, template, seq + 1, 0, &mut acked, stats).await;
    }
}

/// How long an agent waits for the server's acknowledgement before it
/// sends what is outstanding again (the real agent's `ack_timeout`).
const ACK_TIMEOUT: Duration = Duration::from_secs(10);

/// Wait until `seq` fits in the window of unacknowledged reports; resend
/// the outstanding ones when no acknowledgement comes. False when the
/// client has gone.
async fn wait_for_room(
    client: &rumqttc::AsyncClient,
    topic: &str,
    template: &Template,
    seq: u64,
    window: u64,
    acked: &mut tokio::sync::watch::Receiver<u64>,
    stats: &Stats,
) -> bool {
    loop {
        let through = *acked.borrow_and_update();
        if seq.saturating_sub(through) <= window {
            return true;
        }
        match tokio::time::timeout(ACK_TIMEOUT, acked.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return false,
            Err(_) => {
                for again in through + 1..seq {
                    let body = template.stamp(again, Timestamp::now());
                    if client
                        .publish(topic, QoS::AtLeastOnce, false, body)
                        .await
                        .is_err()
                    {
                        return false;
                    }
                    stats.resent.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// The one task that owns this agent's event loop. When `silence` fires it
/// stops polling but keeps the event loop, and so the socket, alive: the
/// agent hangs without a goodbye, as a frozen office PC would.
async fn poll(
    mut eventloop: rumqttc::EventLoop,
    stats: Arc<Stats>,
    stop: CancellationToken,
    silence: CancellationToken,
    stopped: tokio::sync::oneshot::Sender<Timestamp>,
    acked: tokio::sync::watch::Sender<u64>,
) {
    let mut connected = false;
    let mut last_out = Timestamp::now();
    loop {
        let event = tokio::select! {
            _ = stop.cancelled() => return,
            _ = silence.cancelled() => {
                // Polling stops here: say when the agent last sent anything.
                let _ = stopped.send(last_out);
                stop.cancelled().await;
                return;
            }
            e = eventloop.poll() => e,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) if !connected => {
                connected = true;
                stats.connected.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Event::Incoming(Packet::PubAck(_))) => {
                stats.acked.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                // Only the agent's own ack topic is subscribed.
                if let Ok(ack) = ronda_wire::Ack::decode(&p.payload) {
                    acked.send_if_modified(|t| {
                        let newer = ack.through > *t;
                        *t = (*t).max(ack.through);
                        newer
                    });
                }
            }
            Ok(Event::Outgoing(_)) => last_out = Timestamp::now(),
            Ok(_) => {}
            Err(e) => {
                stats.errors.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(error = %e, "fleet agent lost its broker");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(500 + fastrand::u64(..1000))) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::picked;

    #[test]
    fn shares_are_spread_evenly_and_exactly() {
        let n = (0..1000).filter(|&n| picked(n, 0.1)).count();
        assert_eq!(n, 100);
        assert_eq!((0..1000).filter(|&n| picked(n, 0.0)).count(), 0);
        assert_eq!((0..1000).filter(|&n| picked(n, 1.0)).count(), 1000);
    }
}
