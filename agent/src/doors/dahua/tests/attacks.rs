//! A device on the office LAN that misbehaves: records for ever, the same
//! page again and again, a huge or endless body, garbage. The agent bounds
//! each, says so on the controller, and goes on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::device::{records, Dahua, Row};
use super::{config, stepped, Reply, DEVICE_NOW, FIND, ID};
use crate::doors::dahua::MAX_PAGES;

fn row(rec_no: u64) -> Row {
    Row {
        rec_no,
        time: DEVICE_NOW - 100,
        fields: vec![("Status".into(), "1".into()), ("UserID".into(), "5".into())],
    }
}

#[tokio::test]
async fn a_device_with_endless_records_is_read_a_bounded_number_of_pages_per_poll() {
    let dahua = Dahua::new();
    let next = Arc::new(AtomicU64::new(1));
    dahua.answer_searches(move |_| {
        let page: Vec<Row> = (0..3)
            .map(|_| row(next.fetch_add(1, Ordering::Relaxed)))
            .collect();
        Some(Reply::text(records(1_000_000, &page)))
    });
    let server = dahua.serve().await;
    let (office, mut poller) = stepped(None, config(&server.url));
    poller.step().await;
    assert_eq!(server.asked(FIND).len(), MAX_PAGES);
    assert_eq!(office.events().len(), 3 * MAX_PAGES);
    assert!(office.controller(ID).reachable);
}

#[tokio::test]
async fn the_same_page_again_and_again_stops_the_search() {
    let dahua = Dahua::new();
    dahua.answer_searches(|_| Some(Reply::text(records(1000, &[row(1), row(2), row(3)]))));
    let server = dahua.serve().await;
    let (office, mut poller) = stepped(None, config(&server.url));
    poller.step().await;
    assert_eq!(server.asked(FIND).len(), 2);
    assert_eq!(office.events().len(), 3);
    let c = office.controller(ID);
    assert!(
        c.error
            .as_deref()
            .is_some_and(|e| e.contains("sent none new")),
        "{c:?}"
    );
}

#[tokio::test]
async fn garbage_a_huge_body_and_a_hang_are_errors_and_the_next_poll_goes_on() {
    let cases: [(Reply, &str, bool); 3] = [
        (
            Reply::text("\u{0}\u{1}<html>garbage</html>"),
            "no `found`",
            true,
        ),
        (Reply::Huge(3 << 20), "larger than", true),
        (Reply::Hang, "no answer within 300ms", false),
    ];
    for (bad, says, reachable) in cases {
        let dahua = Dahua::new();
        let bad = std::sync::Mutex::new(Some(bad));
        dahua.answer_searches(move |_| bad.lock().unwrap().take());
        let server = dahua.serve().await;
        let mut cfg = config(&server.url);
        cfg.timeout = Duration::from_millis(300);
        let (office, mut poller) = stepped(None, cfg);
        poller.step().await;
        let c = office.controller(ID);
        assert!(
            c.error.as_deref().is_some_and(|e| e.contains(says)),
            "{says}: {c:?}"
        );
        assert_eq!(c.reachable, reachable, "{says}");
        assert!(office.events().is_empty());
        // The override answered once; the device is honest from now on.
        poller.step().await;
        assert_eq!(office.events().len(), 8, "{says}");
    }
}
