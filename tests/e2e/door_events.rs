//! Door events on `…/event` through the embedded broker's gate, as a
//! hostile agent on an office LAN would send them: someone else's topic or
//! office, too many events, a name for a user id, a log sent twice. Only the
//! agent's own, well-formed events are stored, each once, and acknowledged.

use crate::common::{eventually, spawn_app, sql, TestApp};
use ronda_wire::{DoorEvent, DoorEventKind, Events, Id, MAX_EVENTS, SCHEMA_VERSION};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

fn event(number: u64, who: &str) -> DoorEvent {
    DoorEvent {
        device: "gerbang".into(),
        door_no: Some(1),
        door: Some("main-gate".into()),
        kind: DoorEventKind::Granted,
        who: Some(who.into()),
        at: "2026-12-24T22:13:05+07:00".parse().unwrap(),
        number: Some(number),
        code: "5/75".into(),
    }
}

fn payload(office: &str, seq: u64, doors: Vec<DoorEvent>) -> Vec<u8> {
    serde_json::to_vec(&Events {
        schema: SCHEMA_VERSION,
        office: Id::new(office).unwrap(),
        agent: Id::new("gw").unwrap(),
        seq,
        observed_at: jiff::Timestamp::now(),
        doors,
        delivery: None,
    })
    .unwrap()
}

/// An agent's own MQTT session: publishes, and the acknowledgements it gets.
fn agent(app: &TestApp, office: &str) -> (AsyncClient, mpsc::UnboundedReceiver<u64>) {
    let b = app.credentials(&Id::new(office).unwrap(), &Id::new("gw").unwrap());
    let password = b.password.unwrap().resolve().unwrap();
    let username = b.username.unwrap();
    let mut o = MqttOptions::new(username.clone(), app.broker.host.clone(), app.broker.port);
    o.set_credentials(username, password.expose());
    o.set_max_packet_size(2 << 20, 2 << 20);
    let (client, mut eventloop) = AsyncClient::new(o, 100);
    let (acks, rx) = mpsc::unbounded_channel();
    let ack_topic = format!("ronda/v1/{office}/gw/ack");
    let sub = client.clone();
    tokio::spawn(async move {
        while let Ok(e) = eventloop.poll().await {
            match e {
                Event::Incoming(Packet::ConnAck(_)) => {
                    let _ = sub.try_subscribe(&ack_topic, QoS::AtLeastOnce);
                }
                Event::Incoming(Packet::Publish(p)) => {
                    if let Ok(a) = ronda_wire::Ack::decode(&p.payload) {
                        let _ = acks.send(a.through);
                    }
                }
                _ => {}
            }
        }
    });
    (client, rx)
}

async fn rejected(app: &TestApp, reason: &str) -> f64 {
    app.metric(&format!(
        "ronda_reports_rejected_total{{reason=\"{reason}\"}}"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_agents_own_well_formed_events_are_kept_each_once_and_acknowledged() {
    let app = spawn_app().await;
    let (dinkes, mut acks) = agent(&app, "dinkes");
    let qos = QoS::AtLeastOnce;
    let own = "ronda/v1/dinkes/gw/event";

    // Someone else's office in the payload, on its own topic: refused.
    dinkes
        .publish(
            own,
            qos,
            false,
            payload("bappeda", 1, vec![event(1, "9001")]),
        )
        .await
        .unwrap();
    // A name where the device's user id belongs, and one event too many.
    dinkes
        .publish(
            own,
            qos,
            false,
            payload("dinkes", 2, vec![event(2, "Budi Santoso")]),
        )
        .await
        .unwrap();
    let flood = (0..=MAX_EVENTS as u64).map(|n| event(n, "9001")).collect();
    dinkes
        .publish(own, qos, false, payload("dinkes", 3, flood))
        .await
        .unwrap();
    eventually("three refusals counted", || async {
        let mismatch = rejected(&app, "identity_mismatch").await;
        (mismatch == 1.0 && rejected(&app, "invalid").await == 2.0).then_some(())
    })
    .await;

    // A log, then the same log again with one more event: four events kept,
    // and both payloads acknowledged (the refused seqs 1 to 3 are settled
    // by the floor a real agent sends; here the run starts at 4).
    let first: Vec<_> = (10..13).map(|n| event(n, "9001")).collect();
    let mut again = first.clone();
    again.push(event(13, "9002"));
    for (seq, doors) in [(4, first), (5, again)] {
        let mut p: Events = serde_json::from_slice(&payload("dinkes", seq, doors)).unwrap();
        p.delivery = Some(ronda_wire::Delivery {
            floor: 4,
            pending: 1,
            dropped: 0,
            newest: seq,
        });
        dinkes
            .publish(own, qos, false, serde_json::to_vec(&p).unwrap())
            .await
            .unwrap();
    }
    let mut through = 0;
    while through < 5 {
        through = through.max(acks.recv().await.expect("acknowledgements stopped"));
    }
    let count = "SELECT count(*) FROM door_events WHERE office = 'dinkes'";
    assert_eq!(sql(&app.db, count), 4);
    assert_eq!(app.metric("ronda_door_events_duplicate_total").await, 3.0);
    assert_eq!(
        sql(
            &app.db,
            "SELECT count(*) FROM door_events WHERE office = 'bappeda'"
        ),
        0
    );

    // Publishing on another agent's event topic costs the connection.
    dinkes
        .publish(
            "ronda/v1/bappeda/gw/event",
            qos,
            false,
            payload("bappeda", 6, vec![event(99, "1")]),
        )
        .await
        .unwrap();
    eventually("the trespass refused", || async {
        let m = "ronda_mqtt_refused_total{reason=\"publish_topic\"}";
        (app.metric(m).await == 1.0).then_some(())
    })
    .await;
    assert_eq!(sql(&app.db, "SELECT count(*) FROM door_events"), 4);
    app.stop().await;
}
