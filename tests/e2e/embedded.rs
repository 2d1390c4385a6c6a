//! End to end over the embedded broker: a real agent reports, the API shows
//! it, and stopping or killing the agent marks it offline.

use std::sync::{Arc, Mutex};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::net::{TcpListener, TcpStream};

use std::time::{Duration, Instant};

use crate::common::{anonymous, outbox_state, spawn_agent, spawn_app, spawn_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_report_reaches_the_api_and_a_clean_stop_is_offline_at_once() {
    let app = spawn_app().await;
    let mut config = app.agent_config("dinkes", "kantor-utama");
    // A goodbye and a Last Will are the same message (`offline`, retained,
    // wire/README.md); what tells them apart is who sends it and when. Here
    // the broker's Last Will cannot fire within the test: the relay never
    // passes the agent's close on, and the keepalive would run out only
    // after an hour and a half. So an `offline` can only be the goodbye.
    config.broker.url.port = relay_holding_closes(app.broker.port).await;
    config.broker.keepalive = Duration::from_secs(3600);
    let agent = spawn_agent(config);

    let row = app.wait_report("dinkes", "kantor-utama", 1).await;
    assert_eq!(row["online"], true);
    let host = &row["report"]["host"];
    assert!(!host["hostname"].as_str().unwrap().is_empty(), "{host}");
    assert!(host["memory"]["total_bytes"].as_u64().unwrap() > 0);
    assert!(host["disks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["mount"] == "/"));

    let (_, list) = app.get_json("/api/v1/agents").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["office"], "dinkes");
    assert!(list[0].get("report").is_none(), "the list stays small");

    agent.stop();
    app.wait_online("dinkes", "kantor-utama", false).await;
    assert_eq!(app.metric("ronda_agents_online").await, 0.0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_agent_is_marked_offline_by_its_last_will() {
    let app = spawn_app().await;
    let agent = spawn_agent(app.agent_config("bappeda", "gw-1"));
    app.wait_online("bappeda", "gw-1", true).await;
    assert_eq!(app.metric("ronda_agents_online").await, 1.0);

    agent.kill();
    // Nothing but the broker can say offline now: the agent is gone.
    app.wait_online("bappeda", "gw-1", false).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_agent_is_marked_offline_after_its_keepalive_runs_out() {
    let app = spawn_app().await;
    let mut config = app.agent_config("dinkes", "silent");
    config.broker.keepalive = Duration::from_secs(1);
    let agent = spawn_agent(config);
    app.wait_online("dinkes", "silent", true).await;

    let frozen = agent.freeze();
    let started = Instant::now();
    app.wait_online("dinkes", "silent", false).await;
    // A figure for the notes, not an assertion: the budget is 1.5 x keepalive.
    eprintln!(
        "silence detected after {:?} (keepalive 1 s)",
        started.elapsed()
    );
    drop(frozen);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_agent_continues_its_sequence() {
    let app = spawn_with(anonymous).await;
    let config = app.agent_config("disdukcapil", "gw");
    let agent = spawn_agent(config.clone());
    app.wait_report("disdukcapil", "gw", 2).await;
    agent.stop();
    // The highest seq the first run handed out, as its outbox keeps it.
    let (last, _) = outbox_state(&config.state_dir);
    assert!(last >= 2, "the first run made {last} reports");

    let seen = watch_reports(&app, "disdukcapil", "gw").await;
    let restarted = jiff::Timestamp::now();
    let agent = spawn_agent(config);
    // The second run's reports must be stored, not dropped as duplicates.
    app.wait_report("disdukcapil", "gw", last + 1).await;
    // The first report the second run made (observed after the restart;
    // what arrives before it may be the first run's, sent again) carries
    // the seq after the last one. An agent that started again from 1 would
    // be seen here even though a later report satisfied the wait above.
    let first = crate::common::eventually("a report of the second run", || async {
        let seen = seen.lock().unwrap();
        seen.iter()
            .find(|(_, at)| *at >= restarted)
            .map(|(seq, _)| *seq)
    })
    .await;
    assert_eq!(first, last + 1, "the sequence after the restart");
    agent.stop();
    app.stop().await;
}

/// Every report of `office/agent` the broker delivers from now on, in the
/// order it delivers them: (seq, observed at).
async fn watch_reports(
    app: &crate::common::TestApp,
    office: &str,
    agent: &str,
) -> Arc<Mutex<Vec<(u64, jiff::Timestamp)>>> {
    let mut o = MqttOptions::new("test-watcher", "127.0.0.1", app.broker.port);
    o.set_keep_alive(Duration::from_secs(5));
    let (client, mut events) = AsyncClient::new(o, 16);
    let topic = format!("ronda/v1/{office}/{agent}/report");
    client.subscribe(topic, QoS::AtLeastOnce).await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (subscribed, ready) = tokio::sync::oneshot::channel();
    let into = seen.clone();
    tokio::spawn(async move {
        let _client = client;
        let mut subscribed = Some(subscribed);
        while let Ok(event) = events.poll().await {
            match event {
                Event::Incoming(Packet::SubAck(_)) => {
                    subscribed.take().map(|s| s.send(()));
                }
                Event::Incoming(Packet::Publish(p)) => {
                    let r: serde_json::Value = serde_json::from_slice(&p.payload).unwrap();
                    let at = r["observed_at"].as_str().unwrap().parse().unwrap();
                    into.lock().unwrap().push((r["seq"].as_u64().unwrap(), at));
                }
                _ => {}
            }
        }
    });
    ready.await.unwrap();
    seen
}

/// A relay to the broker on 127.0.0.1:`upstream` that forwards both ways
/// but never passes the client's close on: the broker's side stays open
/// until the broker closes it. Its port.
async fn relay_holding_closes(upstream: u16) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let broker = TcpStream::connect(("127.0.0.1", upstream)).await.unwrap();
            let (mut client_rx, mut client_tx) = client.into_split();
            let (mut broker_rx, mut broker_tx) = broker.into_split();
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut client_rx, &mut broker_tx).await;
                // Dropping the write half would send the broker a FIN:
                // hold it, as a line that died without a word.
                std::future::pending::<()>().await;
                drop(broker_tx);
            });
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut broker_rx, &mut client_tx).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_answers_unknown_and_malformed_ids_plainly() {
    let app = spawn_app().await;
    let (status, v) = app.get_json("/api/v1/agents/dinkes/nobody").await;
    assert_eq!((status, v["error"].as_str()), (404, Some("not found")));
    let (status, v) = app.get_json("/api/v1/agents/Dinkes/x").await;
    assert_eq!(status, 400);
    assert!(v["error"].as_str().unwrap().contains("Dinkes"));
    let (status, v) = app.get_json("/healthz").await;
    assert_eq!((status, &v["status"]), (200, &serde_json::json!("ok")));
    let page = app
        .client
        .get(format!("{}/", app.http))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    app.stop().await;
}
