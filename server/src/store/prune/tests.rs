//! Tests of retention on a held clock: what goes, what stays whatever its
//! age, and that the work comes in bounded batches.

use std::time::Duration;

use crate::store::sql::{params, Connection};
use jiff::Timestamp;

use super::*;

const DAY: i64 = 86_400_000;

fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

/// Two years for alerts and door events, 30 days for reports: the defaults.
fn retention() -> Retention {
    Retention {
        reports: days(30),
        alerts: days(730),
        door_events: days(730),
    }
}

/// Day 1000 of the test's clock.
fn now() -> Timestamp {
    Timestamp::from_millisecond(1000 * DAY).unwrap()
}

/// A fresh database on each backend (`store::testdb`).
fn setup() -> Vec<(crate::store::testdb::TestDb, Connection)> {
    crate::store::testdb::each()
}

/// An alert of `dinkes` under letter `kotim`, with two transitions and
/// mail bookkeeping.
fn alert(c: &Connection, id: i64, state: &str, started_day: i64, resolved_day: Option<i64>) {
    let resolved = resolved_day.map(|d| d * DAY);
    c.execute(
        "INSERT INTO alerts (id, letter, item, office, subject, severity, state, message, evidence,
            started_ms, fired_ms, resolved_ms)
         VALUES (?1, 'kotim', ?2, 'dinkes', 'x', 'critical', ?3, 'm', 'null', ?4, ?4, ?5)",
        params![id, format!("item-{id}"), state, started_day * DAY, resolved],
    )
    .unwrap();
    for at in [Some(started_day * DAY), resolved].into_iter().flatten() {
        c.execute(
            "INSERT INTO alert_transitions (alert_id, at_ms, to_state, cause, evidence)
             VALUES (?1, ?2, 'firing', 'c', 'null')",
            params![id, at],
        )
        .unwrap();
    }
    c.execute(
        "INSERT INTO alert_notify (alert_id, firing_sent_ms) VALUES (?1, ?2)",
        params![id, started_day * DAY],
    )
    .unwrap();
}

fn ids(c: &Connection) -> Vec<i64> {
    let mut s = c.prepare("SELECT id FROM alerts ORDER BY id").unwrap();
    s.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn count(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Batches until the pass is done; each one's rows.
fn run(c: &Connection, cut: &Cutoffs, limit: usize) -> Vec<Pruned> {
    let mut pass = Pass::default();
    let mut batches = Vec::new();
    while !pass.done() {
        batches.push(batch(c, cut, &mut pass, limit).unwrap());
        assert!(batches.len() < 1_000, "the pass does not end");
    }
    batches
}

#[test]
fn old_closed_alerts_go_and_open_young_and_held_ones_stay() {
    for (_db, c) in setup() {
        // Day 1000 now, two years' retention: resolved before day 270 is old.
        alert(&c, 1, "resolved", 0, Some(10)); // old and closed: goes
        alert(&c, 2, "firing", 0, None); // open for 1000 days: stays
        alert(&c, 3, "acknowledged", 1, None); // open, acknowledged: stays
        alert(&c, 4, "resolved", 2, Some(999)); // closed yesterday: stays
        alert(&c, 5, "resolved", 3, Some(20)); // open when the head signed: stays
        c.execute(
        "INSERT INTO signatures (letter, office, by, at_ms) VALUES ('kotim', 'dinkes', 'kepala', ?1)",
        [15 * DAY],
    )
    .unwrap();
        alert(&c, 6, "resolved", 30, Some(40)); // mail still to compose: stays
        c.execute(
        "INSERT INTO notify_intents (alert_id, kind, office, due_ms) VALUES (6, 'resolved', 'dinkes', ?1)",
        [40 * DAY],
    )
    .unwrap();
        alert(&c, 7, "resolved", 50, Some(60)); // old and closed: goes
        alert(&c, 8, "resolved", 400, Some(500)); // young: stays
        let cut = retention().cutoffs(now());

        let total = run(&c, &cut, BATCH)
            .into_iter()
            .fold(Pruned::default(), |mut t, b| {
                t.add(b);
                t
            });

        assert_eq!(ids(&c), [2, 3, 4, 5, 6, 8]);
        assert_eq!(total.alerts, 2);
        assert_eq!(total.transitions, 4, "both transitions of 1 and of 7");
        let orphans =
            "SELECT count(*) FROM alert_transitions WHERE alert_id NOT IN (SELECT id FROM alerts)";
        assert_eq!(count(&c, orphans), 0);
        assert_eq!(
            count(
                &c,
                "SELECT count(*) FROM alert_notify WHERE alert_id IN (1, 7)"
            ),
            0
        );
        // Once the mail is composed and a later pass comes, 6 goes too.
        c.execute("DELETE FROM notify_intents", []).unwrap();
        run(&c, &cut, BATCH);
        assert_eq!(ids(&c), [2, 3, 4, 5, 8]);
    }
}

#[test]
fn the_newest_alert_stays_so_that_ids_are_never_given_twice() {
    for (_db, c) in setup() {
        for id in 1..=3 {
            alert(&c, id, "resolved", id, Some(id + 1));
        }
        run(&c, &retention().cutoffs(now()), BATCH);
        // The engine gives the next id after the highest stored one.
        assert_eq!(ids(&c), [3]);
    }
}

#[test]
fn reports_presence_and_door_events_go_by_their_own_retention() {
    for (_db, c) in setup() {
        for (seq, day) in [(1, 900), (2, 960), (3, 990)] {
            c.execute(
                "INSERT INTO reports (office, agent, seq, observed_ms, received_ms, body)
             VALUES ('dinkes', 'gw', ?1, ?2, ?2, '{}')",
                params![seq, day * DAY],
            )
            .unwrap();
            c.execute(
            "INSERT INTO presence (office, agent, online, at_ms) VALUES ('dinkes', 'gw', ?1, ?2)",
            params![seq % 2, day * DAY],
        )
        .unwrap();
        }
        c.execute(
        "INSERT INTO agents (office, agent, last_seq, latest_report) VALUES ('dinkes', 'gw', 3, '{}')",
        [],
    )
    .unwrap();
        for (key, day) in [("a", 100), ("b", 300), ("c", 990)] {
            c.execute(
            "INSERT INTO door_events (office, device, key, agent, seq, at_ms, received_ms, event)
             VALUES ('dinkes', 'pintu', ?1, 'gw', 1, ?2, ?2, '{}')",
            params![key, day * DAY],
        )
        .unwrap();
        }

        run(&c, &retention().cutoffs(now()), BATCH);

        // Reports: 30 days. Door events: two years (cut at day 270).
        assert_eq!(count(&c, "SELECT count(*) FROM reports"), 1);
        assert_eq!(count(&c, "SELECT min(seq) FROM reports"), 3);
        assert_eq!(count(&c, "SELECT count(*) FROM presence"), 1);
        assert_eq!(
            count(&c, "SELECT last_seq FROM agents"),
            3,
            "the latest state stays"
        );
        let keys: Vec<String> = c
            .prepare("SELECT key FROM door_events ORDER BY key")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(keys, ["b", "c"]);
    }
}

#[test]
fn each_batch_looks_at_a_bounded_number_of_rows() {
    for (_db, c) in setup() {
        for seq in 1..=35 {
            c.execute(
                "INSERT INTO reports (office, agent, seq, observed_ms, received_ms, body)
             VALUES ('dinkes', 'gw', ?1, 0, 0, '{}')",
                [seq],
            )
            .unwrap();
        }
        // 25 old closed alerts and a young one: the walk stops at the young one.
        for id in 1..=25 {
            alert(&c, id, "resolved", id, Some(id + 1));
        }
        alert(&c, 26, "firing", 999, None);

        let batches = run(&c, &retention().cutoffs(now()), 10);

        let reports: Vec<usize> = batches.iter().map(|b| b.reports).collect();
        assert_eq!(reports, [10, 10, 10, 5]);
        let alerts: Vec<usize> = batches.iter().map(|b| b.alerts).collect();
        assert_eq!(alerts, [10, 10, 5, 0]);
        assert_eq!(ids(&c), [26]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_on_the_live_writer_lets_ingest_through_between_batches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let conn = crate::store::open(&path).unwrap();
    for seq in 1..=2_500 {
        conn.execute(
            "INSERT INTO reports (office, agent, seq, observed_ms, received_ms, body)
             VALUES ('dinkes', 'old', ?1, 0, 0, '{}')",
            [seq],
        )
        .unwrap();
    }
    let writer =
        crate::store::spawn_writer(conn, crate::metrics::Metrics::new(), 64, None).unwrap();
    let db = crate::store::Db::new(crate::store::Reader::open(&path).unwrap(), &writer.tx);
    // Ingest goes on while the pass runs: a report every few microseconds.
    let tx = writer.tx.clone();
    let ingest = tokio::spawn(async move {
        for seq in 1..=500u64 {
            let w = crate::store::Write::Report {
                office: "dinkes".into(),
                agent: "new".into(),
                seq,
                observed_ms: now().as_millisecond(),
                received_ms: now().as_millisecond(),
                body: "{}".into(),
                delivery: None,
            };
            tx.send(w).await.unwrap();
        }
    });

    let pruned = pass(&db, &retention(), now()).await.unwrap();
    ingest.await.unwrap();
    let (done, wait) = tokio::sync::oneshot::channel();
    writer
        .tx
        .send(crate::store::Write::Flush(done))
        .await
        .unwrap();
    wait.await.unwrap();

    assert_eq!(pruned.reports, 2_500);
    let c = crate::store::open(&path).unwrap();
    assert_eq!(
        count(&c, "SELECT count(*) FROM reports WHERE agent = 'old'"),
        0
    );
    assert_eq!(
        count(&c, "SELECT count(*) FROM reports WHERE agent = 'new'"),
        500
    );
}
