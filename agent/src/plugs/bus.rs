//! The office's own MQTT broker, for plugs that speak MQTT (Tasmota, Shelly,
//! Zigbee2MQTT). One task owns the connection; the plugs read the newest
//! message per topic from a cache and publish commands through the client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, Packet, QoS, SubscribeFilter, SubscribeReasonCode};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::probe::ProbeError;
use ronda_common::link::{self, Backoff, BrokerConfig, LinkError};

/// Largest message kept from a device.
const MAX_PACKET: usize = 64 * 1024;

/// A device's message as last seen.
#[derive(Debug, Clone)]
pub struct Msg {
    pub payload: Vec<u8>,
}

/// A connection to the office broker with a cache of the subscribed topics.
pub struct Bus {
    client: AsyncClient,
    client_id: String,
    cache: Mutex<HashMap<String, Msg>>,
    /// Every message as it arrives, so that each waiter sees all of them:
    /// the cache keeps only the newest per topic, and answers to concurrent
    /// requests on one topic would overwrite each other there.
    arrived: broadcast::Sender<(String, Msg)>,
    /// Whether the broker has acknowledged this connection's subscriptions.
    /// A request sent before then would have its answer dropped by the
    /// broker: at agent start, and after every reconnect.
    subscribed: watch::Sender<bool>,
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
            arrived: broadcast::channel(256).0,
            subscribed: watch::channel(false).0,
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

    /// Publish `payload` to `to`, then wait up to `timeout` for a message on
    /// `answer` that `accept` takes (it returns `None` to keep waiting: other
    /// traffic, such as telemetry or answers to other requests, shares the
    /// topic). Listening starts before publishing, so no answer is missed.
    pub async fn request<T>(
        &self,
        to: &str,
        payload: impl Into<Vec<u8>>,
        answer: &str,
        timeout: Duration,
        accept: impl Fn(&str) -> Result<Option<T>, ProbeError>,
    ) -> Result<T, ProbeError> {
        let mut rx = self.arrived.subscribe();
        let mut subscribed = self.subscribed.subscribe();
        let waiting = async {
            // Cannot fail: `self` holds the sender.
            let _ = subscribed.wait_for(|s| *s).await;
            self.publish(to, payload).await?;
            loop {
                match rx.recv().await {
                    Ok((topic, msg)) if topic == answer => {
                        if let Some(t) = accept(&String::from_utf8_lossy(&msg.payload))? {
                            return Ok(t);
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::debug!(
                            missed = n,
                            "office broker messages arrived faster than read"
                        );
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(ProbeError::Timeout(timeout))
                    }
                }
            }
        };
        match tokio::time::timeout(timeout, waiting).await {
            Ok(answer) => answer,
            Err(_) if !*self.subscribed.borrow() => Err(ProbeError::Connect(format!(
                "office broker: not connected and subscribed within {}",
                crate::probe::human(timeout)
            ))),
            Err(_) => Err(ProbeError::Timeout(timeout)),
        }
    }

    fn store(&self, topic: String, payload: Vec<u8>) {
        let msg = Msg { payload };
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(topic.clone(), msg.clone());
        }
        let _ = self.arrived.send((topic, msg));
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
                subscribe(&bus, &filters);
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                if ack
                    .return_codes
                    .iter()
                    .any(|c| matches!(c, SubscribeReasonCode::Failure))
                {
                    tracing::warn!(?filters, "the office broker refused a subscription");
                }
                bus.subscribed.send_replace(true);
            }
            Ok(Event::Incoming(Packet::Publish(p))) => bus.store(p.topic, p.payload.to_vec()),
            Ok(_) => {}
            Err(e) => {
                bus.subscribed.send_replace(false);
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

/// Ask for every filter in one SUBSCRIBE, so one SUBACK says all are in place.
fn subscribe(bus: &Arc<Bus>, filters: &[String]) {
    if filters.is_empty() {
        bus.subscribed.send_replace(true);
        return;
    }
    let client = bus.client.clone();
    let all: Vec<_> = filters
        .iter()
        .map(|f| SubscribeFilter::new(f.clone(), QoS::AtLeastOnce))
        .collect();
    // Not awaited here: the request channel is drained by this same loop.
    tokio::spawn(async move {
        if let Err(e) = client.subscribe_many(all).await {
            tracing::warn!(error = %e, "cannot subscribe on the office broker");
        }
    });
}
