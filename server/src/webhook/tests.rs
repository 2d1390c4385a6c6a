//! The sender against the test receiver (ronda_testkit::webhook, written
//! from docs/webhooks.md): real HTTP on 127.0.0.1, the receiver checking
//! signatures, and a receiver that misbehaves in every way the contract
//! names.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use ronda_common::conf::{LazySecret, Secret, SecretSource};
use ronda_testkit::webhook::{Answer, Receiver};

use super::*;

const KEY: &str = "ronda-test-key-0123456789abcdef-32b";
const BODY: &str = r#"{"version":1,"kind":"firing"}"#;
const ID: &str = "<ronda.12.1765000000000@example.go.id>";
/// Far longer than any test waits, so that a sender that hangs fails the
/// test instead of stalling it.
const GUARD: Duration = Duration::from_secs(20);

fn sender(timeout: Duration) -> WebhookSender {
    WebhookSender::new(&WebhookConfig {
        key: LazySecret::from(Secret::new(KEY)),
        timeout,
    })
    .unwrap()
}

async fn post(s: &WebhookSender, url: &str) -> Outcome {
    tokio::time::timeout(GUARD, s.post(url, ID, BODY, Timestamp::now()))
        .await
        .expect("the sender returned")
}

fn with(status: u16, headers: &[(&str, &str)], body: &str) -> Answer {
    Answer::With {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
        body: body.to_owned(),
    }
}

#[test]
fn signature_matches_the_documented_recipe() {
    // Computed with Python's hmac module, as docs/webhooks.md's receiver.
    assert_eq!(
        sign(KEY.as_bytes(), 1_765_000_000, br#"{"version":1}"#),
        "sha256=eadd27d0e97ab352d198570758e3721d53392cbb2f45a216de7a70f742973f5e"
    );
}

#[tokio::test]
async fn a_signed_post_is_accepted() {
    let r = Receiver::start(KEY.as_bytes()).await.unwrap();
    let now = Timestamp::now();
    let s = sender(Duration::from_secs(5));
    assert_eq!(s.post(&r.url(), ID, BODY, now).await, Outcome::Sent);
    let got = r.accepted();
    assert_eq!(got.len(), 1, "refused: {:?}", r.refused());
    let d = &got[0];
    assert_eq!(d.id, ID);
    assert_eq!(d.body, BODY.as_bytes());
    assert_eq!(d.timestamp, now.as_second());
    assert_eq!(d.content_type, "application/json");
    assert_eq!(d.user_agent, concat!("Ronda/", env!("CARGO_PKG_VERSION")));
    assert_eq!(d.json.as_ref().unwrap()["kind"], "firing");
    assert_eq!(s.timeout(), Duration::from_secs(5));
}

#[tokio::test]
async fn a_wrong_key_is_refused_for_good() {
    let r = Receiver::start(b"another-key-another-key-another-key")
        .await
        .unwrap();
    let out = post(&sender(Duration::from_secs(5)), &r.url()).await;
    assert!(
        matches!(&out, Outcome::Permanent(m) if m.starts_with("HTTP 401")),
        "{out:?}"
    );
    assert!(r.accepted().is_empty());
    assert_eq!(r.refused()[0].1, "bad signature");
}

#[tokio::test]
async fn server_error_then_ok() {
    let r = Receiver::start(KEY.as_bytes()).await.unwrap();
    let s = sender(Duration::from_secs(5));
    r.answer_next(vec![500, 503, 408, 425]);
    for code in ["500", "503", "408", "425"] {
        let out = post(&s, &r.url()).await;
        assert!(
            matches!(&out, Outcome::Transient(m) if m.contains(code)),
            "{out:?}"
        );
    }
    assert_eq!(post(&s, &r.url()).await, Outcome::Sent);
    assert_eq!(r.accepted().len(), 1);
    assert_eq!(r.attempts().len(), 5);
}

#[tokio::test]
async fn client_errors_are_permanent_with_a_clean_reason() {
    let r = Receiver::start(KEY.as_bytes()).await.unwrap();
    let long = format!("no such hook\n\u{7}\u{1b}[31m{}", "é".repeat(500));
    r.answer_next_with(vec![with(404, &[], &long), with(410, &[], "")]);
    let s = sender(Duration::from_secs(5));
    let Outcome::Permanent(m) = post(&s, &r.url()).await else {
        panic!("404 is not permanent");
    };
    assert!(m.starts_with("HTTP 404: no such hook [31méé"), "{m}");
    assert!(!m.chars().any(char::is_control), "{m}");
    assert_eq!(m.chars().count(), "HTTP 404: ".len() + REASON_CHARS);
    assert_eq!(
        post(&s, &r.url()).await,
        Outcome::Permanent("HTTP 410".into())
    );
    assert!(r.accepted().is_empty());
}

#[tokio::test]
async fn too_many_requests_waits_as_asked() {
    let r = Receiver::start(KEY.as_bytes()).await.unwrap();
    r.answer_next_with(vec![
        with(429, &[("retry-after", "7")], "slow down"),
        with(429, &[], ""),
        with(429, &[("retry-after", "99999999")], ""),
    ]);
    let s = sender(Duration::from_secs(5));
    assert_eq!(
        post(&s, &r.url()).await,
        Outcome::Later("HTTP 429: slow down".into(), Duration::from_secs(7))
    );
    assert_eq!(
        post(&s, &r.url()).await,
        Outcome::Transient("HTTP 429".into())
    );
    assert_eq!(
        post(&s, &r.url()).await,
        Outcome::Later("HTTP 429".into(), MAX_RETRY_AFTER)
    );
}

#[tokio::test]
async fn a_hang_is_transient_within_the_timeout() {
    let r = Receiver::start(KEY.as_bytes()).await.unwrap();
    r.hang_next(1);
    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    let out = post(&sender(timeout), &r.url()).await;
    assert!(
        matches!(&out, Outcome::Transient(m) if m.contains("no answer")),
        "{out:?}"
    );
    assert!(started.elapsed() >= timeout);
    assert_eq!(r.attempts().len(), 1);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let r = Receiver::start(KEY.as_bytes()).await.unwrap();
    // Both point back at the hook itself: following them would deliver.
    let to = r.url();
    r.answer_next_with(vec![
        with(302, &[("location", &to)], ""),
        with(307, &[("location", &to)], ""),
    ]);
    let s = sender(Duration::from_secs(5));
    for code in ["HTTP 302", "HTTP 307"] {
        let out = post(&s, &r.url()).await;
        assert!(
            matches!(&out, Outcome::Permanent(m) if m.starts_with(code)),
            "{out:?}"
        );
    }
    assert_eq!(r.attempts().len(), 2);
    assert!(r.accepted().is_empty());
}

#[tokio::test]
async fn an_endless_answer_does_not_hold_the_sender() {
    let r = Receiver::start(KEY.as_bytes()).await.unwrap();
    r.answer_next_with(vec![Answer::Endless(500), Answer::Dribble(404)]);
    // Read up to the cap, then stop: well before this timeout, which is
    // longer than the guard.
    let s = sender(GUARD * 3);
    let Outcome::Transient(m) = post(&s, &r.url()).await else {
        panic!("500 is not transient");
    };
    assert_eq!(m, format!("HTTP 500: {}", "x".repeat(REASON_CHARS)));
    // A byte at a time: the status decides when time runs out.
    let s = sender(Duration::from_millis(500));
    let Outcome::Permanent(m) = post(&s, &r.url()).await else {
        panic!("404 is not permanent");
    };
    assert!(m.starts_with("HTTP 404"), "{m}");
}

#[tokio::test]
async fn a_replay_after_six_minutes_is_stale() {
    let r = Receiver::start(KEY.as_bytes()).await.unwrap();
    assert_eq!(
        post(&sender(Duration::from_secs(5)), &r.url()).await,
        Outcome::Sent
    );
    let d = r.accepted().remove(0);
    r.advance_clock(Duration::from_secs(6 * 60));
    assert_eq!(r.replay(&d), 401);
    let refused = r.refused();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].1, "stale timestamp");
    // Tampered with: the signature no longer holds.
    let mut forged = d.clone();
    forged.body = br#"{"version":1,"kind":"resolved"}"#.to_vec();
    forged.id = "<other@example.go.id>".into();
    assert_eq!(r.replay(&forged), 401);
    forged.signature = String::new();
    assert_eq!(r.replay(&forged), 401);
    let why: Vec<String> = r.refused().into_iter().map(|(_, w)| w).collect();
    assert_eq!(why, ["stale timestamp", "bad signature", "bad signature"]);
    assert_eq!(r.accepted().len(), 1);
}

#[tokio::test]
async fn the_same_delivery_twice_is_a_replay() {
    let r = Receiver::start(KEY.as_bytes()).await.unwrap();
    let s = sender(Duration::from_secs(5));
    assert_eq!(post(&s, &r.url()).await, Outcome::Sent);
    // The retry of a delivery the receiver had (an answer lost on the way).
    assert_eq!(post(&s, &r.url()).await, Outcome::Sent);
    // Replayed byte for byte, within the window.
    let d = r.accepted().remove(0);
    assert_eq!(r.replay(&d), 200);
    assert_eq!(r.accepted().len(), 1);
    let why: Vec<String> = r.refused().into_iter().map(|(_, w)| w).collect();
    assert_eq!(why, ["replayed delivery id", "replayed delivery id"]);
}

#[tokio::test]
async fn no_signature_is_refused() {
    let r = Receiver::start(KEY.as_bytes()).await.unwrap();
    let answer = reqwest::Client::new()
        .post(r.url())
        .header("X-Ronda-Delivery", ID)
        .body(BODY)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    assert_eq!(r.refused()[0].1, "no signature");
}

#[tokio::test]
async fn the_key_never_shows() {
    let hex_key: String = KEY.bytes().map(|b| format!("{b:02x}")).collect();
    let leaks = |text: &str| text.contains(KEY) || text.contains(&hex_key);
    let s = sender(Duration::from_secs(2));
    assert!(!leaks(&format!("{s:?}")));
    let refused = format!(
        "http://{}/hook?token=gateway-token",
        ronda_testkit::free_addr()
    );
    let nowhere = [
        refused.as_str(),
        "not a url",
        "ftp://127.0.0.1/x",
        "http://[::1",
    ];
    for url in nowhere {
        let out = post(&s, url).await;
        let text = format!("{out:?}");
        assert!(!leaks(&text) && !text.contains("gateway-token"), "{text}");
        assert!(!matches!(out, Outcome::Sent), "{url}");
    }
    assert!(matches!(post(&s, &refused).await, Outcome::Transient(_)));
    // A short key, inline or from the environment, and a missing variable.
    let short = "k".repeat(config::MIN_KEY_LEN - 1);
    let sources = [
        LazySecret::from(Secret::new(short.clone())),
        LazySecret::new(SecretSource::Env("RONDA_WEBHOOK_TEST_UNSET".into()), None),
    ];
    for key in sources {
        let config = WebhookConfig {
            key,
            timeout: Duration::from_secs(1),
        };
        assert!(!format!("{config:?}").contains(&short));
        let e = WebhookSender::new(&config).unwrap_err();
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(!text.contains(&short), "{text}");
        }
    }
    let e = WebhookSender::new(&WebhookConfig {
        key: LazySecret::from(Secret::new(short.clone())),
        timeout: Duration::from_secs(1),
    })
    .unwrap_err();
    assert!(e.to_string().contains("31 bytes"), "{e}");
}
