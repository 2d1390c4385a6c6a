//! Fault tests of the network (issue 7): an agent's line to the broker
//! black-holed, then flapping, through a TCP proxy; the server talks to the
//! broker directly. Once with the embedded broker (behind its gate), once
//! with Mosquitto. Prints its figures.

use std::net::SocketAddr;
use std::time::Duration;

use super::proxy::Proxy;
use super::{outbox_state, Dice, Tally};
use crate::common::*;
use ronda_agent::outbox::{Outbox, Sync};
use ronda_agent::AgentConfig;
use ronda_server::params;
use ronda_server::store::sql::Dialect;
use ronda_sim::readings::MadeUpOffice;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const OFFICE: &str = "dishub";
const AGENT: &str = "gw";
const KEEPALIVE: Duration = Duration::from_secs(2);

/// The agent's first wait after losing a connection it had: its session
/// backs off with `Backoff::new(500 ms, 60 s)`, whose first wait is uniform
/// in [250 ms, 500 ms] (agent/src/session.rs, common/src/link.rs).
const BACKOFF_FLOOR: Duration = Duration::from_millis(250);

/// Which broker the line leads to.
#[derive(Clone, Copy, Debug)]
enum Via {
    Embedded,
    Mosquitto,
}

/// How long after the agent goes silent the broker may take to publish its
/// Last Will, and the server to show it.
fn offline_bound(via: Via) -> Duration {
    match via {
        // rumqttd closes a connection when nothing came in for exactly
        // 1.5 × keepalive (link/remote.rs); then 0.5 s for the Will to go
        // through ingest and the writer to the API polled every 25 ms.
        Via::Embedded => KEEPALIVE.mul_f64(1.5) + Duration::from_millis(500),
        Via::Mosquitto => mosquitto_offline_bound(),
    }
}

/// How long after the agent goes silent Mosquitto can take to publish its
/// Last Will, and the server to show it. Not 1.5 × keepalive flat: Mosquitto
/// 2.0 (src/keepalive.c, to 2.0.18 at least) drops a client once
/// `now - last_msg_in > keepalive * 3 / 2` counted in whole seconds, which
/// can add 1 s; and it looks only once every 6 s (`last_keepalive_check + 5
/// < now`), on a loop that wakes at least every 100 ms (`epoll_wait(…,
/// 100)`), which adds up to 6.1 s. (Silent raw clients with a 2 s keepalive,
/// connected 0.8 s apart, got their Wills after 3.1 to 8.3 s on the 2.0.11
/// of CI.) Then 0.5 s for the Will to go through the server's ingest and
/// writer to the API polled every 25 ms: the runs measure that part (the
/// API against the presence row's arrival time) in milliseconds.
fn mosquitto_offline_bound() -> Duration {
    KEEPALIVE.mul_f64(1.5) + Duration::from_millis(1000 + 6100 + 500)
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

async fn online(app: &TestApp) -> bool {
    let (_, v) = app
        .get_json(&format!("/api/v1/agents/{OFFICE}/{AGENT}"))
        .await;
    v["online"] == true
}

/// Presence rows of the agent since `from_ms`: (online, at_ms), in order.
fn presence(app: &TestApp, from_ms: i64) -> Vec<(bool, i64)> {
    let db = crate::common::db::open(&app.db);
    // Ties in `at_ms` keep their order of insertion: SQLite's `rowid`,
    // PostgreSQL's `ctid` (a test's rows are appended, never pruned).
    let order = match db.dialect() {
        Dialect::Sqlite => "rowid",
        Dialect::Postgres => "ctid",
    };
    let q = format!(
        "SELECT online, at_ms FROM presence WHERE office = ?1 AND agent = ?2 AND at_ms >= ?3
         ORDER BY at_ms, {order}"
    );
    db.query_rows(&q, params![OFFICE, AGENT, from_ms], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .unwrap()
}

fn start_agent(config: &AgentConfig, stop: &CancellationToken) -> tokio::task::JoinHandle<()> {
    // The agent process is not killed here, so no fsync is needed.
    let (outbox, _) = Outbox::open(&config.state_dir, config.outbox, Sync::Off).unwrap();
    let (config, stop) = (config.clone(), stop.clone());
    tokio::spawn(async move {
        ronda_agent::run_with(config, MadeUpOffice::new(OFFICE), outbox, stop)
            .await
            .unwrap()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_broker_line_black_holed_then_flapping_loses_nothing() {
    black_hole_then_flapping(Via::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mosquitto_line_black_holed_then_flapping_loses_nothing() {
    black_hole_then_flapping(Via::Mosquitto).await;
}

async fn black_hole_then_flapping(via: Via) {
    let mosquitto = match via {
        Via::Embedded => None,
        Via::Mosquitto => match mosquitto() {
            Some(m) => Some(m),
            None => return,
        },
    };
    let app = match &mosquitto {
        Some(m) => spawn_with(external(&m.url)).await,
        None => spawn_app().await,
    };
    let port = mosquitto.as_ref().map_or(app.broker.port, |m| m.url.port);
    let proxy = Proxy::start(SocketAddr::from(([127, 0, 0, 1], port))).await;
    let mut config = app.agent_config(OFFICE, AGENT);
    config.broker.url.port = proxy.port;
    config.broker.keepalive = KEEPALIVE;
    config.interval = Duration::from_millis(200);
    config.pace.ack_timeout = Duration::from_secs(2);
    let stop = CancellationToken::new();
    let agent = start_agent(&config, &stop);
    app.wait_online(OFFICE, AGENT, true).await;
    app.wait_report(OFFICE, AGENT, 5).await;

    // 1. The line goes silent: nothing passes, nothing closes. Only the
    // broker's keepalive can tell; the agent's own ping timeout closes its
    // side, which the black hole does not pass on.
    let (hole, hole_ms) = (Instant::now(), now_ms());
    proxy.black_hole();
    let bound = offline_bound(via);
    let detected = loop {
        if !online(&app).await {
            break Some(hole.elapsed());
        }
        if hole.elapsed() > bound + Duration::from_secs(2) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let offline_rows: Vec<_> = presence(&app, hole_ms)
        .into_iter()
        .filter(|(on, _)| !on)
        .collect();
    let detected = detected.unwrap_or_else(|| {
        panic!(
            "still online {:.1} s into the black hole (bound {:.1} s)",
            hole.elapsed().as_secs_f64(),
            bound.as_secs_f64()
        )
    });
    let at_ingest = Duration::from_millis((offline_rows[0].1 - hole_ms) as u64);
    // Whatever the agent sent last left at most an interval before the hole
    // (it reports every 200 ms), and the broker waits more than 3 whole
    // seconds (1.5 × 2 s) after it: an offline sooner than that came from a
    // close leaking through the proxy, not from the keepalive.
    let floor = KEEPALIVE.mul_f64(1.5) - Duration::from_millis(500);
    assert!(
        at_ingest >= floor,
        "offline after {at_ingest:?}: too soon for the keepalive; the black hole leaks"
    );
    assert!(
        detected <= bound,
        "offline shown after {:.2} s, over the {:.2} s bound",
        detected.as_secs_f64(),
        bound.as_secs_f64()
    );
    // Hold the black hole for 3 × keepalive at least.
    let held_until = hole + KEEPALIVE * 3;
    tokio::time::sleep_until(held_until.max(Instant::now())).await;
    let hole_for = hole.elapsed();
    proxy.resume();
    let resumed = Instant::now();
    app.wait_online(OFFICE, AGENT, true).await;
    let back_after = resumed.elapsed();
    let hole_conns = proxy
        .connections()
        .iter()
        .filter(|c| c.opened > hole)
        .count();

    // 2. The line flaps: cut every 0.5–2 s for 20 s.
    let mut dice = Dice::new("flapping line");
    let flap = Instant::now();
    let (mut cuts, mut last_cut_ms) = (0, 0);
    while flap.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(dice.millis(500, 2000)).await;
        last_cut_ms = now_ms();
        proxy.cut();
        cuts += 1;
    }
    let flap_for = flap.elapsed();

    // 3. The line holds. After the broker has had time to drop any
    // connection of the agent it still held (the bound above), the agent
    // must be online, and stay so: no Last Will of an old connection after
    // the newest `online`.
    let calm = Instant::now();
    // Online again after the last cut: the server has had the cut's Last
    // Will (or, cut while connecting, none) and then a new `online`.
    eventually("online after the last cut", || async {
        let rows = presence(&app, last_cut_ms);
        (rows.last().is_some_and(|r| r.0) && online(&app).await).then_some(())
    })
    .await;
    let back_from_flap = calm.elapsed();
    let watch = Instant::now();
    while watch.elapsed() < bound {
        assert!(
            online(&app).await,
            "offline again {:.1} s after the line came back for good: {:?}",
            watch.elapsed().as_secs_f64(),
            presence(&app, hole_ms).last()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows = presence(&app, hole_ms);
    assert_eq!(
        rows.last().map(|r| r.0),
        Some(true),
        "the last presence row is online"
    );
    let flips = rows.len();

    // Reconnects are paced by the agent's backoff: one per connection lost
    // (so no more than the cuts that closed one), each at least the
    // backoff's floor after the loss.
    let conns = proxy.connections();
    let cut_conns: Vec<_> = conns
        .iter()
        .filter(|c| c.cut && c.closed.is_some_and(|t| t > flap))
        .collect();
    let reconnects = conns.iter().filter(|c| c.opened > flap).count();
    assert!(
        reconnects <= cut_conns.len(),
        "{reconnects} connections for {} lost to {cuts} cuts",
        cut_conns.len()
    );
    let mut soonest = Duration::MAX;
    for lost in &cut_conns {
        let closed = lost.closed.unwrap();
        if let Some(next) = conns.iter().find(|c| c.opened > closed) {
            let wait = next.opened - closed;
            soonest = soonest.min(wait);
            assert!(
                wait >= BACKOFF_FLOOR,
                "reconnected {wait:?} after a cut, sooner than the backoff allows"
            );
        }
    }
    // Without the pacing of the backoff, the agent could have connected
    // once per floor over the whole time.
    let unpaced = (flap_for + back_from_flap).as_millis() / BACKOFF_FLOOR.as_millis();
    assert!(
        reconnects as u128 <= unpaced + 1,
        "{reconnects} connections in {flap_for:?}"
    );

    // 4. Nothing lost: the agent starts again on its outbox making one more
    // report, then none for an hour, until the server has acknowledged all.
    stop.cancel();
    agent.await.unwrap();
    let (before, _) = outbox_state(&config.state_dir);
    let quiet = CancellationToken::new();
    config.interval = Duration::from_secs(3600);
    let drain = start_agent(&config, &quiet);
    eventually("every report acknowledged", || async {
        let (last, held) = outbox_state(&config.state_dir);
        let acked = Tally::of(&app.db, OFFICE, AGENT, last).acked_through;
        (last > before && held == 0 && acked == last).then_some(())
    })
    .await;
    quiet.cancel();
    drain.await.unwrap();
    let (made, held) = outbox_state(&config.state_dir);
    let tally = Tally::of(&app.db, OFFICE, AGENT, made);
    assert_eq!(held, 0);
    assert!(
        tally.complete(),
        "0 reports lost, each stored once: {tally:?}"
    );

    eprintln!(
        "FIGURE {via:?}: black hole ({:.1} s, keepalive {} s): offline at the server after {:.2} s ({:.2} x keepalive; in the API after {:.2} s, bound {:.1} s); online again {:.2} s after the line resumed, {hole_conns} connections meanwhile",
        hole_for.as_secs_f64(),
        KEEPALIVE.as_secs(),
        at_ingest.as_secs_f64(),
        at_ingest.as_secs_f64() / KEEPALIVE.as_secs_f64(),
        detected.as_secs_f64(),
        bound.as_secs_f64(),
        back_after.as_secs_f64()
    );
    eprintln!(
        "FIGURE {via:?}: flapping line ({:.1} s, {cuts} cuts, {} closing a connection): {reconnects} reconnects (unpaced up to {unpaced}), soonest {:.0} ms after a cut (backoff floor {} ms); online {:.2} s after the last cut and still online {:.1} s later, last presence row online ({flips} presence changes in all); {made} reports made, {} stored, 0 lost",
        flap_for.as_secs_f64(),
        cut_conns.len(),
        soonest.as_secs_f64() * 1000.0,
        BACKOFF_FLOOR.as_millis(),
        back_from_flap.as_secs_f64(),
        bound.as_secs_f64(),
        tally.stored
    );
    app.stop().await;
}
