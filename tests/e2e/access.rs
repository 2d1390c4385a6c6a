//! Who may do what, route by route: every page and API route against an
//! anonymous visitor, the head of dinkes (A), the head of bappeda (B), IT,
//! a viewer and an admin. A head of B touching A changes nothing. Plus
//! CSRF on forms, scoped API tokens and the login throttle.

use std::sync::Arc;

use crate::common::web::{add, client, login, PW};
use crate::common::{eventually, spawn_with, TestApp};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

const L: &str = "kotim-idul-fitri-2018";
const WHO: [&str; 6] = ["anon", "head-a", "head-b", "it", "viewer", "admin"];

/// Expected answer per principal, in `WHO` order. `LOGIN` is the redirect
/// to the login form; `ANY` is "let through" (a 2xx, 3xx elsewhere, 400 or 409).
const LOGIN: u16 = 1;
const ANY: u16 = 2;

/// Method, path, form fields, and the answer expected per principal.
type Row<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, [u16; 6]);

/// A dinkes office with a real agent, the Kotim letter in force with no
/// grace, and the SIPD service down so an alert fires.
async fn office() -> (TestApp, CancellationToken) {
    let stop = CancellationToken::new();
    let sim = crate::common::sim_office_sipd_down(&stop).await;
    let (letter, registry) = (crate::common::kotim_now(), crate::common::registry());
    let app = spawn_with(|c| {
        c.letters = Arc::new(vec![letter]);
        c.registry = Some(Arc::new(registry));
    })
    .await;
    crate::common::spawn_sim_agent(
        &sim,
        "dinkes",
        app.credentials_for("dinkes", crate::common::SIM_AGENT),
        &stop,
    );
    for (name, role, office) in [
        ("kepala-dinkes", "head", Some("dinkes")),
        ("kepala-bappeda", "head", Some("bappeda")),
        ("it", "it", None),
        ("pimpinan", "viewer", None),
        ("admin", "admin", None),
    ] {
        add(&app, name, role, office);
    }
    (app, stop)
}

/// The firing SIPD alert of dinkes.
async fn sipd_alert(app: &TestApp) -> i64 {
    eventually("the SIPD alert to fire", || async {
        let (_, list) = app
            .get_json("/api/v1/alerts?office=dinkes&state=firing")
            .await;
        list.as_array()?
            .iter()
            .find(|a| a["subject"] == "sipd")
            .and_then(|a| a["id"].as_i64())
    })
    .await
}

struct Principal {
    cookie: Option<String>,
    csrf: String,
}

async fn principals(app: &TestApp) -> Vec<Principal> {
    let mut out = vec![Principal {
        cookie: None,
        csrf: String::new(),
    }];
    for name in ["kepala-dinkes", "kepala-bappeda", "it", "pimpinan", "admin"] {
        let (cookie, csrf) = login(app, name).await;
        out.push(Principal {
            cookie: Some(cookie),
            csrf,
        });
    }
    out
}

async fn send(
    app: &TestApp,
    p: &Principal,
    method: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let url = format!("{}{path}", app.http);
    let mut req = if method == "GET" {
        client().get(url)
    } else {
        client().post(url)
    };
    if let Some(c) = &p.cookie {
        req = req.header("cookie", c);
    }
    if method == "POST" {
        let mut f: Vec<(&str, &str)> = vec![("csrf", &p.csrf)];
        f.extend_from_slice(form);
        req = req.form(&f);
    }
    if method == "JSON" {
        req = req
            .header("x-csrf-token", &p.csrf)
            .json(&serde_json::json!({"note": "ditangani"}));
    }
    let res = req.send().await.unwrap();
    let loc = res
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (res.status().as_u16(), loc)
}

fn matches(expected: u16, (status, location): &(u16, String)) -> bool {
    match expected {
        LOGIN => *status == 303 && location.starts_with("/login?next="),
        ANY => {
            matches!(status, 200..=299 | 400 | 409)
                || (*status == 303 && !location.starts_with("/login"))
        }
        e => *status == e,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_against_every_kind_of_user() {
    let (app, stop) = office().await;
    app.wait_report("dinkes", "kantor-utama", 1).await;
    let alert = sipd_alert(&app).await;
    let who = principals(&app).await;
    let a = format!("/alerts/{alert}");
    let api_a = format!("/api/v1/alerts/{alert}");
    let sign = format!("/offices/dinkes/letters/{L}");
    let plug = [
        ("agent", "kantor-utama"),
        ("plug", "printer-lobi"),
        ("to", "off"),
        ("confirm", "yes"),
    ];
    #[rustfmt::skip]
    let table: Vec<Row> = vec![
        //                                                   anon   head-a head-b it    viewer admin
        ("GET", "/healthz".into(), vec![],                   [200,  200,   200,   200,  200,   200]),
        ("GET", "/metrics".into(), vec![],                   [200,  200,   200,   200,  200,   200]),
        ("GET", "/login".into(), vec![],                     [200,  200,   200,   200,  200,   200]),
        // A one-time link's token is its own credential: a wrong one is 404 for all.
        ("GET", "/password/0000000000000000000000000000000000000000000000000000000000000000".into(), vec![], [404, 404, 404, 404, 404, 404]),
        ("POST", "/password".into(), vec![("token", "0000000000000000000000000000000000000000000000000000000000000000"), ("password", "pagar-besi-2026"), ("again", "pagar-besi-2026")], [404, 404, 404, 404, 404, 404]),
        ("GET", "/".into(), vec![],                          [LOGIN, 200,  200,   200,  200,   200]),
        ("GET", "/wall".into(), vec![],                      [LOGIN, 200,  200,   200,  200,   200]),
        ("GET", format!("/letters/{L}/report"), vec![],      [LOGIN, 200,  200,   200,  200,   200]),
        ("GET", format!("/letters/{L}/report.csv"), vec![],  [LOGIN, 200,  200,   200,  200,   200]),
        ("GET", "/offices/dinkes".into(), vec![],            [LOGIN, 200,  404,   200,  200,   200]),
        ("GET", "/offices/dinkes/kantor-utama".into(), vec![], [303, 303,  303,   303,  303,   303]),
        ("GET", sign.clone(), vec![],                        [LOGIN, 200,  404,   200,  200,   200]),
        ("GET", "/alerts".into(), vec![],                    [LOGIN, 200,  200,   200,  200,   200]),
        ("GET", "/alerts?office=dinkes".into(), vec![],      [LOGIN, 200,  404,   200,  200,   200]),
        ("GET", a.clone(), vec![],                           [LOGIN, 200,  404,   200,  200,   200]),
        ("GET", "/servers".into(), vec![],                   [LOGIN, 200,  200,   200,  200,   200]),
        ("GET", "/outbox".into(), vec![],                    [LOGIN, 403,  403,   200,  200,   200]),
        ("GET", "/audit".into(), vec![],                     [LOGIN, 403,  403,   403,  403,   200]),
        ("GET", "/api/v1/me".into(), vec![],                 [401,  200,   200,   200,  200,   200]),
        ("GET", "/api/v1/agents".into(), vec![],             [401,  200,   200,   200,  200,   200]),
        ("GET", "/api/v1/agents/dinkes/kantor-utama".into(), vec![], [401, 200, 404, 200, 200,   200]),
        ("GET", "/api/v1/letters".into(), vec![],            [401,  200,   200,   200,  200,   200]),
        ("GET", "/api/v1/offices/dinkes/compliance".into(), vec![], [401, 200, 404, 200, 200,    200]),
        ("GET", "/api/v1/alerts".into(), vec![],             [401,  200,   200,   200,  200,   200]),
        ("GET", "/api/v1/alerts?office=dinkes".into(), vec![], [401, 200,  404,   200,  200,   200]),
        ("GET", api_a.clone(), vec![],                       [401,  200,   404,   200,  200,   200]),
        ("GET", "/api/v1/mail".into(), vec![],               [401,  403,   403,   200,  200,   200]),
        ("GET", "/api/v1/outbox".into(), vec![],             [401,  403,   403,   200,  200,   200]),
        ("GET", "/telegram".into(), vec![],                  [LOGIN, 200,  200,   200,  403,   200]),
        ("GET", "/api/v1/offices/dinkes/views".into(), vec![], [401, 200,  404,   200,  200,   200]),
        // Refusals first (B, viewer), then the people allowed to act.
        ("POST", "/offices/dinkes/plug".into(), plug.to_vec(), [LOGIN, 403, 404,  ANY,  403,   ANY]),
        ("POST", format!("{sign}/attest"), vec![("item", "perekam-tersembunyi-terkunci")], [LOGIN, ANY, 404, 403, 403, ANY]),
        ("POST", format!("{sign}/sign"), vec![],             [LOGIN, 400,  404,   403,  403,   400]),
        ("POST", format!("{sign}/withdraw"), vec![],         [LOGIN, ANY,  404,   403,  403,   ANY]),
        // A forged pin token is refused to those who may pin, too.
        ("POST", "/offices/dinkes/views/pin".into(), vec![("token", "forged"), ("light", "day")], [LOGIN, 403, 404, 403, 403, 403]),
        ("JSON", format!("{api_a}/ack"), vec![],             [401,  ANY,   404,   ANY,  403,   ANY]),
        ("POST", format!("{a}/ack"), vec![("note", "x")],   [LOGIN, ANY,  404,   ANY,  403,   ANY]),
    ];
    let mut wrong = Vec::new();
    for (method, path, form, expected) in &table {
        // Refused principals first, so nothing they might change is masked.
        let mut order: Vec<usize> = (0..6).collect();
        order.sort_by_key(|i| expected[*i] == ANY || expected[*i] == 200);
        for i in order {
            let got = send(&app, &who[i], method, path, form).await;
            if !matches(expected[i], &got) {
                wrong.push(format!(
                    "{method} {path} as {}: expected {}, got {got:?}",
                    WHO[i], expected[i]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Head B's refused attempts left no trace: no command, attestation,
    // signature or acknowledgement of theirs, only their login.
    let conn = crate::common::db::open(&app.db);
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM commands WHERE by = 'kepala-bappeda'"),
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM attestations WHERE by = 'kepala-bappeda'"),
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM signatures WHERE by = 'kepala-bappeda'"),
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM alerts WHERE ack_by = 'kepala-bappeda'"),
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM audit WHERE actor = 'kepala-bappeda' AND action != 'login'"),
        0
    );
    // What the allowed people did is there, and audited.
    assert_eq!(
        count("SELECT count(*) FROM commands WHERE office = 'dinkes' AND by IN ('it', 'admin')"),
        2
    );
    assert_eq!(
        count("SELECT count(*) FROM audit WHERE action = 'plug.set'"),
        2
    );
    assert_eq!(
        count("SELECT count(*) FROM audit WHERE action = 'alert.ack' AND actor = 'kepala-dinkes'"),
        2,
        "head A acknowledged through the API and through the form"
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_refuse_a_missing_token_and_a_foreign_origin() {
    let (app, stop) = office().await;
    let (cookie, csrf) = login(&app, "kepala-dinkes").await;
    let url = format!("{}/offices/dinkes/letters/{L}/attest", app.http);
    let post = |csrf: &str, origin: Option<&str>| {
        let mut req = client()
            .post(&url)
            .header("cookie", &cookie)
            .form(&[("csrf", csrf), ("item", "perekam-tersembunyi-terkunci")]);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    assert_eq!(post("", None).await.unwrap().status(), 403, "no token");
    assert_eq!(
        post("0000", None).await.unwrap().status(),
        403,
        "wrong token"
    );
    assert_eq!(
        post(&csrf, Some("https://evil.example"))
            .await
            .unwrap()
            .status(),
        403,
        "foreign Origin"
    );
    let conn = crate::common::db::open(&app.db);
    let n: i64 = conn
        .query_row("SELECT count(*) FROM attestations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0, "nothing was attested");
    let same = app.http.clone();
    assert_eq!(
        post(&csrf, Some(&same)).await.unwrap().status(),
        303,
        "this site"
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_carry_their_role_and_office() {
    let (app, stop) = office().await;
    app.wait_report("dinkes", "kantor-utama", 1).await;
    let conn = crate::common::db::open(&app.db);
    let b =
        ronda_server::store::users::tokens::add(&conn, "bappeda-bot", "head", Some("bappeda"), 0)
            .unwrap();
    let v = ronda_server::store::users::tokens::add(&conn, "dashboard", "viewer", None, 0).unwrap();
    let get = |token: String, path: &'static str| {
        let url = format!("{}{path}", app.http);
        async move { client().get(url).bearer_auth(token).send().await.unwrap() }
    };
    assert_eq!(
        get(b.clone(), "/api/v1/offices/dinkes/compliance")
            .await
            .status(),
        404
    );
    let agents: Vec<Value> = get(b.clone(), "/api/v1/agents").await.json().await.unwrap();
    assert!(
        agents.is_empty(),
        "a bappeda token sees no dinkes agent: {agents:?}"
    );
    assert_eq!(
        get(v.clone(), "/api/v1/offices/dinkes/compliance")
            .await
            .status(),
        200
    );
    let alert = sipd_alert(&app).await;
    let ack = client()
        .post(format!("{}/api/v1/alerts/{alert}/ack", app.http))
        .bearer_auth(&v)
        .json(&serde_json::json!({"note": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ack.status(), 403, "a viewer token cannot acknowledge");
    assert_eq!(
        get("ronda_not-a-token".into(), "/api/v1/agents")
            .await
            .status(),
        401
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_is_throttled_without_locking_the_owner_out() {
    let app = crate::common::spawn_app().await;
    add(&app, "budi", "it", None);
    let from = |ip: &str| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .local_address(ip.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
    };
    let attempt = |c: reqwest::Client, pw: &'static str| {
        let url = format!("{}/login", app.http);
        async move {
            c.post(url)
                .form(&[("name", "budi"), ("password", pw)])
                .send()
                .await
                .unwrap()
        }
    };
    let attacker = from("127.0.0.66");
    for _ in 0..5 {
        assert_eq!(
            attempt(attacker.clone(), "tebak-tebak-1").await.status(),
            401
        );
    }
    let stopped = attempt(attacker.clone(), PW).await;
    assert_eq!(stopped.status(), 429, "even the right password waits now");
    assert!(stopped.headers().contains_key("retry-after"));
    // Budi at his own desk logs in as usual.
    assert_eq!(attempt(from("127.0.0.5"), PW).await.status(), 303);
}
