//! Fault tests of processes (issue 7): the real `ronda-agent` killed with
//! SIGKILL at random moments, and the real `ronda-server` killed with SIGKILL
//! mid-ingest, both through Mosquitto. Each prints its figures.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::process::{spawn, terminate, ServerProcess};
use super::{binary, outbox_agent, outbox_state, sql, tail, Dice, Tally};
use crate::common::*;
use ronda_agent::outbox::{Limits, Outbox, Sync};
use ronda_sim::readings::MadeUpOffice;
use tokio_util::sync::CancellationToken;

/// Fail at once, before any broker or server starts, when the binaries are
/// not built.
fn binaries() {
    binary("ronda-agent");
    binary("ronda-server");
}

fn agent_yaml(dir: &Path, broker: &str, interval: &str) -> PathBuf {
    let path = dir.join("agent.yaml");
    // The config allows 1 s at the least. No start-up jitter, so each run
    // makes a report at once; a short ack timeout, so a report the broker
    // dropped around a kill goes again soon.
    let yaml = format!(
        "office: dinkes\nagent: crashy\ninterval: {interval}\nstartup_jitter: 0s\n\
         state_dir: {}\nbroker:\n  url: {broker}\n  keepalive: 5s\noutbox:\n  ack_timeout: 2s\n",
        dir.join("state").display()
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

/// `n` reports left in the agent's outbox by an earlier run that could not
/// reach the broker, one a second up to now.
async fn backlog(state_dir: &Path, n: u64) {
    // Written without fsync, to be quick: the agent opens it again with
    // `synchronous=FULL`, and nothing crashes before that.
    let (mut outbox, _) = Outbox::open(state_dir, Limits::default(), Sync::Off).unwrap();
    let mut office = MadeUpOffice::new("dinkes");
    let now = jiff::Timestamp::now();
    for i in 0..n {
        use ronda_agent::Source;
        let s = office.collect().await;
        let mut report = ronda_wire::Report {
            schema: ronda_wire::SCHEMA_VERSION,
            office: ronda_wire::Id::new("dinkes").unwrap(),
            agent: ronda_wire::Id::new("crashy").unwrap(),
            seq: 0,
            observed_at: now - jiff::SignedDuration::from_secs((n - i) as i64),
            host: s.host,
            recorders: s.recorders,
            plugs: s.plugs,
            services: s.services,
            access: Vec::new(),
            delivery: None,
        };
        let observed_ms = report.observed_at.as_millisecond();
        outbox
            .push(observed_ms, |seq| {
                report.seq = seq;
                serde_json::to_vec(&report).unwrap()
            })
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_killed_ten_times_at_random_loses_no_report() {
    let Some(broker) = mosquitto() else {
        return;
    };
    binaries();
    let app = spawn_with(external(&broker.url)).await;
    let dir = app.dir.path().join("agent");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("agent.log");
    let url = broker.url.to_string();
    let config = agent_yaml(&dir, &url, "1s");
    let run = ["run", "--config", config.to_str().unwrap()];
    // A backlog, as after an outage, so that kills also land while it is
    // being sent, acknowledged and deleted (50 a second), not only in the
    // idle second between two reports.
    const BACKLOG: u64 = 400;
    backlog(&dir.join("state"), BACKLOG).await;

    const KILLS: usize = 10;
    let mut dice = Dice::new("agent SIGKILL");
    let mut lived = Vec::new();
    let mut held_after = Vec::new();
    for _ in 0..KILLS {
        let mut agent = spawn("ronda-agent", &run, &log);
        // Anywhere from start-up (outbox opening, connecting, the first
        // report) through a couple of report rounds and acknowledgements.
        let life = dice.millis(0, 2500);
        tokio::time::sleep(life).await;
        assert!(
            agent.try_wait().unwrap().is_none(),
            "the agent exited by itself:\n{}",
            tail(&log, 20)
        );
        agent.kill().unwrap(); // SIGKILL
        agent.wait().unwrap();
        lived.push(life.as_millis());
        held_after.push(outbox_state(&dir.join("state")).1);
    }
    let (made_by_kills, _) = outbox_state(&dir.join("state"));

    // Run cleanly until everything is acknowledged. An hour's interval: one
    // report as it starts, then none, so the outbox can become empty.
    agent_yaml(&dir, &url, "1h");
    let mut agent = spawn("ronda-agent", &run, &log);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (last, held) = outbox_state(&dir.join("state"));
        let acked = Tally::of(&app.db, "dinkes", "crashy", last).acked_through;
        if last > made_by_kills && held == 0 && acked == last {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "outbox not drained: made {last}, held {held}, acknowledged {acked}\n{}",
            tail(&log, 20)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    terminate(&mut agent);

    // The highest seq the outbox ever gave out is what must have arrived:
    // it is handed out in the transaction that keeps the report.
    let (made, held) = outbox_state(&dir.join("state"));
    let tally = Tally::of(&app.db, "dinkes", "crashy", made);
    assert_eq!(held, 0, "outbox empty after the clean run");
    assert!(
        tally.beyond.is_empty(),
        "the server holds seqs {:?} above the outbox's last {made}: a seq was given out twice",
        tally.beyond
    );
    assert!(
        tally.holes.is_empty(),
        "seqs {:?} of 1..={made} never reached the server\n{}",
        tally.holes,
        tail(&log, 40)
    );
    assert_eq!(tally.stored, made, "every seq stored once");
    // One server run saw it all: each repeat the broker delivered counted.
    let repeats = super::delivery::repeats_counted(|m| app.metric(m), made as f64).await;
    eprintln!(
        "FIGURE agent SIGKILL x{KILLS} (lived {lived:?} ms; outbox held {held_after:?} after each): {made} reports made ({BACKLOG} of them a backlog from before, {made_by_kills} before the clean run), {} stored, {} holes, {repeats} repeats delivered, each counted as a duplicate",
        tally.stored,
        tally.holes.len()
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_ten_times_mid_ingest_loses_no_acknowledged_report() {
    let Some(broker) = mosquitto() else {
        return;
    };
    binaries();
    let dir = tempfile::tempdir().unwrap();
    let url = broker.url.to_string();
    let mut server = ServerProcess::start(dir.path(), &url);
    let db = server.db.location.clone();
    server.ready().await;

    const AGENTS: usize = 8;
    const KILLS: usize = 10;
    let made = Arc::new(AtomicU64::new(0));
    let agents = |interval: Duration, stop: &CancellationToken| -> Vec<_> {
        (0..AGENTS)
            .map(|i| {
                let office = format!("kill-{i}");
                outbox_agent(dir.path(), &office, &broker.url, interval, &made, stop)
            })
            .collect()
    };
    let stop = CancellationToken::new();
    let running = agents(Duration::from_millis(100), &stop);

    let mut dice = Dice::new("server SIGKILL");
    let (mut backfill, mut repeats) = (0.0, 0.0);
    let mut stored_at_start = 0;
    let mut lived = Vec::new();
    let mut restarts = Vec::new();
    for _ in 0..KILLS {
        // From the moment it subscribes (retained states, resends, the
        // backlog of every agent at once) to well into steady ingest.
        let life = dice.millis(0, 2500);
        tokio::time::sleep(life).await;
        let stored_before = sql(&db, "SELECT count(*) FROM reports");
        // What this run of the server took as back-fill (reports coming
        // again from an outbox) and as repeats, before its counters die.
        backfill += server.metric("ronda_reports_backfilled_total").await;
        repeats += server.metric("ronda_reports_duplicate_total").await;
        server.kill();
        // What the next run will find already stored.
        stored_at_start = sql(&db, "SELECT count(*) FROM reports");
        // Down for a moment, as under a supervisor's restart delay: what
        // the agents publish meanwhile finds no subscriber and is dropped
        // by the broker, so only their outboxes can bring it back.
        let down = dice.millis(0, 1000);
        tokio::time::sleep(down).await;
        lived.push((life.as_millis(), down.as_millis(), stored_before));
        server.restart();
        restarts.push(server.ready().await.as_millis());
    }
    // A little steady ingest after the last restart, then no new reports.
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.cancel();
    for task in running {
        task.await.unwrap();
    }
    let first_run = made.load(Ordering::Relaxed);

    // Each agent again on its outbox, making one report as it starts and
    // none for an hour, until the server has every report and says so.
    let quiet = CancellationToken::new();
    let drain = agents(Duration::from_secs(3600), &quiet);
    while made.load(Ordering::Relaxed) < first_run + AGENTS as u64 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total = made.load(Ordering::Relaxed) as i64;
    let settled_at = Instant::now();
    let deadline = settled_at + Duration::from_secs(60);
    let (mut stored, mut acked);
    loop {
        stored = sql(&db, "SELECT count(*) FROM reports");
        acked = sql(
            &db,
            "SELECT CAST(coalesce(sum(acked_through), 0) AS BIGINT) FROM agents",
        );
        // The server commits its acknowledgement before it publishes it:
        // wait for the agents to have taken it too.
        let held: u64 = (0..AGENTS)
            .map(|i| outbox_state(&dir.path().join(format!("kill-{i}"))).1)
            .sum();
        if (stored == total && acked == total && held == 0) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let settled = settled_at.elapsed();
    backfill += server.metric("ronda_reports_backfilled_total").await;
    // The last server run, never killed, saw all it counted: of what the
    // broker delivered to it, the rows it added were new, the rest repeats,
    // and each repeat must be counted as one. (Earlier runs' counters die
    // with them, mid-count.)
    let new_rows = (stored - stored_at_start) as f64;
    repeats += super::delivery::repeats_counted(|m| server.metric(m), new_rows).await;
    quiet.cancel();
    for task in drain {
        task.await.unwrap();
    }

    // Every seq each outbox gave out is on the server. A hole at or below
    // what the server acknowledged is a report lost for good: the agent
    // deleted it on that acknowledgement.
    let mut lost = Vec::new();
    let mut made_by_outboxes = 0;
    for i in 0..AGENTS {
        let office = format!("kill-{i}");
        let (last, held) = outbox_state(&dir.path().join(&office));
        let tally = Tally::of(&db, &office, "gw", last);
        made_by_outboxes += last;
        if !tally.complete() || held > 0 {
            let below_ack: Vec<_> = tally
                .holes
                .iter()
                .filter(|s| **s <= tally.acked_through)
                .collect();
            lost.push(format!(
                "{office}: made {last}, held {held}, stored {}, acknowledged {}, holes {:?} (at or below the acknowledgement: {below_ack:?}), above the last seq {:?}",
                tally.stored, tally.acked_through, tally.holes, tally.beyond
            ));
        }
    }
    assert!(
        lost.is_empty(),
        "after {:.1} s of settling, {stored} stored and {acked} acknowledged of {total}:\n{}\nserver log:\n{}",
        settled.as_secs_f64(),
        lost.join("\n"),
        tail(&server.log, 30)
    );
    assert_eq!(made_by_outboxes as i64, total);
    eprintln!(
        "FIGURE server SIGKILL x{KILLS} mid-ingest: {AGENTS} agents every 100 ms, {total} reports made, {stored} stored, 0 lost (the servers took {backfill} reports as back-fill and {repeats} as repeats, sent again from the outboxes), all acknowledged {:.1} s after the last report; killed (ms after ready, ms down, reports stored by then) {lived:?}; restarts took {restarts:?} ms",
        settled.as_secs_f64()
    );
}
