//! The login form as an attacker on the office network tries it: many wrong
//! passwords at once, names and bodies too long, guesses from many
//! addresses, and a forged `X-Forwarded-For`. The owner still gets in. And
//! the threat model (`docs/SECURITY.md`) names only tests that exist.

use crate::common::web::{add, client, PW};
use crate::common::{spawn_app, spawn_with, TestApp};
use reqwest::StatusCode;
use ronda_server::http::proxy::TrustedProxies;
use ronda_server::http::ratelimit::{PER_ACCOUNT, PER_ACCOUNT_UNKNOWN};

/// POST /login as `from` (an `X-Forwarded-For` value), with an optional
/// cookie header; the status and the cookies set.
async fn try_login(
    app: &TestApp,
    name: &str,
    password: &str,
    from: Option<&str>,
    cookie: Option<&str>,
) -> (StatusCode, Vec<String>) {
    let mut req = client()
        .post(format!("{}/login", app.http))
        .form(&[("name", name), ("password", password)]);
    if let Some(ip) = from {
        req = req.header("x-forwarded-for", ip);
    }
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let res = req.send().await.unwrap();
    let cookies = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    (res.status(), cookies)
}

fn audit(app: &TestApp) -> Vec<(String, String, String)> {
    let conn = crate::common::db::open(&app.db);
    let mut stmt = conn
        .prepare("SELECT coalesce(actor, ''), action, coalesce(source, '') FROM audit ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn behind_proxy(c: &mut ronda_server::config::ServerConfig) {
    c.trusted_proxies = TrustedProxies::new(&["127.0.0.1"]).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_wrong_passwords_at_once_are_counted_before_any_is_checked() {
    // Forty connections at once from one address: above the web listener's
    // cap per address, which is not what this test is about.
    let app = spawn_with(|c| c.http_limits.max_per_address = 64).await;
    add(&app, "budi", "it", None);
    // One client, built before the burst (building one takes milliseconds,
    // which would space the requests out), and each request its own task.
    let c = client();
    let url = format!("{}/login", app.http);
    let attempts = (0..40).map(|i| {
        let (c, url) = (c.clone(), url.clone());
        tokio::spawn(async move {
            let guess = format!("tebakan-{i:02}");
            let form = [("name", "budi"), ("password", guess.as_str())];
            c.post(url).form(&form).send().await.unwrap().status()
        })
    });
    let statuses: Vec<StatusCode> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let wrong = |s: &&StatusCode| **s == StatusCode::UNAUTHORIZED;
    let at_once = statuses.iter().filter(wrong).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(at_once + refused, 40, "{statuses:?}");
    println!("password checks run for 40 concurrent wrong logins: {at_once}");
    // Some were refused as "busy" before being counted; keep guessing one
    // at a time until the throttle says no. Each 401 is a hashed password.
    let mut checked = at_once;
    for _ in 0..=PER_ACCOUNT {
        match try_login(&app, "budi", "salah-sandi-9", None, None).await.0 {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => break,
            other => panic!("{other}"),
        }
    }
    assert_eq!(checked, PER_ACCOUNT as usize, "{at_once} of 40 at once");
    let hashed = app.metric("ronda_login_password_checks_total").await;
    assert_eq!(hashed as usize, checked);
    // The right password from the same address waits too: the address, not
    // the password, is what is throttled.
    assert_eq!(
        try_login(&app, "budi", PW, None, None).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_too_long_is_refused_before_anything_is_stored() {
    let app = spawn_app().await;
    let long = "a".repeat(65);
    let (status, _) = try_login(&app, &long, "salah-sandi-9", None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let password = "p".repeat(2000);
    let (status, _) = try_login(&app, "budi", &password, None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A body far beyond any form is cut off by size alone.
    let huge = "a".repeat(200 << 10);
    let (status, _) = try_login(&app, &huge, "salah-sandi-9", None, None).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        app.metric("ronda_login_refused_total{reason=\"too_long\"}")
            .await,
        2.0
    );
    assert_eq!(app.metric("ronda_login_password_checks_total").await, 0.0);
    assert!(audit(&app).is_empty(), "{:?}", audit(&app));
    // A 64-byte name is a name: it is checked (and unknown).
    let (status, _) = try_login(&app, &"b".repeat(64), "salah-sandi-9", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_client_is_its_own_address() {
    let app = spawn_with(behind_proxy).await;
    add(&app, "budi", "it", None);
    let attacker = Some("10.0.0.66");
    for _ in 0..PER_ACCOUNT {
        let (s, _) = try_login(&app, "budi", "salah-sandi-9", attacker, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, _) = try_login(&app, "budi", "salah-sandi-9", attacker, None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    // The owner at another desk, behind the same proxy, is not throttled.
    let (s, _) = try_login(&app, "budi", PW, Some("10.0.0.5"), None).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let log = audit(&app);
    assert_eq!(log.first().unwrap().2, "10.0.0.66");
    assert_eq!(
        log.last().unwrap(),
        &("budi".into(), "login".into(), "10.0.0.5".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_trusted_proxy_the_header_is_ignored() {
    let app = spawn_app().await;
    add(&app, "budi", "it", None);
    // An attacker naming a new address each time gets no fresh count.
    for i in 0..PER_ACCOUNT {
        let from = format!("10.9.9.{i}");
        let (s, _) = try_login(&app, "budi", "salah-sandi-9", Some(&from), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, _) = try_login(&app, "budi", "salah-sandi-9", Some("10.9.9.99"), None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(audit(&app).iter().all(|(_, _, src)| src == "127.0.0.1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_from_many_addresses_do_not_lock_the_owner_out() {
    let app = spawn_with(behind_proxy).await;
    add(&app, "budi", "it", None);
    // The owner logged in last week from this browser.
    let (s, cookies) = try_login(&app, "budi", PW, Some("10.0.0.5"), None).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let device = cookies
        .iter()
        .find(|c| c.starts_with("__Host-ronda-device="))
        .unwrap()
        .clone();
    // Machines all over the network guess at budi's password.
    for i in 0..PER_ACCOUNT_UNKNOWN {
        let from = format!("10.0.1.{i}");
        let (s, _) = try_login(&app, "budi", "salah-sandi-9", Some(&from), None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    // Any browser new to the account now waits, even with the password...
    let (s, _) = try_login(&app, "budi", PW, Some("10.0.2.1"), None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    // ...but the owner's own browser, from a new address, gets in.
    let (s, _) = try_login(&app, "budi", PW, Some("10.0.2.2"), Some(&device)).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // A device cookie is the account's own: it does not help with another.
    add(&app, "sari", "it", None);
    for i in 0..PER_ACCOUNT_UNKNOWN {
        let from = format!("10.0.3.{i}");
        try_login(&app, "sari", "salah-sandi-9", Some(&from), None).await;
    }
    let (s, _) = try_login(&app, "sari", PW, Some("10.0.2.3"), Some(&device)).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logged_in_pages_carry_the_security_headers_and_are_not_cached() {
    let app = spawn_app().await;
    add(&app, "budi", "admin", None);
    let (cookie, _) = crate::common::web::login(&app, "budi").await;
    for path in ["/", "/alerts", "/api/v1/me", "/audit"] {
        let res = client()
            .get(format!("{}{path}", app.http))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let h = res.headers();
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
    }
    // The one static script may still be cached.
    let js = client()
        .get(format!("{}/static/live.js", app.http))
        .send()
        .await
        .unwrap();
    assert_eq!(js.headers()["cache-control"], "max-age=300");
}

/// Every `path`: `test_name` pair in the threat model names a test that is
/// in that file, so a control cannot keep claiming a test that was renamed
/// or removed.
#[test]
fn the_threat_model_names_only_tests_that_exist() {
    let doc = std::fs::read_to_string(crate::common::repo_file("docs/SECURITY.md")).unwrap();
    let mut named = 0;
    for line in doc.lines().filter(|l| l.starts_with('|')) {
        let Some(cell) = line.trim_end_matches('|').rsplit('|').next() else {
            continue;
        };
        // `a/b.rs`: `t1`, `t2`; `c/d.rs`: `t3`
        for group in cell.split(';') {
            let Some((path, tests)) = group.split_once(':') else {
                continue;
            };
            let path = path.trim().trim_matches('`');
            if !path.ends_with(".rs") {
                continue;
            }
            let source = std::fs::read_to_string(crate::common::repo_file(path))
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            for test in tests.split(',').map(|t| t.trim().trim_matches('`')) {
                assert!(
                    source.contains(&format!("fn {test}(")),
                    "docs/SECURITY.md names `{test}` in {path}, which has no such test"
                );
                named += 1;
            }
        }
    }
    assert!(
        named > 40,
        "only {named} tests found: is the table format changed?"
    );
}
