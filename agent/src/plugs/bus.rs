//! The office's own MQTT broker, for plugs that speak MQTT (Tasmota, Shelly,
//! Zigbee2MQTT). One task owns the connection; the plugs read the newest
//! message per topic from a cache and publish commands through the client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, Packet, QoS};
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::link::{self, Backoff, BrokerConfig, LinkError};
use crate::probe::ProbeError;

/// Largest message kept from a device.
const MAX_PACKET: usize = 64 * 1024;

/// A device's message as last seen.
#[derive(Debug, Clone)]
pub struct Msg {
    pub payload: Vec<u8>,
    pub at: Instant,
}

/// A connection to the office broker with a cache of the subscribed topics.
pub struct Bus {
    client: AsyncClient,
    client_id: String,
    cache: Mutex<HashMap<String, Msg>>,
    changed: broadcast::Sender<String>,
}

impl Bus {
    /// Connect and keep `filters` subscribed across reconnects.
    pub fn start(
        cfg: &BrokerConfig,
        client_id: &str,
        filters: Vec<String>,
        shutdown: CancellationToken,
    ) -> Result<Arc<Bus>, LinkError> {
        let options = link::options(client_id, cfg, None, MAX_PACKET)?;
        let (client, eventloop) = link::connect(options, 64);
        let bus = Arc::new(Bus {
            client,
            client_id: client_id.to_owned(),
            cache: Mutex::new(HashMap::new()),
            changed: broadcast::channel(256).0,
        });
        tokio::spawn(drive(eventloop, Arc::clone(&bus), filters, shutdown));
        Ok(bus)
    }

    /// The client id, which Shelly RPC frames name as their `src`.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn latest(&self, topic: &str) -> Option<Msg> {
        self.cache.lock().ok()?.get(topic).cloned()
    }

    /// Publish a command. Never retained: a retained POWER command would
    /// switch the device again every time it reconnects.
    pub async fn publish(
        &self,
        topic: &str,
        payload: impl Into<Vec<u8>>,
    ) -> Result<(), ProbeError> {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.into())
            .await
            .map_err(|e| ProbeError::Transport(format!("office broker: {e}")))
    }

    /// Wait up to `timeout` for a message on `topic` that arrived after `after`.
    pub async fn wait(&self, topic: &str, after: Instant, timeout: Duration) -> Option<Msg> {
        let mut rx = self.changed.subscribe();
        let fresh = |bus: &Bus| bus.latest(topic).filter(|m| m.at > after);
        if let Some(m) = fresh(self) {
            return Some(m);
        }
        let waiting = async {
            loop {
                match rx.recv().await {
                    Ok(t) if t == topic => {
                        if let Some(m) = fresh(self) {
                            return Some(m);
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if let Some(m) = fresh(self) {
                            return Some(m);
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        };
        tokio::time::timeout(timeout, waiting).await.ok().flatten()
    }

    /// Publish `payload` to `to`, then wait up to `timeout` for a message on
    /// `answer` that `accept` takes (it returns `None` to keep waiting: other
    /// traffic, such as telemetry, shares the topic).
    pub async fn request<T>(
        &self,
        to: &str,
        payload: impl Into<Vec<u8>>,
        answer: &str,
        timeout: Duration,
        accept: impl Fn(&str) -> Result<Option<T>, ProbeError>,
    ) -> Result<T, ProbeError> {
        let since = Instant::now();
        self.publish(to, payload).await?;
        let deadline = since + timeout;
        let mut after = since;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = self
                .wait(answer, after, left)
                .await
                .ok_or(ProbeError::Timeout(timeout))?;
            after = msg.at;
            if let Some(t) = accept(&String::from_utf8_lossy(&msg.payload))? {
                return Ok(t);
            }
        }
    }

    fn store(&self, topic: String, payload: Vec<u8>) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(
                topic.clone(),
                Msg {
                    payload,
                    at: Instant::now(),
                },
            );
        }
        let _ = self.changed.send(topic);
    }
}

async fn drive(
    mut eventloop: EventLoop,
    bus: Arc<Bus>,
    filters: Vec<String>,
    shutdown: CancellationToken,
) {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return,
            e = eventloop.poll() => e,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff.reset();
                tracing::info!("connected to the office broker");
                let (client, filters) = (bus.client.clone(), filters.clone());
                tokio::spawn(async move {
                    for f in filters {
                        if let Err(e) = client.subscribe(f, QoS::AtLeastOnce).await {
                            tracing::warn!(error = %e, "cannot subscribe on the office broker");
                        }
                    }
                });
            }
            Ok(Event::Incoming(Packet::Publish(p))) => bus.store(p.topic, p.payload.to_vec()),
            Ok(_) => {}
            Err(e) => {
                let wait = backoff.next_delay();
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "office broker connection failed");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.cancelled() => return,
                }
            }
        }
    }
}
