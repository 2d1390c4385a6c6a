//! The one task that owns the rumqttc event loop.
//!
//! It announces `online` after every connect and backs off between failed
//! connects, because rumqttc itself retries on the very next `poll()`.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, Outgoing, Packet, QoS};
use tokio_util::sync::CancellationToken;

use crate::link::Backoff;

/// Drive the connection until a clean disconnect has been sent, or until
/// `shutdown` fires while there is no connection to close cleanly.
pub async fn drive(
    mut eventloop: EventLoop,
    client: AsyncClient,
    state_topic: String,
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
                let (client, topic) = (client.clone(), state_topic.clone());
                tokio::spawn(async move {
                    if let Err(e) = client
                        .publish(topic, QoS::AtLeastOnce, true, "online")
                        .await
                    {
                        tracing::warn!(error = %e, "could not queue the online state");
                    }
                });
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
