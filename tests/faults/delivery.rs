//! Fault tests of end-to-end delivery (issue 7): a broker killed with
//! SIGKILL, and an agent cut off for long enough to fill its outbox.
//! Each prints its figures.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use ronda_agent::outbox::{Limits, Outbox, Sync};

use super::run_counted;
use tokio_util::sync::CancellationToken;

fn outbox(app: &TestApp, name: &str, limits: Limits) -> Outbox {
    let dir = app.dir.path().join(name);
    // No crash of the agent here, so no need to pay for fsync 500 times a second.
    Outbox::open(&dir, limits, Sync::Off).unwrap().0
}

/// Reports an agent's outbox still holds, read beside the running agent.
fn held(app: &TestApp, name: &str) -> i64 {
    let db = rusqlite::Connection::open(app.dir.path().join(name).join("outbox.db")).unwrap();
    db.query_row("SELECT count(*) FROM records", [], |r| r.get(0))
        .unwrap()
}

/// Wait until the server's duplicate counter shows every repeat the broker
/// delivered: its `accepted` count (every valid report delivered) less the
/// `distinct` reports among them. A repeat accepted but not yet committed
/// is not counted yet, hence the wait. The number of repeats.
pub async fn repeats_counted<F, Fut>(metric: F, distinct: f64) -> f64
where
    F: Fn(&'static str) -> Fut,
    Fut: std::future::Future<Output = f64>,
{
    let metric = &metric;
    let what = format!("every repeat delivered counted as a duplicate ({distinct} distinct)");
    eventually(&what, || async move {
        let accepted = metric("ronda_reports_accepted_total").await;
        let repeats = metric("ronda_reports_duplicate_total").await;
        (repeats == accepted - distinct).then_some(repeats)
    })
    .await
}

fn sql(app: &TestApp, q: &str) -> i64 {
    crate::common::sql(&app.db, q)
}

/// Start `n` agents of office `load-{i}`; they stop with `stop`.
fn agents(
    app: &TestApp,
    n: usize,
    interval: Duration,
    made: &Arc<AtomicU64>,
    stop: &CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..n)
        .map(|i| {
            let office = format!("load-{i}");
            let mut config = app.agent_config(&office, "gw");
            config.interval = interval;
            config.startup_jitter = interval.min(Duration::from_millis(100));
            config.pace.ack_timeout = Duration::from_secs(10);
            let outbox = outbox(app, &office, config.outbox);
            run_counted(config, &office, made, outbox, stop.clone())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_killed_for_ten_seconds_loses_no_report() {
    let Some(mut broker) = mosquitto() else {
        return;
    };
    let app = spawn_with(external(&broker.url)).await;
    const AGENTS: usize = 50;
    const WANTED: u64 = 10_000;
    let made = Arc::new(AtomicU64::new(0));
    let stop = CancellationToken::new();
    let running = agents(&app, AGENTS, Duration::from_millis(100), &made, &stop);

    tokio::time::sleep(Duration::from_secs(5)).await;
    broker.kill();
    let made_before_kill = made.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(10)).await;
    broker.restart();
    let back = Instant::now();
    while made.load(Ordering::Relaxed) < WANTED {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    for task in running {
        task.await.unwrap();
    }

    // Restart each agent on its outbox, making no new reports, to deliver
    // what the first run still held.
    let quiet = CancellationToken::new();
    let first_run = made.load(Ordering::Relaxed);
    let drain = agents(&app, AGENTS, Duration::from_secs(3600), &made, &quiet);
    // Each makes one report as it starts, then none for an hour.
    while made.load(Ordering::Relaxed) < first_run + AGENTS as u64 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total = made.load(Ordering::Relaxed) as i64;
    // Reports the broker took while the server was not yet subscribed again
    // are gone from the broker; the agents send them again after their ack
    // timeout. So this may take the server's backoff plus that timeout.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let stored = sql(&app, "SELECT count(*) FROM reports");
        let acked = sql(
            &app,
            "SELECT CAST(coalesce(sum(acked_through), 0) AS BIGINT) FROM agents",
        );
        // The server records an acknowledgement before it publishes it: wait
        // for the agents to have heard it too.
        let held: i64 = (0..AGENTS).map(|i| held(&app, &format!("load-{i}"))).sum();
        if stored == total && acked == total && held == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{stored} stored, {acked} acknowledged, {held} still in outboxes, of {total} made"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drained_after = back.elapsed();
    quiet.cancel();
    for task in drain {
        task.await.unwrap();
    }

    let mut made_by_outboxes = 0;
    for i in 0..AGENTS {
        let o = outbox(&app, &format!("load-{i}"), Limits::default());
        assert!(o.is_empty(), "load-{i} still holds {} reports", o.len());
        let office = format!("load-{i}");
        let (count, max) = {
            let db = crate::common::db::open(&app.db);
            db.query_row(
                "SELECT count(*), max(seq) FROM reports WHERE office = ?1",
                [&office],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )
            .unwrap()
        };
        assert_eq!(
            (count, max),
            (o.last_seq() as i64, o.last_seq() as i64),
            "{office}: every seq from 1 stored once"
        );
        made_by_outboxes += o.last_seq() as i64;
    }
    assert_eq!(made_by_outboxes, total);
    // Every report the broker delivered passed validation (`accepted`);
    // `total` of them were distinct (each seq stored once, above). So the
    // broker delivered `accepted - total` repeats, and each must have been
    // recognised as one: counted, not stored, not lost as an error.
    assert_eq!(
        app.metric("ronda_reports_stored_total").await,
        total as f64,
        "stored once each"
    );
    let repeats = repeats_counted(|m| app.metric(m), total as f64).await;
    eprintln!(
        "FIGURE broker SIGKILL 10 s: {AGENTS} agents, {total} reports made ({made_before_kill} before the kill), {total} stored, 0 lost; {repeats} repeats delivered, each counted as a duplicate; all acknowledged {:.1} s after the broker came back",
        drained_after.as_secs_f64()
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_outage_keeps_the_outbox_in_its_cap_and_shows_one_gap() {
    let app = spawn_app().await;
    let mut config = app.agent_config("dinkes", "gw");
    // A broker that is not there: the office's line is down.
    config.broker.url.port = free_port();
    config.interval = Duration::from_millis(10);
    config.startup_jitter = Duration::ZERO;
    config.outbox = Limits {
        max_bytes: 64 << 10,
        max_age: Duration::from_secs(3600),
    };
    let made = Arc::new(AtomicU64::new(0));
    let stop = CancellationToken::new();
    let run = |config: ronda_agent::AgentConfig, stop: CancellationToken| {
        let outbox = outbox(&app, "dinkes", config.outbox);
        run_counted(config, "dinkes", &made, outbox, stop)
    };
    let offline = run(config.clone(), stop.clone());
    let mut largest = 0;
    while made.load(Ordering::Relaxed) < 500 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let db = app.dir.path().join("dinkes/outbox.db");
        if let Ok(conn) = rusqlite::Connection::open(&db) {
            let bytes: i64 = conn
                .query_row(
                    "SELECT coalesce(sum(length(body)), 0) FROM records",
                    [],
                    |r| r.get(0),
                )
                .unwrap_or(0);
            largest = largest.max(bytes);
        }
    }
    stop.cancel();
    offline.await.unwrap();
    assert!(largest <= 64 << 10, "outbox grew to {largest} bytes");
    let held = outbox(&app, "dinkes", config.outbox);
    let (last, kept, dropped) = (
        held.last_seq(),
        held.len(),
        held.delivery().unwrap().dropped,
    );
    drop(held);
    assert!(
        dropped > 0 && kept + dropped == last,
        "kept {kept} + dropped {dropped} = made {last}"
    );

    // The line comes back.
    config.broker.url.port = app.broker.port;
    config.interval = Duration::from_secs(3600);
    let stop = CancellationToken::new();
    let online = run(config.clone(), stop.clone());
    let newest = (last + 1) as i64;
    eventually("the backlog is delivered", || async {
        let q = "SELECT coalesce((SELECT acked_through FROM agents WHERE agent = 'gw'), 0)";
        let outbox = rusqlite::Connection::open(app.dir.path().join("dinkes/outbox.db")).ok()?;
        let held: i64 = outbox
            .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
            .ok()?;
        (sql(&app, q) == newest && held == 0).then_some(())
    })
    .await;
    stop.cancel();
    online.await.unwrap();
    // The newest report, made on reconnecting, may itself have pushed one
    // more old report out of the full outbox: count from the final state.
    let held = outbox(&app, "dinkes", config.outbox);
    let dropped = held.delivery().unwrap().dropped;
    assert!(held.is_empty() && held.last_seq() == last + 1);
    drop(held);
    let stored = sql(&app, "SELECT count(*) FROM reports");
    let gaps = sql(&app, "SELECT count(*) FROM data_gaps");
    let lost = sql(&app, "SELECT lost FROM data_gaps");
    assert_eq!(
        stored,
        (last + 1 - dropped) as i64,
        "all that was not dropped"
    );
    assert_eq!(
        (gaps, lost),
        (1, dropped as i64),
        "one gap, of every dropped report"
    );
    assert!(app.metric("ronda_reports_backfilled_total").await >= (kept - 1) as f64);
    // The office page tells the people who read it.
    let page = app.get_text("/offices/dinkes").await;
    let row = format!("<td class=\"bad\">{dropped}</td>");
    assert!(
        page.contains("Celah data") && page.contains(&row),
        "the office page shows no gap of {dropped}"
    );
    eprintln!(
        "FIGURE long outage: {last} reports made offline and 1 on reconnecting; outbox peak {largest} bytes (cap 65536); {dropped} dropped, reported as 1 gap; {stored} stored"
    );
    app.stop().await;
}
