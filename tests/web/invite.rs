//! `user sync` and its one-time links, through a running server, its real
//! mail outbox and SMTP, and real HTTP: the head's whole path from the mail
//! to a first login, and the link as an attacker would try it.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use ronda_server::mail::config::Lang;
use ronda_server::onboard::{self, SyncOptions, SyncReport};

use crate::common::smtp::{mail_config, Smtp};
use crate::common::web::client;
use crate::common::{eventually, registry, spawn_with, TestApp};

const NEW_PW: &str = "pagar-besi-2026";

/// A server with the example registry (three offices) mailing to `smtp`.
async fn server(smtp: &Smtp) -> TestApp {
    let addr = smtp.addr;
    spawn_with(move |c| {
        c.registry = Some(Arc::new(registry()));
        c.mail = Some(mail_config(addr, Lang::Id, Duration::from_secs(5)));
    })
    .await
}

fn sync_now(app: &TestApp, resend: bool) -> SyncReport {
    let conn = crate::common::db::open(&app.db);
    let mail = mail_config(free_mail_addr(), Lang::Id, Duration::from_secs(5));
    let opts = SyncOptions {
        ttl: onboard::DEFAULT_TTL,
        resend,
        actor: "tester".into(),
    };
    onboard::sync(&conn, &registry(), &mail, &opts, jiff::Timestamp::now()).unwrap()
}

/// `sync` only queues: the address here is never used.
fn free_mail_addr() -> std::net::SocketAddr {
    "127.0.0.1:9".parse().unwrap()
}

/// The link in the mail to `to`, once it has arrived (the newest one).
async fn link_for(smtp: &Smtp, to: &str, nth: usize) -> String {
    let mail = eventually("the head's mail", || async {
        let got: Vec<_> = smtp
            .received()
            .into_iter()
            .filter(|m| m.to == [to])
            .collect();
        got.get(nth).cloned()
    })
    .await;
    let body = mail.data.replace("=\r\n", "").replace("=\n", "");
    let at = body.find("/password/").expect("a link in the mail");
    body[at..at + "/password/".len() + 64].to_owned()
}

/// Every message the outbox holds has been dealt with (so a link is
/// minted and its mail recorded as sent).
async fn all_sent(app: &TestApp) {
    eventually("the outbox to be sent", || async {
        let conn = crate::common::db::open(&app.db);
        let queued: i64 = conn
            .query_row(
                "SELECT count(*) FROM outbox WHERE state = 'queued'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        (queued == 0).then_some(())
    })
    .await;
}

fn token_of(link: &str) -> &str {
    link.trim_start_matches("/password/")
}

async fn post(app: &TestApp, token: &str, pw: &str) -> (StatusCode, String) {
    let res = client()
        .post(format!("{}/password", app.http))
        .form(&[("token", token), ("password", pw), ("again", pw)])
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, String) {
    let res = client()
        .get(format!("{}{path}", app.http))
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn logs_in(app: &TestApp, name: &str, pw: &str) -> bool {
    let res = client()
        .post(format!("{}/login", app.http))
        .form(&[("name", name), ("password", pw)])
        .send()
        .await
        .unwrap();
    res.status() == StatusCode::SEE_OTHER
}

const DINKES: &str = "kepala@dinkes.example.go.id";
const DEAD: &str = "tidak berlaku";

#[tokio::test(flavor = "multi_thread")]
async fn sync_mails_a_link_that_sets_the_password_once() {
    let smtp = Smtp::start();
    let app = server(&smtp).await;
    let report = sync_now(&app, false);
    assert_eq!(
        (report.created, report.mailed),
        (3, 3),
        "{:?}",
        report.lines
    );
    // No password yet: nothing logs in, whatever is tried.
    assert!(!logs_in(&app, "kepala-dinkes", "").await);
    assert!(!logs_in(&app, "kepala-dinkes", NEW_PW).await);

    let link = link_for(&smtp, DINKES, 0).await;
    let (status, page) = get(&app, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("kepala-dinkes") && page.contains("name=\"token\""),
        "{page}"
    );
    // Opening it again (a mail scanner, a second click) does not use it up.
    assert_eq!(get(&app, &link).await.0, StatusCode::OK);

    // The password rules hold here too, and a refusal keeps the link.
    let (status, page) = post(&app, token_of(&link), "bismillah").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("terlalu umum"), "{page}");
    let (status, page) = post(&app, token_of(&link), NEW_PW).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(logs_in(&app, "kepala-dinkes", NEW_PW).await);

    // The link is dead now, both to look at and to use.
    let (status, page) = get(&app, &link).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains(DEAD), "{page}");
    assert_eq!(
        post(&app, token_of(&link), "pagar-kayu-2027").await.0,
        StatusCode::NOT_FOUND
    );
    assert!(logs_in(&app, "kepala-dinkes", NEW_PW).await);

    // The outbox shows the message, never the link in it.
    let (_, mail) = app.get_json("/api/v1/mail").await;
    let id = mail
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["recipients"][0] == DINKES)
        .unwrap()["id"]
        .clone();
    let (_, one) = app.get_json(&format!("/api/v1/mail/{id}")).await;
    let text = one.to_string();
    assert!(
        text.contains("[one-time-link]") && !text.contains(token_of(&link)),
        "{text}"
    );
    assert!(!app.get_text("/outbox").await.contains(token_of(&link)));

    // Account made and password set are in the audit log.
    let audit = app.get_text("/audit").await;
    for action in ["user.create", "user.link", "user.password_set"] {
        assert!(audit.contains(action), "{action} missing");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_twice_makes_nothing_twice_until_asked_to_resend() {
    let smtp = Smtp::start();
    let app = server(&smtp).await;
    sync_now(&app, false);
    let first = link_for(&smtp, DINKES, 0).await;
    let again = sync_now(&app, false);
    assert_eq!((again.created, again.mailed), (0, 0), "{:?}", again.lines);
    assert!(
        again.lines.iter().all(|l| l.contains("still works")),
        "{:?}",
        again.lines
    );

    // --resend: one new link per head; only the newest works.
    let resent = sync_now(&app, true);
    assert_eq!((resent.created, resent.mailed), (0, 3));
    let second = link_for(&smtp, DINKES, 1).await;
    assert_ne!(first, second);
    assert_eq!(get(&app, &first).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        post(&app, token_of(&second), NEW_PW).await.0,
        StatusCode::OK
    );

    // A head with a password is left alone, even with --resend.
    let after = sync_now(&app, true);
    let line = after
        .lines
        .iter()
        .find(|l| l.starts_with("dinkes"))
        .unwrap();
    assert!(line.contains("has a head account"), "{line}");
    assert_eq!(
        smtp.received().iter().filter(|m| m.to == [DINKES]).count(),
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_guessed_long_and_foreign_tokens_are_refused_alike() {
    let smtp = Smtp::start();
    let app = server(&smtp).await;
    sync_now(&app, false);
    let dinkes = link_for(&smtp, DINKES, 0).await;
    let bappeda = link_for(&smtp, "kepala@bappeda.example.go.id", 0).await;

    // Guessed, malformed, enormous: the same dead-link answer.
    let guessed = "0".repeat(64);
    let long = "a".repeat(60_000);
    for t in [guessed.as_str(), "abc", "../../etc/passwd", long.as_str()] {
        let (status, page) = post(&app, t, NEW_PW).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{t:.20}");
        assert!(page.contains(DEAD));
    }
    let (status, _) = get(&app, &format!("/password/{}", "f".repeat(64))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&app, &format!("/password/{long}")).await;
    assert!(status == StatusCode::NOT_FOUND || status.is_client_error());

    // Another head's token sets that head's password, never this one's,
    // whatever name the form claims.
    let res = client()
        .post(format!("{}/password", app.http))
        .form(&[
            ("token", token_of(&bappeda)),
            ("password", NEW_PW),
            ("again", NEW_PW),
            ("name", "kepala-dinkes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!logs_in(&app, "kepala-dinkes", NEW_PW).await);
    assert!(logs_in(&app, "kepala-bappeda", NEW_PW).await);

    // Expired: the mail went out long ago.
    all_sent(&app).await;
    let conn = crate::common::db::open(&app.db);
    conn.execute("UPDATE password_links SET expires_ms = 1", [])
        .unwrap();
    assert_eq!(get(&app, &dinkes).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        post(&app, token_of(&dinkes), NEW_PW).await.0,
        StatusCode::NOT_FOUND
    );
    assert!(!logs_in(&app, "kepala-dinkes", NEW_PW).await);
    // And an expired link is one sync replaces without --resend.
    let again = sync_now(&app, false);
    let line = again
        .lines
        .iter()
        .find(|l| l.starts_with("dinkes"))
        .unwrap();
    assert!(line.contains("link mailed"), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn of_many_posts_at_once_with_one_token_one_wins() {
    let smtp = Smtp::start();
    let app = server(&smtp).await;
    sync_now(&app, false);
    let link = link_for(&smtp, DINKES, 0).await;
    let token = token_of(&link).to_owned();
    let tries: Vec<_> = (0..12)
        .map(|i| {
            let (url, token) = (format!("{}/password", app.http), token.clone());
            tokio::spawn(async move {
                let pw = format!("pagar-besi-{i:04}");
                let res = client()
                    .post(url)
                    .form(&[("token", token.as_str()), ("password", &pw), ("again", &pw)])
                    .send()
                    .await
                    .unwrap();
                (res.status(), pw)
            })
        })
        .collect();
    let mut won = Vec::new();
    for t in tries {
        let (status, pw) = t.await.unwrap();
        match status {
            StatusCode::OK => won.push(pw),
            // Lost the race, or no hashing slot was free.
            StatusCode::NOT_FOUND | StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(won.len(), 1, "{won:?}");
    assert!(logs_in(&app, "kepala-dinkes", &won[0]).await);
    let conn = crate::common::db::open(&app.db);
    let sets: i64 = conn
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'user.password_set'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sets, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_from_another_site_is_refused() {
    let smtp = Smtp::start();
    let app = server(&smtp).await;
    sync_now(&app, false);
    let link = link_for(&smtp, DINKES, 0).await;
    let res = client()
        .post(format!("{}/password", app.http))
        .header("origin", "https://evil.example")
        .form(&[
            ("token", token_of(&link)),
            ("password", NEW_PW),
            ("again", NEW_PW),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        get(&app, &link).await.0,
        StatusCode::OK,
        "the link still works"
    );
}
