//! Two servers on one PostgreSQL database: their shared subscription as an
//! agent on the office LAN would try it (joining the servers' group to take
//! reports away from them, through Mosquitto with the example ACL), and a
//! person's request made on the server that does not lead.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use crate::common::db::TestDb;
use crate::common::{eventually, spawn_with, TestCa};
use ronda_common::link::BrokerConfig;
use ronda_server::BrokerChoice;
use rumqttc::{AsyncClient, Event, Packet, QoS, SubscribeReasonCode};

type Codes = Arc<std::sync::Mutex<Vec<SubscribeReasonCode>>>;

/// A client that counts the messages it is given and remembers how its
/// subscriptions were answered.
fn client(login: &BrokerConfig, id: &str) -> (AsyncClient, Arc<AtomicU32>, Codes) {
    let o = ronda_common::link::options(id, login, None, 1 << 20).unwrap();
    let (client, mut eventloop) = AsyncClient::new(o, 100);
    let (got, codes) = (
        Arc::new(AtomicU32::new(0)),
        Arc::new(std::sync::Mutex::new(Vec::new())),
    );
    let (g, c) = (got.clone(), codes.clone());
    tokio::spawn(async move {
        while let Ok(event) = eventloop.poll().await {
            match event {
                Event::Incoming(Packet::Publish(_)) => {
                    g.fetch_add(1, Ordering::Relaxed);
                }
                Event::Incoming(Packet::SubAck(ack)) => c.lock().unwrap().extend(ack.return_codes),
                _ => {}
            }
        }
    });
    (client, got, codes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_that_joins_the_servers_shared_group_takes_no_report_away() {
    let ca = TestCa::new();
    let users = [
        ("ronda-server", "server-pw"),
        ("dinkes/gw", "a-pw"),
        ("bappeda/gw", "b-pw"),
    ];
    let Some(broker) = crate::common::ronda_mosquitto(&ca, &users) else {
        return;
    };
    let Some(db) = TestDb::postgres_only() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write_ca(dir.path());
    let login = |user: &str, password: &str| {
        crate::common::mosquitto::login(&broker, &ca_file, user, password)
    };
    let server = login("ronda-server", "server-pw");
    let location = db.location.clone();
    let app = spawn_with(move |c| {
        c.broker = BrokerChoice::External(server);
        c.database = location;
    })
    .await;

    // The thief asks to share the servers' stream under every name it
    // could guess: the broker grants it (Mosquitto checks read rights only
    // on delivery), so only a group name it cannot guess keeps the servers'
    // turns from being given to it and dropped.
    let (thief, got, codes) = client(&login("dinkes/gw", "a-pw"), "ronda-dinkes-gw");
    for filter in [
        "$share/ronda/ronda/v1/+/+/report",
        "$share/ronda-server/ronda/v1/+/+/report",
        "$share/ronda/#",
    ] {
        thief.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    }
    eventually("the thief's subscriptions answered", || {
        let n = codes.lock().unwrap().len();
        async move { (n == 3).then_some(()) }
    })
    .await;

    // Another agent's reports, with no outbox to send again what is lost:
    // every one must reach the server, none the thief.
    let (victim, _, _) = client(&login("bappeda/gw", "b-pw"), "ronda-bappeda-gw");
    const N: u64 = 20;
    for seq in 1..=N {
        let body = serde_json::to_vec(&crate::common::bare_report("bappeda", "gw", seq)).unwrap();
        victim
            .publish("ronda/v1/bappeda/gw/report", QoS::AtLeastOnce, false, body)
            .await
            .unwrap();
    }
    // Wait for the last report to reach the server, or for the thief to
    // have taken it.
    let count = || -> i64 {
        crate::common::db::open(&db.location)
            .query_row(
                "SELECT count(*) FROM reports WHERE office = 'bappeda'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    let (stored, taken) = eventually("the victim's reports all arrived somewhere", || {
        let (stored, taken) = (count(), got.load(Ordering::Relaxed));
        async move { (stored + i64::from(taken) >= N as i64).then_some((stored, taken)) }
    })
    .await;
    let answers = codes.lock().unwrap().clone();
    assert_eq!(
        taken, 0,
        "the thief was given reports; its subscriptions were answered {answers:?}"
    );
    assert_eq!(stored, N as i64);
    app.stop().await;
}

/// Two servers on one PostgreSQL database: an acknowledgement made on the
/// one that does not lead is done by the leader's engine (forwarded over
/// the relay), answered as if made there, and seen by both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledgement_made_on_the_server_that_does_not_lead_is_done_by_the_leader() {
    let Some(broker) = crate::common::mosquitto() else {
        return;
    };
    let Some(db) = TestDb::postgres_only() else {
        return;
    };
    let files = tempfile::tempdir().unwrap();
    let (letters, offices) = (
        files.path().join("letters"),
        files.path().join("offices.yaml"),
    );
    std::fs::create_dir(&letters).unwrap();
    std::fs::write(
        letters.join("a.yaml"),
        crate::e2e::reload::letter_yaml("a", "all"),
    )
    .unwrap();
    std::fs::write(&offices, crate::e2e::reload::registry_yaml(&["dinkes"])).unwrap();
    let server = || {
        let (url, location) = (broker.url.clone(), db.location.clone());
        let (letters, offices) = (letters.clone(), offices.clone());
        spawn_with(move |c| {
            crate::common::external(&url)(c);
            c.database = location;
            c.policies_dir = Some(letters);
            c.offices_file = Some(offices);
            ronda_server::letters::load(c).unwrap();
        })
    };
    let leader = server().await;
    eventually("the first server leading", || async {
        (leader.metric("ronda_leader").await == 1.0).then_some(())
    })
    .await;
    let other = server().await;
    assert_eq!(other.metric("ronda_leader").await, 0.0);

    crate::e2e::reload::report_down(&leader, "dinkes", 1).await;
    let firing = "/api/v1/alerts?office=dinkes&state=firing";
    let id = eventually("the alert firing", || async {
        let (_, list) = leader.get_json(firing).await;
        list.as_array()?.first()?["id"].as_i64()
    })
    .await;

    let ack = other
        .client
        .post(format!("{}/api/v1/alerts/{id}/ack", other.http))
        .json(&serde_json::json!({"note": "teknisi sedang menuju kantor"}))
        .send()
        .await
        .unwrap();
    let status = ack.status().as_u16();
    let body: serde_json::Value = ack.json().await.unwrap_or_default();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "acknowledged", "{body}");
    for app in [&leader, &other] {
        let (_, alert) = app.get_json(&format!("/api/v1/alerts/{id}")).await;
        assert_eq!(alert["state"], "acknowledged", "{}: {alert}", app.http);
    }
    // The leader's engine took it: nothing is left firing.
    let (_, list) = leader.get_json(firing).await;
    assert!(list.as_array().unwrap().is_empty(), "{list}");
    other.stop().await;
    leader.stop().await;
}
