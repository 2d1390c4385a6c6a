//! End to end over the embedded broker: a real agent reports, the API shows
//! it, and stopping or killing the agent marks it offline.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{spawn_agent, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_report_reaches_the_api_and_a_clean_stop_is_offline_at_once() {
    let app = spawn_app().await;
    let agent = spawn_agent(app.agent_config("dinkes", "kantor-utama"));

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
    let app = spawn_app().await;
    let config = app.agent_config("disdukcapil", "gw");
    let agent = spawn_agent(config.clone());
    let first = app.wait_report("disdukcapil", "gw", 1).await["last_seq"]
        .as_u64()
        .unwrap();
    agent.stop();
    // The second run's reports must be stored, not dropped as duplicates.
    let agent = spawn_agent(config);
    app.wait_report("disdukcapil", "gw", first + 1).await;
    agent.stop();
    app.stop().await;
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
