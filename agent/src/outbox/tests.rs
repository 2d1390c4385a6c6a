//! The outbox on real SQLite files: numbering, limits, restarts and damage.

use super::*;

fn open(dir: &Path, limits: Limits) -> Outbox {
    Outbox::open(dir, limits, Sync::Full).unwrap().0
}

fn body(seq: u64, len: usize) -> Vec<u8> {
    format!("{seq:08}:{}", "x".repeat(len)).into_bytes()
}

fn fill(o: &mut Outbox, n: u64, len: usize, start_ms: i64, step_ms: i64) {
    for i in 0..n {
        o.push(start_ms + i as i64 * step_ms, |seq| body(seq, len))
            .unwrap();
    }
}

#[test]
fn numbers_have_no_gaps_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = open(dir.path(), Limits::default());
    fill(&mut o, 5, 10, 0, 1);
    assert_eq!(o.acknowledge(3).unwrap(), 3);
    drop(o);
    let mut o = open(dir.path(), Limits::default());
    assert_eq!((o.first().unwrap(), o.last_seq(), o.len()), (Some(4), 5, 2));
    assert_eq!(o.push(9, |s| body(s, 1)).unwrap(), 6);
    assert_eq!(o.next_from(0).unwrap().unwrap().seq, 4);
    assert_eq!(
        o.delivery().unwrap(),
        Delivery {
            floor: 4,
            pending: 3,
            dropped: 0,
            newest: 6,
        }
    );
    // Acknowledging everything leaves an empty outbox that keeps counting.
    o.acknowledge(6).unwrap();
    assert!(o.is_empty());
    drop(o);
    let mut o = open(dir.path(), Limits::default());
    assert_eq!(o.push(10, |s| body(s, 1)).unwrap(), 7);
}

#[test]
fn full_outbox_drops_the_oldest_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_bytes: 10_000,
        max_age: Duration::from_secs(3600),
    };
    let mut o = open(dir.path(), limits);
    fill(&mut o, 100, 991, 0, 1);
    assert!(o.bytes() <= 10_000, "{}", o.bytes());
    assert_eq!(o.len(), 10);
    let d = o.delivery().unwrap();
    assert_eq!((d.floor, d.pending, d.dropped), (91, 10, 90));
    drop(o);
    assert_eq!(open(dir.path(), limits).delivery().unwrap(), d);
}

#[test]
fn reports_older_than_the_age_limit_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_bytes: 1 << 30,
        max_age: Duration::from_secs(60),
    };
    let mut o = open(dir.path(), limits);
    // One report every 10 s for 10 minutes: about the last minute is kept.
    fill(&mut o, 60, 10, 0, 10_000);
    assert_eq!(o.len(), 7, "reports observed 0..=60 s before the newest");
    assert_eq!(o.delivery().unwrap().dropped, 53);
}

#[test]
fn a_new_report_is_kept_even_when_alone_it_is_over_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_bytes: 100,
        max_age: Duration::from_secs(60),
    };
    let mut o = open(dir.path(), limits);
    fill(&mut o, 3, 500, 0, 1);
    assert_eq!((o.len(), o.first().unwrap()), (1, Some(3)));
}

#[test]
fn the_sequence_of_an_older_agent_is_continued() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("seq"), "5000\n").unwrap();
    let mut o = open(dir.path(), Limits::default());
    assert_eq!(o.push(0, |s| body(s, 1)).unwrap(), 5001);
}

#[test]
fn a_flipped_bit_in_a_report_is_found_and_counted_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = open(dir.path(), Limits::default());
    fill(&mut o, 3, 2000, 0, 1);
    drop(o);
    let file = dir.path().join("outbox.db");
    let mut bytes = std::fs::read(&file).unwrap();
    // Every copy: SQLite may leave an older one in a free page.
    let copies: Vec<usize> = (0..bytes.len() - 9)
        .filter(|i| &bytes[*i..i + 9] == b"00000002:")
        .collect();
    assert!(!copies.is_empty());
    for at in copies {
        bytes[at + 100] ^= 0x01;
    }
    std::fs::write(&file, bytes).unwrap();
    let mut o = open(dir.path(), Limits::default());
    assert_eq!(o.next_from(0).unwrap().unwrap().seq, 1);
    assert_eq!(o.next_from(2).unwrap().unwrap().seq, 3, "2 is damaged");
    assert_eq!(o.delivery().unwrap().dropped, 1);
    assert_eq!(o.len(), 2);
}

#[test]
fn a_damaged_file_gives_back_its_intact_reports_and_counts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = open(dir.path(), Limits::default());
    // About one report per 4 KiB page, so damage costs a few reports.
    fill(&mut o, 300, 3000, 0, 1);
    drop(o);
    let file = dir.path().join("outbox.db");
    let mut bytes = std::fs::read(&file).unwrap();
    let page = 4096;
    let middle = bytes.len() / 2 / page * page;
    bytes[middle..middle + 2 * page].fill(0xA5);
    std::fs::write(&file, &bytes).unwrap();

    let (mut o, recovery) = Outbox::open(dir.path(), Limits::default(), Sync::Full).unwrap();
    assert!(recovery.moved_to.as_ref().unwrap().exists());
    assert!(recovery.corrupt >= 1, "{recovery:?}");
    assert!(recovery.recovered >= 250, "{recovery:?}");
    assert_eq!(recovery.recovered + recovery.corrupt, 300, "{recovery:?}");
    let mut seen = 0;
    let mut from = 0;
    while let Some(r) = o.next_from(from).unwrap() {
        assert_eq!(
            r.body,
            body(r.seq, 3000),
            "recovered bytes are the original"
        );
        from = r.seq + 1;
        seen += 1;
    }
    assert_eq!(seen, recovery.recovered);
    let d = o.delivery().unwrap();
    assert_eq!(d.dropped, recovery.corrupt, "the loss is reported");
    assert!(
        o.push(0, |s| body(s, 1)).unwrap() > 300,
        "numbers never go back"
    );
}

#[test]
fn settings_are_checked_after_they_are_set() {
    let dir = tempfile::tempdir().unwrap();
    let o = open(dir.path(), Limits::default());
    let mode: String = o
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    let sync: i64 = o
        .conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!((mode.as_str(), sync), ("wal", 2));
}

/// Events and where the device's log stands are kept together, survive a
/// restart, and outlive the acknowledgement of the events themselves.
#[test]
fn a_device_cursor_is_kept_with_its_events_and_outlives_their_acknowledgement() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = open(dir.path(), Limits::default());
    o.push_with(1, |s| body(s, 3), Some(("gate", "4411")))
        .unwrap();
    o.push(2, |s| body(s, 3)).unwrap();
    o.set_cursor("zk", "attlog:99").unwrap();
    o.acknowledge(2).unwrap();
    drop(o);
    let o = open(dir.path(), Limits::default());
    let cursors = o.cursors().unwrap();
    assert_eq!(cursors.get("gate").map(String::as_str), Some("4411"));
    assert_eq!(cursors.get("zk").map(String::as_str), Some("attlog:99"));
    assert!(o.is_empty());
}

/// An outbox written before door events existed opens, keeps its reports,
/// and takes cursors.
#[test]
fn an_outbox_from_before_doors_opens_and_takes_cursors() {
    let dir = tempfile::tempdir().unwrap();
    {
        let conn = Connection::open(dir.path().join("outbox.db")).unwrap();
        conn.execute_batch(
            "CREATE TABLE records (seq INTEGER PRIMARY KEY, observed_ms INTEGER NOT NULL,
                 sum INTEGER NOT NULL, body BLOB NOT NULL);
             CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);",
        )
        .unwrap();
        let b = body(1, 4);
        conn.execute(
            "INSERT INTO records VALUES (1, 0, ?1, ?2)",
            params![checksum(&b), b],
        )
        .unwrap();
    }
    let mut o = open(dir.path(), Limits::default());
    assert_eq!(o.len(), 1);
    o.push_with(5, |s| body(s, 1), Some(("gate", "7"))).unwrap();
    assert_eq!(o.cursors().unwrap().len(), 1);
    assert_eq!(o.last_seq(), 2);
}
