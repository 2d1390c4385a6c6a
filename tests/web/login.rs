//! Accounts through the web: login, the session cookie, logout, a password
//! change, CSRF, and who may acknowledge an alert of which office.

use crate::common::web::{add, client, login};
use crate::common::{spawn_app, spawn_with, TestApp};
use reqwest::StatusCode;
use serde_json::json;

async fn me(app: &TestApp, cookie: &str) -> StatusCode {
    client()
        .get(format!("{}/api/v1/me", app.http))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_logout_and_a_password_change_end_the_session() {
    let app = spawn_app().await;
    add(&app, "budi", "it", None);
    let bad = client()
        .post(format!("{}/login", app.http))
        .form(&[("name", "budi"), ("password", "salah-sandi-9")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert!(bad.headers().get("set-cookie").is_none());

    let (a, csrf) = login(&app, "budi").await;
    let (b, _) = login(&app, "budi").await;
    assert_ne!(a, b, "a new session id at every login");
    let http = app.http.clone();
    let logout = |cookie: String, token: String| {
        let url = format!("{http}/logout");
        async move {
            client()
                .post(url)
                .header("cookie", cookie)
                .form(&[("csrf", token)])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        logout(a.clone(), "forged".into()).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        me(&app, &a).await,
        StatusCode::OK,
        "a forged logout changes nothing"
    );
    assert_eq!(logout(a.clone(), csrf).await, StatusCode::SEE_OTHER);
    assert_eq!(
        me(&app, &a).await,
        StatusCode::UNAUTHORIZED,
        "the old cookie fails after logout"
    );
    assert_eq!(me(&app, &b).await, StatusCode::OK);

    let conn = crate::common::db::open(&app.db);
    ronda_server::store::users::passwd(&conn, "budi", "lampu-hijau-8", 1).unwrap();
    assert_eq!(
        me(&app, &b).await,
        StatusCode::UNAUTHORIZED,
        "the old cookie fails after a password change"
    );

    let actions: Vec<String> = conn
        .prepare("SELECT action FROM audit ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(actions, ["login.failed", "login", "login", "logout"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_right_people_may_acknowledge_and_only_with_the_csrf_token() {
    // An open alert of dinkes, in the database before the server starts:
    // the engine takes the open alerts from there as it starts, so it holds
    // this one open and an allowed acknowledgement succeeds. Its letter is
    // loaded (the engine closes the alerts of a letter that is not).
    let app = spawn_with(|c| {
        let letter = crate::common::kotim(jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24));
        c.letters = std::sync::Arc::new(vec![letter]);
        let conn = c.database.open().unwrap();
        conn.execute(
            "INSERT INTO alerts (id, letter, item, office, subject, severity, state, message, evidence, started_ms)
             VALUES (7, 'kotim-idul-fitri-2018', 'listrik-diputus', 'dinkes', 'printer', 'warning', 'firing', 'on', 'null', 0)",
            [],
        )
        .unwrap();
    })
    .await;
    add(&app, "kepala-dinkes", "head", Some("dinkes"));
    add(&app, "kepala-bappeda", "head", Some("bappeda"));
    add(&app, "pimpinan", "viewer", None);
    let ack_by = || {
        let conn = crate::common::db::open(&app.db);
        conn.query_row(
            "SELECT state, ack_by, ack_note FROM alerts WHERE id = 7",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            },
        )
        .unwrap()
    };
    let url = format!("{}/api/v1/alerts/7/ack", app.http);
    let ack = |cookie: String, csrf: Option<String>, origin: Option<&'static str>| {
        let url = url.clone();
        async move {
            let mut req = client()
                .post(url)
                .header("cookie", cookie)
                .json(&json!({"note": "ditangani"}));
            if let Some(t) = csrf {
                req = req.header("x-csrf-token", t);
            }
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            req.send().await.unwrap().status()
        }
    };
    let (own, own_csrf) = login(&app, "kepala-dinkes").await;
    let (other, other_csrf) = login(&app, "kepala-bappeda").await;
    let (viewer, viewer_csrf) = login(&app, "pimpinan").await;
    assert_eq!(
        ack(own.clone(), None, None).await,
        StatusCode::FORBIDDEN,
        "no CSRF token"
    );
    assert_eq!(
        ack(
            own.clone(),
            Some(own_csrf.clone()),
            Some("https://evil.example")
        )
        .await,
        StatusCode::FORBIDDEN,
        "foreign Origin"
    );
    assert_eq!(
        ack(other, Some(other_csrf), None).await,
        StatusCode::NOT_FOUND,
        "another office's head does not even see it"
    );
    assert_eq!(
        ack(viewer, Some(viewer_csrf), None).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(ack_by().1, None, "no refused attempt acknowledged it");
    assert_eq!(
        ack(own, Some(own_csrf), None).await,
        StatusCode::OK,
        "allowed"
    );
    // Recorded by whom and with the note, as the store writer commits it.
    crate::common::eventually("the acknowledgement in the database", || async {
        let row = ack_by();
        (row.0 == "acknowledged").then_some(row)
    })
    .await;
    assert_eq!(
        ack_by(),
        (
            "acknowledged".to_owned(),
            Some("kepala-dinkes".to_owned()),
            Some("ditangani".to_owned())
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_attests_explains_signs_withdraws_and_signs_again() {
    let letter =
        crate::common::kotim(jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24));
    let registry = crate::common::registry();
    let app = crate::common::spawn_with(|c| {
        c.letters = std::sync::Arc::new(vec![letter]);
        c.registry = Some(std::sync::Arc::new(registry));
    })
    .await;
    add(&app, "kepala-dinkes", "head", Some("dinkes"));
    add(&app, "kepala-bappeda", "head", Some("bappeda"));
    let page_url = format!("{}/offices/dinkes/letters/kotim-idul-fitri-2018", app.http);
    let (cookie, csrf) = login(&app, "kepala-dinkes").await;
    let page = crate::common::eventually("the office's checklist", || {
        let (url, cookie) = (page_url.clone(), cookie.clone());
        async move {
            let res = client()
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .ok()?;
            (res.status() == StatusCode::OK).then_some(res.text().await.ok()?)
        }
    })
    .await;
    assert!(
        page.contains("Alat perekam kamera CCTV diletakkan di tempat tersembunyi dan terkunci"),
        "{page}"
    );
    let post = |path: &'static str, cookie: String, form: Vec<(String, String)>| {
        let url = format!("{page_url}/{path}");
        async move {
            client()
                .post(url)
                .header("cookie", cookie)
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let f = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    for item in [
        "perekam-tersembunyi-terkunci",
        "sambungan-listrik-diperiksa",
    ] {
        assert_eq!(
            post(
                "attest",
                cookie.clone(),
                f(&[("csrf", &csrf), ("item", item)])
            )
            .await,
            StatusCode::SEE_OTHER
        );
    }
    // No agent reports yet: every machine-checked item lacks data and needs a word.
    assert_eq!(
        post("sign", cookie.clone(), f(&[("csrf", &csrf)])).await,
        StatusCode::BAD_REQUEST
    );
    let machine = [
        "cctv-jalan-depan",
        "cctv-dalam-kantor",
        "cctv-melihat",
        "cctv-penyimpanan",
        "listrik-diputus",
        "peralatan-24-jam-menyala",
        "sambungan-listrik-aman",
        "aplikasi-layanan-dapat-diakses",
        "aplikasi-layanan-dapat-dimonitor",
    ];
    let mut form = f(&[("csrf", &csrf)]);
    form.extend(machine.iter().map(|i| {
        (
            format!("explain_{i}"),
            "agen dipasang besok pagi".to_owned(),
        )
    }));
    let (other, other_csrf) = login(&app, "kepala-bappeda").await;
    let mut foreign = form.clone();
    foreign[0].1 = other_csrf;
    assert_eq!(
        post("sign", other, foreign).await,
        StatusCode::NOT_FOUND,
        "another office's head cannot sign here"
    );
    assert_eq!(
        post("sign", cookie.clone(), form.clone()).await,
        StatusCode::SEE_OTHER
    );

    let conn = crate::common::db::open(&app.db);
    let sig = ronda_server::store::signatures::one(&conn, "kotim-idul-fitri-2018", "dinkes")
        .unwrap()
        .unwrap();
    assert_eq!(
        (sig.by.as_str(), sig.late, sig.explanations.len()),
        ("kepala-dinkes", false, machine.len())
    );
    let snapshot: String = conn
        .query_row("SELECT snapshot FROM signatures", [], |r| r.get(0))
        .unwrap();
    assert!(
        snapshot.contains("\"perekam-tersembunyi-terkunci\"")
            && snapshot.contains("attested by kepala-dinkes"),
        "{snapshot}"
    );
    let overview = client()
        .get(format!("{}/?letter=kotim-idul-fitri-2018", app.http))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        overview.contains("<b>1 / 1</b>sudah menandatangani")
            && overview.contains("✍ kepala-dinkes"),
        "{overview}"
    );

    assert_eq!(
        post("withdraw", cookie.clone(), f(&[("csrf", &csrf)])).await,
        StatusCode::SEE_OTHER
    );
    assert!(
        ronda_server::store::signatures::one(&conn, "kotim-idul-fitri-2018", "dinkes")
            .unwrap()
            .is_none()
    );
    assert_eq!(
        post("sign", cookie, form).await,
        StatusCode::SEE_OTHER,
        "signed again"
    );
    let actions: Vec<String> = conn
        .prepare("SELECT action FROM audit WHERE action != 'login' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        actions,
        ["attest", "attest", "sign", "sign.withdraw", "sign"]
    );
}
