//! The one task that owns the rumqttc event loop.
//!
//! It announces `online` and subscribes to the command topic after every
//! connect, hands commands to the agent loop, and backs off between failed
//! connects, because rumqttc itself retries on the very next `poll()`.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, Outgoing, Packet, QoS};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::link::Backoff;

/// Drive the connection until a clean disconnect has been sent, or until
/// `shutdown` fires while there is no connection to close cleanly.
pub struct Topics {
    pub state: String,
    pub cmd: String,
}

pub async fn drive(
    mut eventloop: EventLoop,
    client: AsyncClient,
    topics: Topics,
    commands: mpsc::Sender<Vec<u8>>,
    shutdown: CancellationToken,
) {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(60));
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff.reset();
                tracing::info!(broker = %broker(&eventloop), "connected");
                // From another task: this one must keep polling to make room
                // in the request queue, which may be full after an outage.
                let (client, state, cmd) =
                    (client.clone(), topics.state.clone(), topics.cmd.clone());
                tokio::spawn(async move {
                    if let Err(e) = client
                        .publish(state, QoS::AtLeastOnce, true, "online")
                        .await
                    {
                        tracing::warn!(error = %e, "could not queue the online state");
                    }
                    if let Err(e) = client.subscribe(cmd, QoS::AtLeastOnce).await {
                        tracing::warn!(error = %e, "could not subscribe to commands");
                    }
                });
            }
            Ok(Event::Incoming(Packet::Publish(p))) if p.topic == topics.cmd => {
                if commands.try_send(p.payload.to_vec()).is_err() {
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
