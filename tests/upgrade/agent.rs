//! The previous release's agent outbox under this build: every report and
//! door event it held reaches a real server, which acknowledges them all;
//! the sequence goes on from where it stood, and the door cursors are kept.

use std::collections::BTreeMap;
use std::time::Duration;

use rusqlite::Connection;
use serde_json::Value;

use super::copy;
use crate::common::{eventually, outbox_state, spawn_agent, spawn_app, sql};

/// What the old outbox held: its records by seq, the last seq it gave out,
/// and its door cursors.
struct Held {
    records: BTreeMap<u64, Value>,
    last_seq: u64,
    cursors: BTreeMap<String, String>,
}

fn held(path: &std::path::Path) -> Held {
    let db = Connection::open(path).unwrap();
    let mut stmt = db.prepare("SELECT seq, body FROM records").unwrap();
    let records = stmt
        .query_map([], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Vec<u8>>(1)?))
        })
        .unwrap()
        .map(|r| {
            let (seq, body) = r.unwrap();
            (seq, serde_json::from_slice(&body).unwrap())
        })
        .collect();
    let last_seq: i64 = db
        .query_row("SELECT value FROM meta WHERE key = 'last_seq'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let mut stmt = db.prepare("SELECT device, value FROM cursors").unwrap();
    let cursors = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    Held {
        records,
        last_seq: last_seq as u64,
        cursors,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_outbox_is_delivered_whole_and_keeps_its_cursors() {
    let app = spawn_app().await;
    let old = held(&copy(
        "agent-outbox.db",
        &app.dir.path().join("old-outbox.db"),
    ));
    let (events, reports): (Vec<_>, Vec<_>) = old
        .records
        .iter()
        .partition(|(_, body)| body.get("doors").is_some());
    assert!(
        !events.is_empty() && !reports.is_empty() && !old.cursors.is_empty(),
        "the fixture must hold reports, door events and cursors: regenerate it (make.sh)"
    );
    let office = old.records[&old.last_seq]["office"]
        .as_str()
        .unwrap()
        .to_owned();
    let agent = old.records[&old.last_seq]["agent"]
        .as_str()
        .unwrap()
        .to_owned();

    let state = app.dir.path().join("agent-state");
    copy("agent-outbox.db", &state.join("outbox.db"));
    let mut config = app.agent_config(&office, &agent);
    config.state_dir = state.clone();
    // One report as it starts, then none, so the outbox can become empty.
    config.interval = Duration::from_secs(3600);
    // Taking a new report drops those older than `max_age` (14 days by
    // default), and the fixture's are as old as the fixture.
    config.outbox.max_age = Duration::from_secs(100 * 365 * 86_400);
    let running = spawn_agent(config);
    let last = old.last_seq + 1;
    let acked_q = format!(
        "SELECT coalesce((SELECT acked_through FROM agents WHERE office = '{office}' AND agent = '{agent}'), 0)"
    );
    eventually("the old outbox delivered and acknowledged", || async {
        let (made, held) = outbox_state(&state);
        let acked = sql(&app.db, &acked_q) as u64;
        (made == last && held == 0 && acked == last).then_some(())
    })
    .await;
    running.stop();

    // Every report is stored under its seq, and every door event once.
    for (seq, _) in &reports {
        let q = format!(
            "SELECT count(*) FROM reports WHERE office = '{office}' AND agent = '{agent}' AND seq = {seq}"
        );
        assert_eq!(sql(&app.db, &q), 1, "report {seq}");
    }
    for (seq, body) in &events {
        let q = format!(
            "SELECT count(*) FROM door_events WHERE office = '{office}' AND agent = '{agent}' AND seq = {seq}"
        );
        let n = body["doors"].as_array().unwrap().len() as i64;
        assert_eq!(sql(&app.db, &q), n, "door events of record {seq}");
    }
    // The API shows the agent's newest report: the one this build made,
    // numbered after the old outbox's last.
    let row = app.wait_report(&office, &agent, last).await;
    assert_eq!(row["report"]["seq"], last);

    let (outbox, _) = ronda_agent::outbox::Outbox::open(
        &state,
        ronda_agent::outbox::Limits::default(),
        ronda_agent::outbox::Sync::Full,
    )
    .unwrap();
    assert_eq!(outbox.cursors().unwrap(), old.cursors, "door cursors");
    app.stop().await;
}
