//! MQTT identity at the embedded broker's gate: each agent has its own
//! credential, may use only its own topics, cannot take over another
//! agent's session, and nobody gets in without a credential (fault test 6).

use std::time::Duration;

use crate::common::{eventually, spawn_app, spawn_with, TestApp, TestCa};
use ronda_common::conf::Secret;
use ronda_common::link::BrokerConfig;
use ronda_server::broker::TlsListener;
use ronda_server::BrokerChoice;
use ronda_wire::Id;
use rumqttc::{AsyncClient, ConnectReturnCode, ConnectionError, Event, LastWill, Packet, QoS};
use tokio::sync::{mpsc, watch};

fn report(office: &str, seq: u64) -> Vec<u8> {
    serde_json::to_vec(&crate::common::bare_report(office, "gw", seq)).unwrap()
}

/// A raw client, and what happens to its connection: `Ok(())` per CONNACK,
/// then the error that ended it. It does not reconnect.
struct Raw {
    client: AsyncClient,
    events: mpsc::UnboundedReceiver<Result<(), ConnectionError>>,
    /// PUBACKs received so far: the broker has taken that many publishes.
    pubacks: watch::Receiver<u32>,
}

fn raw(app: &TestApp, client_id: &str, login: Option<(&str, &str)>, will: Option<&str>) -> Raw {
    let mut broker = crate::common::broker_config(&app.broker);
    if let Some((user, pass)) = login {
        broker.username = Some(user.to_owned());
        broker.password = Some(Secret::new(pass).into());
    }
    raw_to(&broker, client_id, will)
}

fn raw_to(broker: &BrokerConfig, client_id: &str, will: Option<&str>) -> Raw {
    let will = will.map(|t| LastWill::new(t, "offline", QoS::AtLeastOnce, true));
    let o = ronda_common::link::options(client_id, broker, will, 1 << 20).unwrap();
    let (client, mut eventloop) = AsyncClient::new(o, 100);
    let (tx, events) = mpsc::unbounded_channel();
    let (acked, pubacks) = watch::channel(0);
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = tx.send(Ok(()));
                }
                Ok(Event::Incoming(Packet::PubAck(_))) => acked.send_modify(|n| *n += 1),
                Ok(_) => {}
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
    });
    Raw {
        client,
        events,
        pubacks,
    }
}

impl Raw {
    async fn next(&mut self) -> Result<(), ConnectionError> {
        tokio::time::timeout(Duration::from_secs(10), self.events.recv())
            .await
            .expect("no news of the connection within 10 s")
            .expect("event loop gone")
    }

    /// Refused, whatever the code (Mosquitto answers 5 for no credentials).
    async fn next_is_refused(mut self) -> bool {
        matches!(
            self.next().await,
            Err(ConnectionError::ConnectionRefused(_))
        )
    }

    async fn refused_with(mut self) -> ConnectReturnCode {
        match self.next().await {
            Err(ConnectionError::ConnectionRefused(code)) => code,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    /// The gate closed the connection (a timeout, rather than a hang, when
    /// it lets the packet through).
    async fn is_closed(&mut self) -> bool {
        let news = tokio::time::timeout(Duration::from_secs(10), self.events.recv());
        matches!(news.await, Ok(Some(Err(_))))
    }

    /// Wait until the broker has acknowledged `n` publishes: `publish`
    /// only queues, and a session taken over drops what is still queued.
    async fn acked(&mut self, n: u32) {
        let wait = self.pubacks.wait_for(|got| *got >= n);
        let got = tokio::time::timeout(Duration::from_secs(10), wait).await;
        assert!(matches!(got, Ok(Ok(_))), "{n} publishes not acknowledged");
    }

    /// Nothing happened to the connection for a while.
    async fn still_up(&mut self) -> bool {
        match tokio::time::timeout(Duration::from_secs(1), self.events.recv()).await {
            Err(_) => true,
            Ok(news) => {
                eprintln!("connection news: {news:?}");
                false
            }
        }
    }
}

/// A new credential for `office/gw`: (username, password).
fn credential(app: &TestApp, office: &str) -> (String, String) {
    let b = app.credentials(&Id::new(office).unwrap(), &Id::new("gw").unwrap());
    let password = b.password.unwrap().resolve().unwrap();
    (b.username.unwrap(), password.expose().to_owned())
}

async fn rows(app: &TestApp, office: &str) -> u64 {
    let db = crate::common::db::open(&app.db);
    db.query_row(
        "SELECT count(*) FROM reports WHERE office = ?1",
        [office],
        |r| r.get(0),
    )
    .unwrap()
}

fn refused(reason: &str) -> String {
    format!("ronda_mqtt_refused_total{{reason=\"{reason}\"}}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_uses_only_its_own_topics_and_cannot_take_over_another() {
    let app = spawn_app().await;
    let (a_user, a_pass) = credential(&app, "dinkes");
    let (b_user, b_pass) = credential(&app, "bappeda");
    let a_login = Some((a_user.as_str(), a_pass.as_str()));
    let b_login = Some((b_user.as_str(), b_pass.as_str()));

    // B is connected and reporting.
    let mut b = raw(&app, "ronda-bappeda-gw", b_login, None);
    b.next().await.unwrap();
    let b_topic = "ronda/v1/bappeda/gw/report";
    b.client
        .publish(b_topic, QoS::AtLeastOnce, false, report("bappeda", 1))
        .await
        .unwrap();
    app.wait_report("bappeda", "gw", 1).await;

    // A publishes a report on B's topic: A is cut off, nothing is stored.
    let mut a = raw(&app, "ronda-dinkes-gw", a_login, None);
    a.next().await.unwrap();
    a.client
        .publish(b_topic, QoS::AtLeastOnce, false, report("bappeda", 2))
        .await
        .unwrap();
    assert!(a.next().await.is_err(), "A must be disconnected");
    assert_eq!(app.metric(&refused("publish_topic")).await, 1.0);

    // A claims B's office in a payload on its own topic: refused by ingest.
    let mut a = raw(&app, "ronda-dinkes-gw", a_login, None);
    a.next().await.unwrap();
    let own = "ronda/v1/dinkes/gw/report";
    a.client
        .publish(own, QoS::AtLeastOnce, false, report("bappeda", 3))
        .await
        .unwrap();
    let mismatch = "ronda_reports_rejected_total{reason=\"identity_mismatch\"}";
    eventually("the claim is counted", || async {
        (app.metric(mismatch).await == 1.0).then_some(())
    })
    .await;

    // A subscribes to B's acknowledgements: cut off too.
    a.client
        .subscribe("ronda/v1/bappeda/gw/ack", QoS::AtLeastOnce)
        .await
        .unwrap();
    assert!(a.next().await.is_err(), "A must be disconnected");
    assert_eq!(app.metric(&refused("subscribe_filter")).await, 1.0);

    // A connects with B's client id, in both spellings: B stays connected.
    for stolen in ["ronda-bappeda-gw", "bappeda:gw"] {
        let mut thief = raw(&app, stolen, a_login, None);
        thief.next().await.unwrap();
        assert!(b.still_up().await, "B lost its session to {stolen}");
    }
    b.client
        .publish(b_topic, QoS::AtLeastOnce, false, report("bappeda", 4))
        .await
        .unwrap();
    app.wait_report("bappeda", "gw", 4).await;
    assert!(b.still_up().await);

    // B's rows are its own two reports; A's attempts left nothing.
    assert_eq!(rows(&app, "bappeda").await, 2);
    assert_eq!(rows(&app, "dinkes").await, 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_gets_in_without_a_good_credential() {
    let app = spawn_app().await;
    let (user, pass) = credential(&app, "dinkes");

    let anonymous = raw(&app, "x", None, None);
    assert_eq!(
        anonymous.refused_with().await,
        ConnectReturnCode::BadUserNamePassword
    );
    let wrong = raw(&app, "x", Some((&user, "guess")), None);
    assert_eq!(
        wrong.refused_with().await,
        ConnectReturnCode::BadUserNamePassword
    );
    for bad in ["dinkes/+", "#", "dinkes/#", "+/gw"] {
        let wild = raw(&app, "x", Some((bad, &pass)), None);
        assert_eq!(wild.refused_with().await, ConnectReturnCode::NotAuthorized);
    }
    let not_an_agent = raw(&app, "x", Some(("dinkes", &pass)), None);
    assert_eq!(
        not_an_agent.refused_with().await,
        ConnectReturnCode::NotAuthorized
    );
    // A Last Will on another agent's state topic would mark it offline.
    let will = raw(
        &app,
        "x",
        Some((&user, &pass)),
        Some("ronda/v1/bappeda/gw/state"),
    );
    assert_eq!(will.refused_with().await, ConnectReturnCode::NotAuthorized);

    assert_eq!(app.metric(&refused("anonymous")).await, 1.0);
    assert_eq!(app.metric(&refused("bad_password")).await, 1.0);
    assert_eq!(app.metric(&refused("wildcard_username")).await, 4.0);
    assert_eq!(app.metric(&refused("bad_username")).await, 1.0);
    assert_eq!(app.metric(&refused("will_topic")).await, 1.0);

    // The good credential, with its own Last Will, gets in.
    let mut good = raw(
        &app,
        "x",
        Some((&user, &pass)),
        Some("ronda/v1/dinkes/gw/state"),
    );
    good.next().await.unwrap();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_agent_reports_over_tls_with_its_credential() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = ca.server_files(dir.path());
    let app = spawn_with(|c| {
        if let BrokerChoice::Embedded(e) = &mut c.broker {
            e.tls = Some(TlsListener {
                listen: "127.0.0.1:0".parse().unwrap(),
                cert_file,
                key_file,
            });
        }
    })
    .await;
    let tls_url = app.server.as_ref().unwrap().broker_tls_url.clone().unwrap();
    let mut config = app.agent_config("dinkes", "gw");
    config.broker.url = tls_url;
    config.broker.ca_file = Some(ca.write_ca(dir.path()));
    let agent = crate::common::spawn_agent(config);
    app.wait_report("dinkes", "gw", 2).await;
    app.wait_online("dinkes", "gw", true).await;
    agent.stop();
    app.stop().await;
}

/// The same rules with Mosquitto and the config shipped in
/// `examples/mosquitto/`. Mosquitto drops a publish it denies (and keeps
/// the connection), so the proof is what reaches the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_mosquitto_config_enforces_the_same_identity() {
    let ca = TestCa::new();
    let users = [
        ("ronda-server", "server-pw"),
        ("dinkes/gw", "a-pw"),
        ("bappeda/gw", "b-pw"),
        ("dinkes/+", "wild-pw"),
    ];
    let Some(broker) = crate::common::ronda_mosquitto(&ca, &users) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write_ca(dir.path());
    let login = |user: &str, password: &str| {
        crate::common::mosquitto::login(&broker, &ca_file, user, password)
    };
    let server = login("ronda-server", "server-pw");
    let app = spawn_with(|c| c.broker = BrokerChoice::External(server)).await;

    let mut b = raw_to(&login("bappeda/gw", "b-pw"), "ronda-bappeda-gw", None);
    b.next().await.unwrap();
    let mut a = raw_to(&login("dinkes/gw", "a-pw"), "ronda-dinkes-gw", None);
    a.next().await.unwrap();
    let mut wild = raw_to(&login("dinkes/+", "wild-pw"), "w", None);
    wild.next().await.unwrap();
    let nobody = BrokerConfig {
        ca_file: Some(ca_file.clone()),
        ..crate::common::broker_config(&broker.url)
    };
    let anonymous = raw_to(&nobody, "x", None);
    assert!(anonymous.next_is_refused().await);

    let (a_topic, b_topic) = ("ronda/v1/dinkes/gw/report", "ronda/v1/bappeda/gw/report");
    let qos = QoS::AtLeastOnce;
    // A on B's topic; A claiming B's office on its own topic; the wildcard
    // user on A's topic; A connecting with B's client id, as sent and as
    // Mosquitto sees it.
    a.client
        .publish(b_topic, qos, false, report("bappeda", 1))
        .await
        .unwrap();
    a.client
        .publish(a_topic, qos, false, report("bappeda", 2))
        .await
        .unwrap();
    // The thieves below take over A's session: let its two land first.
    a.acked(2).await;
    wild.client
        .publish(a_topic, qos, false, report("dinkes", 3))
        .await
        .unwrap();
    for stolen in ["ronda-bappeda-gw", "bappeda/gw"] {
        let mut thief = raw_to(&login("dinkes/gw", "a-pw"), stolen, None);
        thief.next().await.unwrap();
        assert!(b.still_up().await, "B lost its session to {stolen}");
    }

    // B's own report arrives after all of those, over the same broker.
    b.client
        .publish(b_topic, qos, false, report("bappeda", 4))
        .await
        .unwrap();
    app.wait_report("bappeda", "gw", 4).await;
    let mismatch = "ronda_reports_rejected_total{reason=\"identity_mismatch\"}";
    eventually("the claim is counted", || async {
        (app.metric(mismatch).await == 1.0).then_some(())
    })
    .await;
    assert_eq!(rows(&app, "bappeda").await, 1, "only B's own report");
    assert_eq!(rows(&app, "dinkes").await, 0);
    app.stop().await;
}

/// Finding 4 of issue 18: with an agent's stolen password, its own tree
/// holds only what the documented ACL gives (write report, state and
/// cmd/result; read cmd and ack) and nothing retained but `state`. A
/// retained `plug.set` on `cmd` would be run by the real agent at every
/// reconnect; a retained ack would empty its outbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stolen_agent_password_gives_only_the_documented_rights() {
    let app = spawn_app().await;
    let (user, pass) = credential(&app, "dinkes");
    let login = Some((user.as_str(), pass.as_str()));
    let base = "ronda/v1/dinkes/gw";
    let plug_set =
        br#"{"schema":1,"id":"x","action":"plug.set","params":{"plug":"rak-server","on":false}}"#;
    let everything = br#"{"through":1000000}"#;
    let publishes: [(&str, &[u8], bool); 5] = [
        ("cmd", plug_set, true),
        ("cmd", plug_set, false),
        ("ack", everything, true),
        ("ack", everything, false),
        ("report", &report("dinkes", 1), true),
    ];
    for (kind, body, retain) in publishes {
        let mut thief = raw(&app, "thief", login, None);
        thief.next().await.unwrap();
        let topic = format!("{base}/{kind}");
        thief
            .client
            .publish(&topic, QoS::AtLeastOnce, retain, body.to_vec())
            .await
            .unwrap();
        assert!(
            thief.is_closed().await,
            "publish on {kind} (retain {retain}) let through"
        );
    }
    for filter in ["report", "#", "+", "cmd/#"] {
        let mut thief = raw(&app, "thief", login, None);
        thief.next().await.unwrap();
        let filter = format!("{base}/{filter}");
        thief
            .client
            .subscribe(&filter, QoS::AtLeastOnce)
            .await
            .unwrap();
        assert!(thief.is_closed().await, "subscribe to {filter} let through");
    }
    assert_eq!(app.metric(&refused("publish_topic")).await, 4.0);
    assert_eq!(app.metric(&refused("publish_retain")).await, 1.0);
    assert_eq!(app.metric(&refused("subscribe_filter")).await, 4.0);

    // Nothing was left behind: subscribed as the agent subscribes, the
    // first message on cmd or ack is the server's ack of a live report.
    let (client, mut incoming) = listen(&app, login);
    client
        .subscribe_many(
            ["cmd", "ack"]
                .map(|k| rumqttc::SubscribeFilter::new(format!("{base}/{k}"), QoS::AtLeastOnce)),
        )
        .await
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), incoming.recv());
    let topic = format!("{base}/report");
    client
        .publish(&topic, QoS::AtLeastOnce, false, report("dinkes", 1))
        .await
        .unwrap();
    let first = first.await.expect("no message within 10 s").unwrap();
    assert_eq!(
        (first.topic.as_str(), &first.payload[..], first.retain),
        ("ronda/v1/dinkes/gw/ack", &br#"{"through":1}"#[..], false)
    );

    // The real agent (state retained, report, one SUBSCRIBE to cmd and ack)
    // works as before, with a credential of its own.
    let agent = crate::common::spawn_agent(app.agent_config("dinkes", "gw"));
    app.wait_report("dinkes", "gw", 2).await;
    app.wait_online("dinkes", "gw", true).await;
    agent.stop();
    app.wait_online("dinkes", "gw", false).await;
    app.stop().await;
}

/// A client that passes on every PUBLISH it receives.
fn listen(
    app: &TestApp,
    login: Option<(&str, &str)>,
) -> (AsyncClient, mpsc::UnboundedReceiver<rumqttc::Publish>) {
    let mut broker = crate::common::broker_config(&app.broker);
    if let Some((user, pass)) = login {
        broker.username = Some(user.to_owned());
        broker.password = Some(Secret::new(pass).into());
    }
    let o = ronda_common::link::options("listener", &broker, None, 1 << 20).unwrap();
    let (client, mut eventloop) = AsyncClient::new(o, 16);
    let (tx, incoming) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(event) = eventloop.poll().await {
            if let Event::Incoming(Packet::Publish(p)) = event {
                let _ = tx.send(p);
            }
        }
    });
    (client, incoming)
}

/// Finding 5 of issue 18: sockets that never finish a CONNECT hold a slot
/// each, up to a cap; past it the gate closes new sockets at once, and
/// once the silent ones go, agents get in again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_are_capped_and_agents_get_in_once_they_go() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let (user, pass) = credential(&app, "dinkes");
    let gate = format!("{}:{}", app.broker.host, app.broker.port);
    let mut silent = Vec::new();
    for i in 0..256 {
        let mut socket = tokio::net::TcpStream::connect(&gate).await.unwrap();
        if i % 2 == 0 {
            // Half a CONNECT: its first byte, then nothing.
            socket.write_all(&[0x10]).await.unwrap();
        }
        silent.push(socket);
    }
    let mut one_more = tokio::net::TcpStream::connect(&gate).await.unwrap();
    let mut byte = [0u8; 1];
    let read = one_more.read(&mut byte).await;
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert_eq!(app.metric(&refused("unadmitted_cap")).await, 1.0);

    drop(silent);
    let login = Some((user.as_str(), pass.as_str()));
    eventually("an agent to get in", || async {
        raw(&app, "gw", login, None).next().await.ok()
    })
    .await;
    app.stop().await;
}

/// A client without keep-alive could sit idle for ever once admitted;
/// rumqttd drops it without a word, after its password was checked. The
/// gate refuses it first, and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_keep_alive_is_refused_before_its_password_is_checked() {
    let app = spawn_app().await;
    let (user, pass) = credential(&app, "dinkes");
    let mut broker = crate::common::broker_config(&app.broker);
    broker.username = Some(user);
    broker.password = Some(Secret::new(pass).into());
    broker.keepalive = Duration::ZERO;
    let idle = raw_to(&broker, "x", None);
    assert_eq!(idle.refused_with().await, ConnectReturnCode::NotAuthorized);
    assert_eq!(app.metric(&refused("zero_keepalive")).await, 1.0);
    app.stop().await;
}
