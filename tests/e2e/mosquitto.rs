//! The same spine against a real Mosquitto: the server as an external-broker
//! client, agents reporting through it, and its Last Will handling.

use crate::common::{external, mosquitto, spawn_agent, spawn_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_flow_through_mosquitto() {
    let Some(broker) = mosquitto() else { return };
    let app = spawn_with(external(&broker.url)).await;
    let agent = spawn_agent(app.agent_config("dinkes", "kantor-utama"));

    let v = app.wait_report("dinkes", "kantor-utama", 2).await;
    assert_eq!(v["online"], true);
    assert_eq!(v["report"]["office"], "dinkes");

    agent.stop();
    app.wait_online("dinkes", "kantor-utama", false).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_publishes_the_last_will_of_a_killed_agent() {
    let Some(broker) = mosquitto() else { return };
    let app = spawn_with(external(&broker.url)).await;
    let agent = spawn_agent(app.agent_config("bappeda", "gw-1"));
    app.wait_online("bappeda", "gw-1", true).await;
    agent.kill();
    // Nothing but the broker can say offline now: the agent is gone.
    app.wait_online("bappeda", "gw-1", false).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_private_ca_and_passwords() {
    use crate::common::{broker_config, secure_mosquitto, TestCa};
    use ronda_common::conf::Secret;

    let ca = TestCa::new();
    let users = [("ronda-server", "server-pw"), ("dinsos-gw", "agent-pw")];
    let Some(broker) = secure_mosquitto(&ca, &users) else {
        return;
    };
    let ca_dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write_ca(ca_dir.path());
    let login = |user: &str, password: &str| {
        let mut b = broker_config(&broker.url);
        b.username = Some(user.to_owned());
        b.password = Some(Secret::new(password).into());
        b.ca_file = Some(ca_file.clone());
        b
    };
    let server_login = login("ronda-server", "server-pw");
    let app = crate::common::spawn_with(|c| {
        c.broker = ronda_server::BrokerChoice::External(server_login)
    })
    .await;

    let mut intruder = app.agent_config("dinkes", "gw");
    intruder.broker = login("dinsos-gw", "wrong-password");
    let intruder = spawn_agent(intruder);
    let mut good = app.agent_config("dinsos", "gw");
    good.broker = login("dinsos-gw", "agent-pw");
    let good = spawn_agent(good);

    // Three reports take over a second: the intruder, started at the same
    // time, has been refused by then (its first retry comes within 0.5 s).
    app.wait_report("dinsos", "gw", 3).await;
    assert_eq!(app.get_json("/api/v1/agents/dinkes/gw").await.0, 404);
    intruder.stop();
    good.stop();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_declares_a_silent_agent_offline() {
    let Some(broker) = mosquitto() else { return };
    let app = spawn_with(external(&broker.url)).await;
    let mut config = app.agent_config("dinkes", "silent");
    config.broker.keepalive = std::time::Duration::from_secs(1);
    let agent = spawn_agent(config);
    app.wait_online("dinkes", "silent", true).await;
    let frozen = agent.freeze();
    let started = std::time::Instant::now();
    app.wait_online("dinkes", "silent", false).await;
    eprintln!(
        "silence detected by Mosquitto after {:?} (keepalive 1 s)",
        started.elapsed()
    );
    drop(frozen);
    app.stop().await;
}
