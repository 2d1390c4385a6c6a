//! The one task that owns the rumqttc event loop.
//!
//! It announces `online` and subscribes to the command and acknowledgement
//! topics after every connect, hands what arrives to the agent loop, and
//! backs off between failed connects, because rumqttc itself retries on the
//! very next `poll()`.

use std::time::Duration;

use ronda_wire::Ack;
use rumqttc::{AsyncClient, Event, EventLoop, Outgoing, Packet, QoS, SubscribeFilter};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::link::Backoff;

pub struct Topics {
    pub state: String,
    pub cmd: String,
    pub ack: String,
}

/// What the connection tells the agent loop.
#[derive(Debug)]
pub enum Inbound {
    Up,
    Down,
    Ack(u64),
    Command(Vec<u8>),
}

/// Drive the connection until a clean disconnect has been sent, or until
/// `shutdown` fires while there is no connection to close cleanly.
pub async fn drive(
    mut eventloop: EventLoop,
    client: AsyncClient,
    topics: Topics,
    inbound: mpsc::Sender<Inbound>,
    shutdown: CancellationToken,
) {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(60));
    let mut up = false;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff.reset();
                tracing::info!(broker = %broker(&eventloop), "connected");
                // From another task: this one must keep polling to make room
                // in the request queue, which may be full after an outage.
                let (client, state) = (client.clone(), topics.state.clone());
                let filters = [&topics.cmd, &topics.ack]
                    .map(|t| SubscribeFilter::new(t.clone(), QoS::AtLeastOnce));
                tokio::spawn(async move {
                    if let Err(e) = client
                        .publish(state, QoS::AtLeastOnce, true, "online")
                        .await
                    {
                        tracing::warn!(error = %e, "could not queue the online state");
                    }
                    if let Err(e) = client.subscribe_many(filters).await {
                        tracing::warn!(error = %e, "could not subscribe to commands and acknowledgements");
                    }
                });
                up = true;
                if inbound.send(Inbound::Up).await.is_err() {
                    return;
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) if p.topic == topics.ack => {
                match Ack::decode(&p.payload) {
                    // Dropping one is harmless: the next covers it.
                    Ok(ack) => drop(inbound.try_send(Inbound::Ack(ack.through))),
                    Err(e) => tracing::warn!(error = %e, "acknowledgement ignored: not valid"),
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) if p.topic == topics.cmd => {
                if inbound
                    .try_send(Inbound::Command(p.payload.to_vec()))
                    .is_err()
                {
                    tracing::warn!("command dropped: too many commands waiting");
                }
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                tracing::info!("disconnected cleanly");
                return;
            }
            Ok(_) => {}
            Err(e) => {
                if shutdown.is_cancelled() {
                    return;
                }
                if std::mem::take(&mut up) && inbound.send(Inbound::Down).await.is_err() {
                    return;
                }
                let wait = backoff.next_delay();
                tracing::warn!(broker = %broker(&eventloop), error = %e, retry_in_ms = wait.as_millis() as u64, "broker connection failed");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.cancelled() => return,
                }
            }
        }
    }
}

fn broker(eventloop: &EventLoop) -> String {
    let (host, port) = eventloop.mqtt_options.broker_address();
    format!("{host}:{port}")
}
