//! Tests of the store writer: duplicates, presence history, acknowledgements and gaps, flush and close.

use super::*;

fn report(seq: u64, received_ms: i64) -> Write {
    Write::Report {
        office: "dinkes".into(),
        agent: "gw".into(),
        seq,
        observed_ms: received_ms,
        received_ms,
        body: format!("{{\"seq\":{seq}}}"),
        delivery: None,
    }
}

fn presence(online: bool, at_ms: i64) -> Write {
    Write::Presence {
        office: "dinkes".into(),
        agent: "gw".into(),
        online,
        at_ms,
    }
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn setup() -> Vec<(crate::store::testdb::TestDb, Connection)> {
    crate::store::testdb::each()
}

#[test]
fn duplicates_are_stored_once_and_latest_is_the_highest_seq() {
    for (_db, mut conn) in setup() {
        let metrics = Metrics::new();
        let batch = [report(2, 1000), report(2, 1001), report(1, 1002)];
        commit(&mut conn, &batch, &metrics, &Ledger::default());
        assert_eq!(metrics.stored.get(), 2);
        assert_eq!(metrics.duplicates.get(), 1);
        assert_eq!(count(&conn, "SELECT last_seq FROM agents"), 2);
        let latest: String = conn
            .query_row("SELECT latest_report FROM agents", [], |r| r.get(0))
            .unwrap();
        assert_eq!(latest, "{\"seq\":2}");
    }
}

#[test]
fn presence_history_records_changes_only() {
    for (_db, mut conn) in setup() {
        let metrics = Metrics::new();
        let batch = [
            presence(true, 1),
            presence(true, 2),
            report(1, 3),
            presence(false, 4),
        ];
        commit(&mut conn, &batch[..2], &metrics, &Ledger::default());
        assert_eq!(metrics.agents_online.get(), 1);
        commit(&mut conn, &batch[2..], &metrics, &Ledger::default());
        assert_eq!(metrics.agents_online.get(), 0);
        assert_eq!(count(&conn, "SELECT count(*) FROM presence"), 2);
        assert_eq!(count(&conn, "SELECT online_changed_ms FROM agents"), 4);
        assert_eq!(
            count(&conn, "SELECT last_seq FROM agents"),
            1,
            "presence keeps the report"
        );
    }
}

fn sent(seq: u64, floor: u64, dropped: u64) -> Write {
    let mut w = report(seq, 1);
    if let Write::Report { delivery, .. } = &mut w {
        *delivery = Some(ronda_wire::Delivery {
            floor,
            pending: 1,
            dropped,
            newest: seq,
        });
    }
    w
}

#[test]
fn acknowledgements_wait_for_holes_and_each_rise_in_drops_is_one_gap() {
    for (_db, mut conn) in setup() {
        let (metrics, mut ledger) = (Metrics::new(), Ledger::default());
        let step = |conn: &mut Connection, ledger: &mut Ledger, batch: &[Write]| {
            let staged = commit(conn, batch, &metrics, ledger);
            ledger.keep(staged)
        };
        // 2 is missing: only 1 is acknowledged.
        let acks = step(&mut conn, &mut ledger, &[sent(1, 1, 0), sent(3, 1, 0)]);
        assert_eq!(acks.iter().map(|a| a.through).collect::<Vec<_>>(), [1]);
        // The agent dropped 2 (and says so): 3 follows at once.
        let acks = step(&mut conn, &mut ledger, &[sent(4, 3, 1), sent(5, 3, 1)]);
        assert_eq!(acks[0].through, 5);
        let acks = step(&mut conn, &mut ledger, &[sent(6, 6, 4)]);
        assert_eq!(acks[0].through, 6);
        assert_eq!(count(&conn, "SELECT count(*) FROM data_gaps"), 2);
        assert_eq!(
            count(&conn, "SELECT CAST(sum(lost) AS BIGINT) FROM data_gaps"),
            4
        );
        assert_eq!(count(&conn, "SELECT acked_through FROM agents"), 6);
        // After a restart the count resumes from the database.
        let mut fresh = Ledger::default();
        let acks = step(&mut conn, &mut fresh, &[sent(6, 6, 4)]);
        assert_eq!(acks[0].through, 6);
        assert_eq!(count(&conn, "SELECT count(*) FROM data_gaps"), 2);
    }
}

fn door_events(seq: u64, numbers: &[u64]) -> Write {
    let events = numbers
        .iter()
        .map(|n| ronda_wire::DoorEvent {
            device: "gate".into(),
            door_no: Some(1),
            door: Some("main-gate".into()),
            kind: ronda_wire::DoorEventKind::Granted,
            who: Some("9001".into()),
            at: "2026-12-24T22:13:05+07:00".parse().unwrap(),
            number: Some(*n),
            code: "5/75".into(),
        })
        .collect();
    Write::Events {
        office: "dinkes".into(),
        agent: "gw".into(),
        seq,
        received_ms: 1,
        events,
        delivery: Some(ronda_wire::Delivery {
            floor: 1,
            pending: 1,
            dropped: 0,
            newest: seq,
        }),
    }
}

/// Events share the report sequence: their payloads are acknowledged like
/// reports, and a log the device sends again is stored once.
#[test]
fn door_events_are_acknowledged_in_sequence_and_stored_once() {
    for (_db, mut conn) in setup() {
        let (metrics, mut ledger) = (Metrics::new(), Ledger::default());
        let batch = [sent(1, 1, 0), door_events(2, &[10, 11]), sent(3, 1, 0)];
        let acks = ledger.keep(commit(&mut conn, &batch, &metrics, &ledger));
        assert_eq!(acks[0].through, 3, "the events' seq fills the run");
        // The device sent its log again, in a new payload.
        let acks = ledger.keep(commit(
            &mut conn,
            &[door_events(4, &[10, 11, 12])],
            &metrics,
            &ledger,
        ));
        assert_eq!(acks[0].through, 4);
        assert_eq!(count(&conn, "SELECT count(*) FROM door_events"), 3);
        assert_eq!(metrics.door_events.get(), 3);
        assert_eq!(metrics.door_duplicates.get(), 2);
        assert_eq!(metrics.stored.get(), 2, "events are not counted as reports");
    }
}

#[tokio::test]
async fn writer_thread_commits_everything_before_a_flush_and_on_close() {
    for (db, conn) in setup() {
        let handle = spawn_writer(conn, Metrics::new(), 16, None).unwrap();
        for seq in 1..=100 {
            handle.tx.send(report(seq, 1)).await.unwrap();
        }
        let (done, flushed) = oneshot::channel();
        handle.tx.send(Write::Flush(done)).await.unwrap();
        flushed.await.unwrap();
        let reader = db.location.open_read_only().unwrap();
        assert_eq!(count(&reader, "SELECT count(*) FROM reports"), 100);
        handle.tx.send(report(101, 1)).await.unwrap();
        drop(handle.tx);
        handle.thread.join().unwrap();
        assert_eq!(count(&reader, "SELECT count(*) FROM reports"), 101);
    }
}

/// Two servers on one PostgreSQL database, each given some of one agent's
/// reports by a shared subscription: each one's acknowledgement counts the
/// other's too, and the stored count never goes back.
#[test]
fn two_servers_count_each_others_reports_in_the_acknowledgement() {
    for (db, mut a) in setup() {
        if a.dialect() != Dialect::Postgres {
            continue;
        }
        let mut b = db.open();
        let metrics = Metrics::new();
        let (mut ledger_a, mut ledger_b) = (Ledger::shared(), Ledger::shared());
        let step = |conn: &mut Connection, ledger: &mut Ledger, batch: &[Write]| {
            let staged = commit(conn, batch, &metrics, ledger);
            ledger.keep(staged)[0].through
        };
        assert_eq!(
            step(&mut a, &mut ledger_a, &[sent(1, 1, 0), sent(3, 1, 0)]),
            1
        );
        assert_eq!(
            step(&mut b, &mut ledger_b, &[sent(2, 1, 0), sent(4, 1, 0)]),
            4
        );
        assert_eq!(step(&mut a, &mut ledger_a, &[sent(5, 1, 0)]), 5);
        assert_eq!(step(&mut b, &mut ledger_b, &[door_events(7, &[1])]), 5);
        assert_eq!(
            step(&mut a, &mut ledger_a, &[sent(6, 1, 0)]),
            7,
            "the other's door events count"
        );
        assert_eq!(count(&a, "SELECT acked_through FROM agents"), 7);
    }
}
