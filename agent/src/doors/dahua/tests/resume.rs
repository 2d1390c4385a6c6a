//! Where the records stand across restarts and failed writes, and a
//! refused login left alone.

use std::collections::BTreeSet;

use ronda_testkit::eventually;
use ronda_wire::PauseReason;

use super::device::{param, Dahua};
use super::office::{numbers, Office};
use super::{config, stepped, Login, DEVICE_NOW, FIND, ID};

fn unique(n: &[u64]) -> bool {
    n.iter().collect::<BTreeSet<_>>().len() == n.len()
}

#[tokio::test]
async fn a_restart_resumes_after_the_saved_rec_no_with_nothing_lost_or_twice() {
    let dahua = Dahua::new();
    let server = dahua.serve().await;
    let office = Office::start(None, &[config(&server.url)]).await;
    eventually("the evening", || async {
        (office.cursor(ID).as_deref() == Some("509")).then_some(())
    })
    .await;
    let dir = office.close().await;

    dahua.add(510, DEVICE_NOW - 60, "1023");
    let before = server.asked(FIND).len();
    let office = Office::start(Some(dir), &[config(&server.url)]).await;
    eventually("the new record", || async {
        (office.events().len() == 9).then_some(())
    })
    .await;
    let n = numbers(&office.events());
    assert!(unique(&n), "{n:?}");
    assert_eq!(n.last(), Some(&510));
    // With a cursor but no time, the search looks back as far as the
    // outbox keeps anything, and drops what it took before.
    let first = &server.asked(FIND)[before];
    assert_eq!(param(first, "StartTime"), Some(DEVICE_NOW - 14 * 86_400));
    office.close().await;
}

#[tokio::test]
async fn a_failed_keep_does_not_advance_the_cursor() {
    let dahua = Dahua::new();
    let server = dahua.serve().await;
    let (office, mut poller) = stepped(None, config(&server.url));
    poller.step().await;
    assert_eq!(office.cursor(ID).as_deref(), Some("509"));

    dahua.add(510, DEVICE_NOW - 60, "1023");
    let blocker = office.block_writes();
    poller.step().await;
    let c = office.controller(ID);
    assert!(
        c.error
            .as_deref()
            .is_some_and(|e| e.contains("did not keep")),
        "{c:?}"
    );
    assert_eq!(office.cursor(ID).as_deref(), Some("509"));
    assert_eq!(office.events().len(), 8);

    drop(blocker);
    poller.step().await;
    let n = numbers(&office.events());
    assert_eq!(n.len(), 9);
    assert!(unique(&n));
    assert_eq!(office.cursor(ID).as_deref(), Some("510"));
}

#[tokio::test]
async fn a_wrong_password_pauses_the_device_and_is_not_retried() {
    let dahua = Dahua::new();
    let server = dahua.serve_as(Login::Refuse(String::new())).await;
    let (office, mut poller) = stepped(None, config(&server.url));
    for _ in 0..5 {
        poller.step().await;
    }
    assert_eq!(server.requests().len(), 2);
    let c = office.controller(ID);
    assert_eq!(c.paused.map(|p| p.reason), Some(PauseReason::WrongPassword));
    assert!(!c.reachable);
    assert!(office.events().is_empty());
}
