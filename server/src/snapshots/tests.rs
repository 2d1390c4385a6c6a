//! The waiters, the pin tokens and the rate limit, as an attacker tries
//! them: too many, someone else's token or answer, hostile bytes.

#![allow(clippy::unwrap_used)]

use super::*;

/// "/9j/" + "2w==": FF D8 FF DB, a JPEG's first four bytes.
const JPEG: &str = "/9j/2w==";

fn result(id: &str, jpeg: Option<&str>, error: Option<&str>) -> CommandResult {
    CommandResult {
        snapshot: jpeg.map(|j| Snapshot {
            jpeg: j.into(),
            stats: ViewStats {
                hash: "00000000000000ff".into(),
                ..Default::default()
            },
        }),
        error: error.map(String::from),
        ok: error.is_none(),
        ..CommandResult::refused(id, "x")
    }
}

fn held(user: &str) -> Held {
    Held {
        user: user.into(),
        office: "dinkes".into(),
        agent: "gw".into(),
        recorder: "nvr".into(),
        channel: "1".into(),
        stats: ViewStats::default(),
    }
}

#[test]
fn a_user_may_ask_a_few_a_minute_and_others_are_not_held_back() {
    let s = Snapshots::default();
    let t0 = Instant::now();
    for _ in 0..PER_MINUTE {
        s.count("kepala", t0).unwrap();
    }
    let refused = s.count("kepala", t0 + Duration::from_secs(20));
    assert_eq!(refused, Err(SnapshotError::TooMany(40)));
    assert!(refused.unwrap_err().to_string().contains("at most 6"));
    s.count("it", t0).unwrap();
    s.count("kepala", t0 + RATE_WINDOW).unwrap();
}

#[tokio::test]
async fn the_picture_reaches_only_the_page_waiting_for_that_agents_answer() {
    let s = Arc::new(Snapshots::default());
    let ticket = s.wait("v-1", "dinkes", "gw").unwrap();
    // Another office's agent answering the same id: its picture is taken
    // out and dropped, and the page goes on waiting for the right one.
    let mut foreign = result("v-1", Some(JPEG), None);
    let (picture, size) = strip(&mut foreign).unwrap();
    assert_eq!(
        (foreign.snapshot.as_ref().unwrap().jpeg.as_str(), size),
        ("", 4)
    );
    s.deliver("bappeda", "gw", &foreign, Some(picture));
    let mut right = result("v-1", Some(JPEG), None);
    let picture = strip(&mut right).map(|p| p.0);
    s.deliver("dinkes", "gw", &right, picture);
    match ticket.answer(WAIT).await {
        Some(Answer::Picture(p)) => assert_eq!(p.jpeg, JPEG),
        other => panic!("{other:?}"),
    }
    assert!(s.waiting.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_refusal_comes_back_at_once_and_a_dropped_page_stops_waiting() {
    let s = Arc::new(Snapshots::default());
    let ticket = s.wait("v-2", "dinkes", "gw").unwrap();
    let mut r = result("v-2", None, Some("no such channel"));
    assert_eq!(strip(&mut r), None);
    s.deliver("dinkes", "gw", &r, None);
    match ticket.answer(WAIT).await {
        Some(Answer::Refused(e)) => assert_eq!(e, "no such channel"),
        other => panic!("{other:?}"),
    }
    drop(s.wait("v-3", "dinkes", "gw").unwrap());
    assert!(s.waiting.lock().unwrap().is_empty());
}

#[test]
fn snapshots_in_flight_are_capped() {
    let s = Arc::new(Snapshots::default());
    let tickets: Vec<_> = (0..MAX_WAITING)
        .map(|i| s.wait(&format!("v-{i}"), "dinkes", "gw").unwrap())
        .collect();
    assert!(matches!(
        s.wait("v-x", "dinkes", "gw"),
        Err(SnapshotError::Busy)
    ));
    drop(tickets);
    assert!(s.wait("v-x", "dinkes", "gw").is_ok());
}

#[test]
fn a_token_works_once_for_its_user_and_office_within_its_time() {
    let s = Snapshots::default();
    let t0 = Instant::now();
    let token = s.hold(held("kepala"), t0);
    assert_eq!(token.len(), 32);
    assert_eq!(s.take(&token, "kepala", "dinkes", t0), Some(held("kepala")));
    assert_eq!(s.take(&token, "kepala", "dinkes", t0), None, "reused");
    let other = s.hold(held("kepala"), t0);
    assert_eq!(s.take(&other, "it", "dinkes", t0), None, "someone else's");
    let office = s.hold(held("kepala"), t0);
    assert_eq!(s.take(&office, "kepala", "bappeda", t0), None);
    let old = s.hold(held("kepala"), t0);
    assert_eq!(s.take(&old, "kepala", "dinkes", t0 + TOKEN_TTL), None);
    assert_eq!(s.take("forged", "kepala", "dinkes", t0), None);
    assert_eq!(s.take(&"a".repeat(60_000), "kepala", "dinkes", t0), None);
}

#[test]
fn held_forms_are_bounded() {
    let s = Snapshots::default();
    let t0 = Instant::now();
    let first = s.hold(held("kepala"), t0);
    for i in 0..MAX_HELD {
        s.hold(held("kepala"), t0 + Duration::from_millis(i as u64 + 1));
    }
    assert_eq!(s.held.lock().unwrap().len(), MAX_HELD);
    assert_eq!(s.take(&first, "kepala", "dinkes", t0), None, "oldest gone");
}

#[test]
fn only_base64_of_a_jpeg_is_a_picture() {
    assert_eq!(jpeg_size(JPEG), Some(4));
    assert_eq!(jpeg_size("/9j/4AAQ"), Some(6));
    for bad in [
        "",
        "iVBORw0KGgo=",
        "/9j/2w=",
        "/9j/2w===",
        "/9j/\"><script>",
        "/9j/2w==\n",
        "/9j/ 2w=",
        "/9j/2w==/9j/",
    ] {
        assert_eq!(jpeg_size(bad), None, "{bad:?}");
    }
}
