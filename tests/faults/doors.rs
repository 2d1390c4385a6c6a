//! Door events survive the real `ronda-agent` killed with SIGKILL: once a
//! ZKTeco device has its `OK`, it never sends those events again, so the
//! agent's outbox is all that holds them.

use std::path::Path;

use super::binary;
use super::process::spawn;
use crate::common::*;
use ronda_sim::access::layout::STAFF;
use ronda_sim::state::lock;
use tokio_util::sync::CancellationToken;

const ZK: &str = "pintu-belakang";

fn write_config(sim: &ronda_sim::Sim, dir: &Path, broker: &str) -> std::path::PathBuf {
    let mut yaml = ronda_sim::agent_config::agent_yaml(sim, "dinkes", SIM_AGENT, broker, "1s");
    yaml.push_str(&format!("state_dir: {}\n", dir.join("state").display()));
    let path = dir.join("agent.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

async fn act(sim: &ronda_sim::Sim, patch: serde_json::Value) {
    let url = format!("http://{}/devices/{ZK}", sim.control);
    let resp = reqwest::Client::new()
        .post(url)
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{patch}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn door_events_a_device_was_told_are_kept_survive_an_agent_sigkill() {
    binary("ronda-agent");
    let dir = tempfile::tempdir().unwrap();
    let stop = CancellationToken::new();
    let layout = ronda_sim::layout::Layout {
        doors: Some(ronda_testkit::free_addr()),
    };
    let sim = ronda_sim::start(
        ronda_sim::layout::office(&layout),
        ronda_sim::Options::default(),
        stop.clone(),
    )
    .await
    .unwrap();
    lock(&sim.device(ZK).unwrap().state).access.push.second_ms = 50;

    // The agent cannot reach any broker: what the device sends can only be
    // in its outbox.
    let nowhere = format!("mqtt://127.0.0.1:{}", free_port());
    let config = write_config(&sim, dir.path(), &nowhere);
    let log = dir.path().join("agent.log");
    let run = ["run", "--config", config.to_str().unwrap()];
    let mut agent = spawn("ronda-agent", &run, &log);
    act(
        &sim,
        serde_json::json!({"door_event": "entry", "user": STAFF}),
    )
    .await;
    let told = || {
        let d = lock(&sim.device(ZK).unwrap().state);
        let last = d.access.log.last().map_or(0, |l| l.serial);
        (last > 0 && d.access.push.acked.get("rtlog") == Some(&last)).then_some(())
    };
    eventually("the device told OK for its entry", || async { told() }).await;
    agent.kill().unwrap(); // SIGKILL
    agent.wait().unwrap();
    // The device goes quiet: from now on only the outbox can deliver.
    act(&sim, serde_json::json!({"hang": true})).await;

    let app = spawn_with(anonymous).await;
    write_config(&sim, dir.path(), &app.broker.to_string());
    let mut agent = spawn("ronda-agent", &run, &log);
    let staff = format!(
        "SELECT count(*) FROM door_events WHERE office = 'dinkes' AND device = '{ZK}' \
         AND event LIKE '%\"who\":\"{STAFF}\"%'"
    );
    eventually("the staff entry on the server", || async {
        (sql(&app.db, &staff) == 1).then_some(())
    })
    .await;
    // The device's start, the grant and the door opening: all three.
    let all = format!("SELECT count(*) FROM door_events WHERE device = '{ZK}'");
    eventually("every kept event on the server", || async {
        (sql(&app.db, &all) == 3).then_some(())
    })
    .await;
    agent.kill().unwrap();
    agent.wait().unwrap();
    stop.cancel();
    app.stop().await;
}
