//! Ingest: the one task that owns the server's MQTT event loop. It checks
//! every payload and hands the good ones to the store writer.
//!
//! A bad payload is counted by reason and logged, never fatal: one broken
//! agent must not stop the reports of the others.

use std::sync::Arc;
use std::time::Duration;

use ronda_common::link::Backoff;
use ronda_wire::{decode_events, decode_report, decode_state, Kind, Presence, RejectReason, Topic};
use rumqttc::{
    AsyncClient, Event, EventLoop, Packet, Publish, QoS, SubscribeFilter, SubscribeReasonCode,
};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::cluster::relay;
use crate::engine::worker::Msg;
use crate::metrics::Metrics;
use crate::store::{now_ms, Write};

pub struct Ingest {
    pub client: AsyncClient,
    pub eventloop: EventLoop,
    pub handler: Handler,
    /// True while subscribed; tests and `/healthz` wait on it.
    pub subscribed: watch::Sender<bool>,
    /// QoS of the subscription: see [`subscription_qos`].
    pub qos: QoS,
    /// Subscribe as one of this group (`$share/<group>/…`), so that each
    /// message goes to one of the servers sharing a database.
    pub share: Option<String>,
}

/// QoS 1 from an external broker, which may run on another machine and
/// outlive a server restart. QoS 0 from the embedded one: it lives in this
/// process, so the QoS 1 handshake guards nothing, and rumqttd 0.20 allows
/// only 100 QoS 1 messages in flight to a subscriber (`MAX_INFLIGHT` in its
/// `iobufs.rs`), which held ingest to 100 per round trip (about 9,000
/// reports/s). Whatever is lost on the way is resent by the agent, whose
/// outbox keeps each report until the server acknowledges its commit.
pub fn subscription_qos(embedded: bool) -> QoS {
    if embedded {
        QoS::AtMostOnce
    } else {
        QoS::AtLeastOnce
    }
}

/// Checks payloads and forwards the good ones; kept apart from the event
/// loop, which must stay owned by one task.
pub struct Handler {
    pub store: mpsc::Sender<Write>,
    /// The policy engine, which sees every accepted report after the store.
    pub engine: mpsc::Sender<Msg>,
    pub metrics: Arc<Metrics>,
    pub max_payload: usize,
    /// On a shared database, this server's id: what its engine is told is
    /// relayed, under this id, to the other servers' engines.
    pub relay_as: Option<String>,
    /// Pages waiting for a live snapshot: the only place a picture goes.
    pub snapshots: Arc<crate::snapshots::Snapshots>,
}

impl Ingest {
    pub async fn run(self, shutdown: CancellationToken) {
        let Ingest {
            client,
            mut eventloop,
            handler,
            subscribed,
            qos,
            share,
        } = self;
        let metrics = handler.metrics.clone();
        // A short cap: there is one server, and while it is away every report
        // the broker takes is dropped for want of a subscriber (the agents'
        // outboxes send them again, but only after their ack timeout).
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
        loop {
            let event = tokio::select! {
                _ = shutdown.cancelled() => break,
                event = eventloop.poll() => event,
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    backoff.reset();
                    subscribe(&client, qos, share.as_deref());
                }
                Ok(Event::Incoming(Packet::SubAck(ack))) => {
                    if ack
                        .return_codes
                        .iter()
                        .any(|c| matches!(c, SubscribeReasonCode::Failure))
                    {
                        tracing::error!(codes = ?ack.return_codes, "broker refused ingest's subscription; check its ACL for the server's user");
                        continue;
                    }
                    tracing::info!("ingest subscribed");
                    metrics.broker_connected.set(1);
                    subscribed.send_replace(true);
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if !handler.handle(p).await {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    metrics.broker_connected.set(0);
                    subscribed.send_replace(false);
                    let wait = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "ingest lost the broker");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
        // No DISCONNECT: sending it means polling again, and rumqttc would
        // acknowledge reports that nobody then stores.
        tracing::info!("ingest stopped");
    }
}

fn subscribe(client: &AsyncClient, qos: QoS, share: Option<&str>) {
    // A fresh session after every connect: subscribe again each time, all
    // filters in one packet so that one SUBACK means "ready". From another
    // task, and waiting for room: after an outage the request queue may be
    // full of acknowledgements, and this loop must keep polling to empty it.
    let filters = [Kind::Report, Kind::Event, Kind::State, Kind::CmdResult].map(|k| {
        let all = Topic::filter_all(k);
        let filter = match share {
            Some(group) => format!("$share/{group}/{all}"),
            None => all,
        };
        SubscribeFilter::new(filter, qos)
    });
    let client = client.clone();
    tokio::spawn(async move {
        if let Err(e) = client.subscribe_many(filters).await {
            tracing::error!(error = %e, "cannot queue subscription");
        }
    });
}

impl Handler {
    /// Returns false when the store is gone and ingest must stop.
    async fn handle(&self, p: Publish) -> bool {
        let received_ms = now_ms();
        let read = match read(&p.topic, &p.payload, received_ms, self.max_payload) {
            Ok(r) => r,
            Err(reason) => {
                self.metrics.reject(&reason);
                tracing::warn!(topic = %p.topic, reason = reason.label(), detail = %reason, "payload rejected");
                return true;
            }
        };
        match &read.write {
            Some(Write::Report { .. }) => {
                self.metrics.accepted.inc();
                if read.msg.is_none() {
                    self.metrics.backfilled.inc();
                }
            }
            Some(Write::Presence {
                office,
                agent,
                online,
                ..
            }) => tracing::info!(office, agent, online, "agent presence"),
            _ => {}
        }
        // A command's answer is relayed as read, without its picture.
        let stripped = match (&read.msg, &read.picture) {
            (Some(Msg::CommandResult { result, .. }), Some(_)) => serde_json::to_vec(result).ok(),
            _ => None,
        };
        let payload = stripped.as_deref().unwrap_or(&p.payload);
        let relay = match (&read.msg, &self.relay_as) {
            (Some(_), Some(origin)) => {
                relay::Note::of(origin, &p.topic, payload, received_ms, &read.write)
            }
            _ => None,
        };
        if let Some(Msg::CommandResult {
            office,
            agent,
            result,
            ..
        }) = &read.msg
        {
            self.snapshots
                .deliver(office, agent, result, read.picture.clone());
        }
        for w in read.write.into_iter().chain(relay.map(Write::Relay)) {
            if self.store.send(w).await.is_err() {
                tracing::error!("store writer has stopped; ingest stops");
                return false;
            }
        }
        if let Some(m) = read.msg {
            if self.engine.send(m).await.is_err() {
                tracing::error!("policy engine has stopped; ingest stops");
                return false;
            }
        }
        true
    }
}

/// What one payload asks of the store and of the policy engine.
pub(crate) struct Read {
    pub write: Option<Write>,
    /// `None` for a back-filled report: history only.
    pub msg: Option<Msg>,
    /// The picture of a live snapshot, taken out of its answer: it goes to
    /// the page waiting for it, nowhere else.
    pub picture: Option<String>,
}

/// Check a payload received on `topic` at `received_ms`: what to store and
/// what to tell the policy engine.
pub(crate) fn read(
    topic: &str,
    payload: &[u8],
    received_ms: i64,
    max_payload: usize,
) -> Result<Read, RejectReason> {
    let topic = Topic::parse(topic).map_err(|e| RejectReason::BadTopic(e.to_string()))?;
    let (write, msg) = match topic.kind {
        Kind::Report => {
            let report = decode_report(&topic, payload, max_payload)?;
            let write = Write::Report {
                office: report.office.to_string(),
                agent: report.agent.to_string(),
                seq: report.seq,
                observed_ms: report.observed_at.as_millisecond(),
                received_ms,
                // decode_report proved it is UTF-8 JSON.
                body: String::from_utf8_lossy(payload).into_owned(),
                delivery: report.delivery,
            };
            // Back-fill from an outbox goes into the history only: the
            // agent has newer news, and old news must not fire alerts.
            if report.delivery.is_some_and(|d| d.is_backfill(report.seq)) {
                return Ok(Read {
                    write: Some(write),
                    msg: None,
                    picture: None,
                });
            }
            let received = jiff::Timestamp::from_millisecond(received_ms).unwrap_or_default();
            let msg = Msg::Report {
                report: Box::new(report),
                received,
            };
            (Some(write), Some(msg))
        }
        Kind::State => {
            let online = decode_state(payload)? == Presence::Online;
            let write = Write::Presence {
                office: topic.office.to_string(),
                agent: topic.agent.to_string(),
                online,
                at_ms: received_ms,
            };
            let msg = Msg::Presence {
                office: topic.office.to_string(),
                agent: topic.agent.to_string(),
                online,
            };
            (Some(write), Some(msg))
        }
        Kind::CmdResult => {
            // Where it broke, not what it said: serde quotes a string of the
            // wrong type, and that string may be a picture.
            let mut result: ronda_wire::CommandResult =
                serde_json::from_slice(payload).map_err(|e| {
                    RejectReason::Invalid(format!(
                        "not a command answer (line {}, column {})",
                        e.line(),
                        e.column()
                    ))
                })?;
            // Personal data (UU 27/2022): the picture never reaches the
            // engine, the store or a log line.
            let (picture, picture_bytes) = crate::snapshots::strip(&mut result).unzip();
            // The topic says who answered: the gate (or Mosquitto's ACL)
            // lets an agent publish only on its own.
            let msg = Msg::CommandResult {
                office: topic.office.to_string(),
                agent: topic.agent.to_string(),
                result,
                picture_bytes,
            };
            return Ok(Read {
                write: None,
                msg: Some(msg),
                picture,
            });
        }
        Kind::Event => {
            let events = decode_events(&topic, payload, max_payload)?;
            let received = jiff::Timestamp::from_millisecond(received_ms).unwrap_or_default();
            let write = Write::Events {
                office: events.office.to_string(),
                agent: events.agent.to_string(),
                seq: events.seq,
                received_ms,
                events: events.doors.clone(),
                delivery: events.delivery,
            };
            // Unlike a report, an event is news however late it comes:
            // a door forced while the office's line was down still
            // matters. The engine keeps each one once, as the store does.
            let msg = Msg::Events {
                office: events.office.to_string(),
                agent: events.agent.to_string(),
                events: events.doors,
                received,
            };
            (Some(write), Some(msg))
        }
        Kind::Cmd | Kind::Ack => (None, None),
    };
    Ok(Read {
        write,
        msg,
        picture: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picture_is_taken_out_of_an_answer_and_a_broken_one_is_not_quoted() {
        let topic = "ronda/v1/dinkes/gw/cmd/result";
        let good = br#"{"schema":1,"id":"view-1","ok":true,"snapshot":{"jpeg":"/9j/SECRETPICTURE=","stats":{"w":1,"h":1,"mean":0,"contrast":0,"entropy":0,"dark":0,"edges":0,"sharp":0,"hash":"00"}}}"#;
        let Ok(got) = read(topic, good, 0, 1 << 20) else {
            panic!("a good answer is read");
        };
        assert_eq!(got.picture.as_deref(), Some("/9j/SECRETPICTURE="));
        let Some(Msg::CommandResult { result, .. }) = &got.msg else {
            panic!("an answer for the engine");
        };
        assert!(!format!("{result:?}").contains("SECRET"));
        let jpeg = result.snapshot.as_ref().map(|s| s.jpeg.as_str());
        assert_eq!(jpeg, Some(""));
        let wrong_type = br#"{"schema":1,"id":"view-1","ok":true,"snapshot":"/9j/SECRETPICTURE="}"#;
        match read(topic, wrong_type, 0, 1 << 20) {
            Err(reason) => assert!(!reason.to_string().contains("SECRET"), "{reason}"),
            Ok(_) => panic!("a snapshot that is a string is refused"),
        }
    }
}
