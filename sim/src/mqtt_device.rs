//! A simulated device on an MQTT broker: one task owns the connection,
//! announces the device, answers its command topics and publishes telemetry
//! on a tick. Vendors supply only what to say (pure functions of the state).

use std::net::SocketAddr;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS, SubscribeFilter};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::state::{lock, DeviceState, Shared};

/// A message to publish: topic, payload, retained.
pub type Out = (String, String, bool);

/// What a vendor's device says and how it answers.
pub struct Behaviour {
    pub client_id: String,
    pub will: (String, String),
    pub subscribe: Vec<String>,
    /// Said after every connect (retained announcements).
    pub hello: fn(&DeviceState) -> Vec<Out>,
    /// The answer to a message on a subscribed topic; may change the state.
    pub answer: fn(&mut DeviceState, &str, &str) -> Vec<Out>,
    /// Telemetry, sent every tick and whenever it changes.
    pub telemetry: fn(&DeviceState) -> Vec<Out>,
    pub every: Duration,
}

/// Run the device on its own task. The answer comes once the broker has
/// acknowledged its subscriptions: a real device has long been listening
/// when an agent first asks it something, and the simulation promises the same.
pub fn spawn(
    broker: SocketAddr,
    dev: Shared,
    b: Behaviour,
    shutdown: CancellationToken,
) -> oneshot::Receiver<()> {
    let (ready, listening) = oneshot::channel();
    tokio::spawn(run(broker, dev, b, shutdown, ready));
    listening
}

async fn run(
    broker: SocketAddr,
    dev: Shared,
    b: Behaviour,
    shutdown: CancellationToken,
    ready: oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    let mut o = MqttOptions::new(&b.client_id, broker.ip().to_string(), broker.port());
    o.set_keep_alive(Duration::from_secs(15));
    o.set_last_will(LastWill::new(
        &b.will.0,
        b.will.1.clone(),
        QoS::AtLeastOnce,
        true,
    ));
    let (client, mut eventloop) = AsyncClient::new(o, 64);
    let mut net = eventloop.network_options();
    net.set_tcp_nodelay(true);
    eventloop.set_network_options(net);
    // The event loop polls on its own task: a `poll()` cancelled by the tick
    // while connecting drops the connection, and the broker then publishes
    // the Last Will (the device would read as offline at every start).
    let (events, mut incoming) = tokio::sync::mpsc::channel(64);
    let stop = shutdown.clone();
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                _ = stop.cancelled() => return,
                e = eventloop.poll() => e,
            };
            match event {
                Ok(Event::Incoming(
                    p @ (Packet::ConnAck(_) | Packet::Publish(_) | Packet::SubAck(_)),
                )) => {
                    if events.send(p).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "simulated device lost the broker");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    });
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let (mut last, mut since) = (Vec::new(), tokio::time::Instant::now());
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {
                let d = lock(&dev).clone();
                if d.hang { continue; }
                let now = (b.telemetry)(&d);
                if now != last || since.elapsed() >= b.every {
                    send(&client, &now);
                    (last, since) = (now, tokio::time::Instant::now());
                }
            }
            packet = incoming.recv() => match packet {
                Some(Packet::ConnAck(_)) => {
                    let d = lock(&dev).clone();
                    send(&client, &(b.hello)(&d));
                    // One SUBSCRIBE for all topics, so one SUBACK means ready.
                    let all = b.subscribe.iter().map(|s| SubscribeFilter::new(s.clone(), QoS::AtLeastOnce));
                    if let Err(e) = client.try_subscribe_many(all) {
                        tracing::warn!(error = %e, "simulated device could not subscribe");
                    }
                    last.clear();
                }
                Some(Packet::SubAck(_)) => {
                    ready.take().map(|r| r.send(()));
                }
                Some(Packet::Publish(p)) => {
                    let payload = String::from_utf8_lossy(&p.payload).into_owned();
                    let out = {
                        let mut d = lock(&dev);
                        if d.hang { continue; }
                        (b.answer)(&mut d, &p.topic, &payload)
                    };
                    send(&client, &out);
                }
                Some(_) => {}
                None => return,
            }
        }
    }
}

fn send(client: &AsyncClient, out: &[Out]) {
    for (topic, payload, retain) in out {
        if let Err(e) = client.try_publish(topic, QoS::AtLeastOnce, *retain, payload.clone()) {
            tracing::warn!(%topic, error = %e, "simulated device could not publish");
        }
    }
}
