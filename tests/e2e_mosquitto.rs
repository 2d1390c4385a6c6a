//! The same spine against a real Mosquitto: the server as an external-broker
//! client, agents reporting through it, and its Last Will handling.
#![allow(clippy::unwrap_used)]

mod common;

use common::{eventually, external, mosquitto, spawn_agent, spawn_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_flow_through_mosquitto() {
    let Some(broker) = mosquitto() else { return };
    let app = spawn_with(external(&broker.url)).await;
    let agent = spawn_agent(app.agent_config("dinkes", "kantor-utama"));

    let v = eventually("the report via Mosquitto", || async {
        let (_, v) = app.get_json("/api/v1/agents/dinkes/kantor-utama").await;
        (v["report"]["seq"].as_u64() >= Some(2)).then_some(v)
    })
    .await;
    assert_eq!(v["online"], true);
    assert_eq!(v["report"]["office"], "dinkes");

    agent.stop();
    eventually("offline after a clean stop", || async {
        let (_, v) = app.get_json("/api/v1/agents/dinkes/kantor-utama").await;
        (v["online"] == false).then_some(())
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_publishes_the_last_will_of_a_killed_agent() {
    let Some(broker) = mosquitto() else { return };
    let app = spawn_with(external(&broker.url)).await;
    let agent = spawn_agent(app.agent_config("bappeda", "gw-1"));
    eventually("the agent online", || async {
        let (_, v) = app.get_json("/api/v1/agents/bappeda/gw-1").await;
        (v["online"] == true).then_some(())
    })
    .await;
    agent.kill();
    eventually("offline through the Last Will", || async {
        let (_, v) = app.get_json("/api/v1/agents/bappeda/gw-1").await;
        (v["online"] == false).then_some(())
    })
    .await;
    app.stop().await;
}
