//! A device on the office LAN that misbehaves, by fault or on purpose: it
//! says `MORE` for ever, sends a huge body or one that never ends, or
//! garbage. The agent bounds each, says so on the controller, and goes on.

use std::time::Duration;

use super::device::{fixture, Hik, Serial};
use super::server::Reply;
use super::{config, stepped, ID};
use crate::doors::hikvision::MAX_PAGES;

const SEARCH: &str = "/ISAPI/AccessControl/AcsEvent";

#[tokio::test]
async fn a_device_that_always_says_more_is_read_a_bounded_number_of_pages_per_poll() {
    let hik = Hik::empty(Serial::Honour);
    hik.answer_searches(|_| Some(Reply::json(fixture("acs_event_more.json"))));
    let server = hik.serve().await;
    let (office, mut poller) = stepped(None, config(&server.url));

    poller.step().await;
    assert_eq!(server.asked(SEARCH).len(), MAX_PAGES);
    poller.step().await;
    // The second poll tries the serial search once, then pages by time.
    assert_eq!(server.asked(SEARCH).len(), 2 * MAX_PAGES + 1);
    let n: Vec<_> = office.events().iter().filter_map(|e| e.number).collect();
    assert_eq!(n, [1184, 1185], "the repeated page is kept once");
    let c = office.controller(ID);
    assert!(c.reachable && c.error.is_none(), "{c:?}");
}

#[tokio::test]
async fn more_with_an_empty_page_stops_the_search() {
    let hik = Hik::empty(Serial::Honour);
    let empty = r#"{"AcsEvent":{"searchID":"x","responseStatusStrg":"MORE","numOfMatches":0,"totalMatches":99,"InfoList":[]}}"#;
    hik.answer_searches(move |_| Some(Reply::json(empty)));
    let server = hik.serve().await;
    let (office, mut poller) = stepped(None, config(&server.url));
    poller.step().await;
    assert_eq!(server.asked(SEARCH).len(), 1);
    let c = office.controller(ID);
    assert!(
        c.error
            .as_deref()
            .is_some_and(|e| e.contains("MORE with an empty page")),
        "{c:?}"
    );
}

#[tokio::test]
async fn a_huge_body_is_refused_and_the_next_poll_goes_on() {
    let hik = Hik::new(Serial::Honour);
    hik.answer_searches(|_| Some(Reply::Huge(3 << 20)));
    let server = hik.serve().await;
    let (office, mut poller) = stepped(None, config(&server.url));
    poller.step().await;
    let c = office.controller(ID);
    assert!(
        c.error
            .as_deref()
            .is_some_and(|e| e.contains("larger than")),
        "{c:?}"
    );
    assert!(c.reachable, "it answered: not taken for a dead device");
    assert!(office.events().is_empty());

    hik.honest_again();
    poller.step().await;
    assert_eq!(office.events().len(), 11);
    assert_eq!(office.controller(ID).error, None);
}

#[tokio::test]
async fn a_body_that_never_ends_times_out() {
    let hik = Hik::new(Serial::Honour);
    hik.answer_searches(|_| Some(Reply::Hang));
    let server = hik.serve().await;
    let mut cfg = config(&server.url);
    cfg.timeout = Duration::from_millis(300);
    let (office, mut poller) = stepped(None, cfg);
    poller.step().await;
    let c = office.controller(ID);
    assert!(
        c.error
            .as_deref()
            .is_some_and(|e| e.contains("no answer within 300ms")),
        "{c:?}"
    );
    assert!(!c.reachable);

    hik.honest_again();
    poller.step().await;
    assert_eq!(office.events().len(), 11);
    assert!(office.controller(ID).reachable);
}

#[tokio::test]
async fn garbage_is_an_error_on_the_controller_and_the_agent_goes_on() {
    let hik = Hik::new(Serial::Honour);
    hik.answer_searches(|_| Some(Reply::json("{\"AcsEvent\": [1, 2, <html>")));
    let server = hik.serve().await;
    let (office, mut poller) = stepped(None, config(&server.url));
    poller.step().await;
    let c = office.controller(ID);
    assert!(
        c.error.as_deref().is_some_and(|e| e.contains("bad JSON")),
        "{c:?}"
    );
    assert!(c.reachable);
    // The rest of the poll was still read.
    assert!(c.doors.iter().any(|d| d.state.is_some()));

    hik.honest_again();
    poller.step().await;
    assert_eq!(office.events().len(), 11);
}

#[tokio::test]
async fn the_real_loop_survives_an_attacker_and_keeps_polling() {
    let hik = Hik::new(Serial::Honour);
    hik.answer_searches(|_| Some(Reply::json("not json at all")));
    let server = hik.serve().await;
    let office = super::Office::start(None, &[config(&server.url)]).await;
    ronda_testkit::eventually("the error on the controller", || async {
        let c = office.controller(ID);
        c.error.filter(|e| e.contains("bad JSON")).map(drop)
    })
    .await;
    hik.honest_again();
    ronda_testkit::eventually("the events after all", || async {
        (office.events().len() == 11).then_some(())
    })
    .await;
    office.close().await;
}
