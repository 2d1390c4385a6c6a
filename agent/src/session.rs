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

use ronda_common::link::Backoff;

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
            // The server never retains a command or an acknowledgement: a
            // retained one was left by someone else holding this agent's
            // password, and would otherwise act again at every reconnect.
            Ok(Event::Incoming(Packet::Publish(p)))
                if p.retain && (p.topic == topics.cmd || p.topic == topics.ack) =>
            {
                tracing::warn!(topic = %p.topic, "retained message ignored: the server sends none; someone else published it");
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const CMD: &str = "ronda/v1/dinkes/gw/cmd";
    const ACK: &str = "ronda/v1/dinkes/gw/ack";

    /// A QoS 0 PUBLISH with a short body, as bytes on the wire.
    fn publish(topic: &str, payload: &[u8], retain: bool) -> Vec<u8> {
        let mut body = u16::try_from(topic.len()).unwrap().to_be_bytes().to_vec();
        body.extend_from_slice(topic.as_bytes());
        body.extend_from_slice(payload);
        let mut packet = vec![0x30 | u8::from(retain), u8::try_from(body.len()).unwrap()];
        packet.extend(body);
        packet
    }

    /// Someone with the agent's password left a retained `plug.set` and a
    /// retained acknowledgement of everything; the broker hands them over
    /// at every subscribe, ahead of the server's real messages.
    #[tokio::test]
    async fn retained_commands_and_acknowledgements_are_ignored() {
        let broker = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = broker.local_addr().unwrap().port();
        let (client, eventloop) =
            AsyncClient::new(rumqttc::MqttOptions::new("t", "127.0.0.1", port), 8);
        let (tx, mut inbound) = mpsc::channel(8);
        let topics = Topics {
            state: "ronda/v1/dinkes/gw/state".into(),
            cmd: CMD.into(),
            ack: ACK.into(),
        };
        let stop = CancellationToken::new();
        tokio::spawn(drive(eventloop, client, topics, tx, stop.clone()));
        let (mut socket, _) = broker.accept().await.unwrap();
        let mut connect = [0u8; 256];
        let _ = socket.read(&mut connect).await.unwrap();
        socket.write_all(&[0x20, 2, 0, 0]).await.unwrap();
        let planted = br#"{"schema":1,"id":"x","action":"plug.set","params":{"plug":"rak-server","on":false}}"#;
        let legit =
            br#"{"schema":1,"id":"y","action":"plug.set","params":{"plug":"printer","on":false}}"#;
        for packet in [
            publish(CMD, planted, true),
            publish(ACK, br#"{"through":1000000}"#, true),
            publish(CMD, legit, false),
            publish(ACK, br#"{"through":1}"#, false),
        ] {
            socket.write_all(&packet).await.unwrap();
        }
        assert!(matches!(inbound.recv().await, Some(Inbound::Up)));
        match inbound.recv().await {
            Some(Inbound::Command(c)) => assert_eq!(
                String::from_utf8_lossy(&c),
                String::from_utf8_lossy(legit),
                "ran the retained command"
            ),
            other => panic!("expected the live command, got {other:?}"),
        }
        match inbound.recv().await {
            Some(Inbound::Ack(through)) => assert_eq!(through, 1, "took the retained ack"),
            other => panic!("expected the live acknowledgement, got {other:?}"),
        }
        stop.cancel();
    }
}
