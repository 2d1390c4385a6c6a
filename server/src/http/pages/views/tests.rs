//! Live snapshots and pinned views over real HTTP on a real server, with a
//! test agent answering on the real broker: who may look, what is audited
//! and sent, what is kept (numbers, never the picture), and what an
//! attacker tries (someone else's office, a forged or reused token, a
//! reason too long, too many requests).

#![allow(clippy::unwrap_used)]

mod harness;

use harness::{token, App, MARKER, OFFICE};

const SNAP: &str = "/offices/dinkes/views/snapshot";
const PIN: &str = "/offices/dinkes/views/pin";

fn camera(reason: &str) -> Vec<(&'static str, String)> {
    vec![
        ("agent", "gw".into()),
        ("recorder", "nvr".into()),
        ("channel", "1".into()),
        ("reason", reason.into()),
    ]
}

fn form<'a>(f: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    f.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn views_audited(app: &App) -> Vec<(String, String)> {
    let all = app.audit();
    all.into_iter()
        .filter(|(a, _)| a.starts_with("view."))
        .collect()
}

/// Every file of the database (the file, its WAL and shared memory), read
/// whole: the picture's marker must be in none.
fn database_bytes(app: &App) -> Vec<u8> {
    let mut all = Vec::new();
    for ext in ["", "-wal", "-shm"] {
        let path = format!("{}{ext}", app.db.display());
        if let Ok(b) = std::fs::read(path) {
            all.extend(b);
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_looks_pins_the_day_view_and_no_picture_is_kept() {
    let app = App::start().await;
    let head = app.login("kepala").await;
    let (status, headers, page) = head.post(SNAP, &form(&camera("cek kamera jalan"))).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(&format!("data:image/jpeg;base64,&#x2f;9j&#x2f;{MARKER}"))
            || page.contains(&format!("data:image/jpeg;base64,/9j/{MARKER}")),
        "{page}"
    );
    assert!(page.contains("f0e1d2c3b4a59687") && page.contains("Kamera ini melihat jalan — malam"));
    assert_eq!(headers["cache-control"], "no-store");
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("img-src 'self' data:"));
    let audited = views_audited(&app);
    assert_eq!(audited.len(), 1);
    assert!(
        audited[0].1.starts_with("dinkes/gw nvr/1 (command view-")
            && audited[0].1.ends_with(": cek kamera jalan"),
        "{audited:?}"
    );

    let t = token(&page);
    let (status, headers, body) = head
        .post(PIN, &[("token", &t), ("light", "day"), ("letter", "libur")])
        .await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(headers["location"], "/offices/dinkes/letters/libur#views");
    let conn = crate::store::open(&app.db).unwrap();
    let pins = crate::store::view_pins::list(&conn, Some(OFFICE)).unwrap();
    assert_eq!(pins.len(), 1);
    assert_eq!(
        (pins[0].light.as_str(), pins[0].by.as_str()),
        ("day", "kepala")
    );
    assert_eq!(pins[0].stats, harness::stats());
    let last = app.audit().pop().unwrap();
    assert_eq!(
        last,
        (
            "view.pin".into(),
            "dinkes/gw nvr/1 day hash f0e1d2c3b4a59687".into()
        )
    );
    // The form works once.
    let (status, _, _) = head.post(PIN, &[("token", &t), ("light", "night")]).await;
    assert_eq!(status, 403);

    // The command's record says a picture was taken, and its size only.
    let reader = crate::store::Reader::open(&app.db).unwrap();
    let answer = ronda_testkit::eventually("the command's answer stored", || async {
        let rows = reader
            .with(|c| crate::store::commands::list(c, Some(OFFICE), 0, i64::MAX, 10))
            .await
            .ok()?;
        rows.first()?.answer.clone()
    })
    .await;
    assert_eq!(answer, "snapshot taken, 1 KB (shown, not kept)");
    let bytes = database_bytes(&app);
    assert!(!bytes.is_empty());
    let found = bytes.windows(MARKER.len()).any(|w| w == MARKER.as_bytes());
    assert!(!found, "the picture is in the database files");

    // The pins as JSON; then removed, audited, and gone.
    let (status, json) = head.get("/api/v1/offices/dinkes/views").await;
    assert_eq!(status, 200);
    assert!(
        json.contains("\"light\":\"day\"") && !json.contains(MARKER),
        "{json}"
    );
    let unpin = [
        ("agent", "gw"),
        ("recorder", "nvr"),
        ("channel", "1"),
        ("light", "day"),
    ];
    let (status, _, _) = head.post("/offices/dinkes/views/unpin", &unpin).await;
    assert_eq!(status, 303);
    assert!(crate::store::view_pins::list(&conn, Some(OFFICE))
        .unwrap()
        .is_empty());
    assert_eq!(app.audit().pop().unwrap().0, "view.unpin");
    let (status, _, _) = head.post("/offices/dinkes/views/unpin", &unpin).await;
    assert_eq!(status, 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_another_offices_head_and_a_token_are_refused_and_nothing_is_audited_or_sent() {
    let app = App::start().await;
    let viewer = app.login("lihat").await;
    let (status, _, _) = viewer.post(SNAP, &form(&camera("lihat saja"))).await;
    assert_eq!(status, 403);
    // Another office's head: 404, as every route answers for an office
    // one may not see.
    let other = app.login("kepala-b").await;
    let (status, _, _) = other.post(SNAP, &form(&camera("lihat saja"))).await;
    assert_eq!(status, 404);
    // A camera the office does not have, and hostile ids.
    let it = app.login("it").await;
    for (k, v) in [
        ("channel", "9"),
        ("recorder", "../../etc"),
        ("agent", "GW\"><b>"),
    ] {
        let mut f = camera("cek");
        f.retain(|(key, _)| *key != k);
        f.push((k, v.into()));
        let (status, _, _) = it.post(SNAP, &form(&f)).await;
        assert_eq!(status, 404, "{k}={v}");
    }
    // Without the CSRF token, and with a bearer token instead of a session.
    let cek = camera("cek");
    let mut f = form(&cek);
    f.push(("csrf", "salah"));
    assert_eq!(it.post(SNAP, &f).await.0, 403);
    let bearer = harness::client()
        .post(format!("{}{SNAP}", app.http))
        .bearer_auth(harness::ADMIN_TOKEN)
        .form(&form(&camera("skrip")))
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 403);
    assert!(views_audited(&app).is_empty(), "{:?}", app.audit());
    // The first command the agent ever sees is the one IT asks for now:
    // none of the refused requests was sent.
    let (status, _, body) = it.post(SNAP, &form(&camera("cek"))).await;
    assert_eq!(status, 200, "{body}");
    let sent = app.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(views_audited(&app).len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_long_or_megabyte_reason_and_forged_tokens_are_refused() {
    let app = App::start().await;
    let head = app.login("kepala").await;
    let mut no_reason = camera("");
    no_reason.retain(|(k, _)| *k != "reason");
    assert_eq!(head.post(SNAP, &form(&no_reason)).await.0, 400);
    assert_eq!(head.post(SNAP, &form(&camera("   "))).await.0, 400);
    let long = "a".repeat(super::MAX_REASON + 1);
    let (status, _, body) = head.post(SNAP, &form(&camera(&long))).await;
    assert_eq!(status, 400, "{body}");
    let just = "é".repeat(super::MAX_REASON);
    let megabyte = "a".repeat(1 << 20);
    assert_eq!(head.post(SNAP, &form(&camera(&megabyte))).await.0, 413);
    assert!(views_audited(&app).is_empty());
    assert!(app.sent().is_empty());
    // 200 characters of two bytes each is a reason.
    assert_eq!(head.post(SNAP, &form(&camera(&just))).await.0, 200);

    for t in ["", "forged", &"0".repeat(32), &"x".repeat(60_000)] {
        let (status, _, _) = head.post(PIN, &[("token", t), ("light", "day")]).await;
        assert!(
            status == 403 || status == 413,
            "{status} for a token of {}",
            t.len()
        );
    }
    // Someone else's token (IT's snapshot) does not work for the head.
    let it = app.login("it").await;
    let (_, _, page) = it.post(SNAP, &form(&camera("cek"))).await;
    let theirs = token(&page);
    assert_eq!(
        head.post(PIN, &[("token", &theirs), ("light", "day")])
            .await
            .0,
        403
    );
    let (_, _, page) = it.post(SNAP, &form(&camera("cek"))).await;
    assert_eq!(
        it.post(PIN, &[("token", &token(&page)), ("light", "dusk")])
            .await
            .0,
        400
    );
    let conn = crate::store::open(&app.db).unwrap();
    assert!(crate::store::view_pins::list(&conn, None)
        .unwrap()
        .is_empty());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_asking_too_often_gets_a_429_that_says_when_to_try_again() {
    let app = App::start().await;
    let head = app.login("kepala").await;
    for i in 0..crate::snapshots::PER_MINUTE {
        let (status, _, body) = head.post(SNAP, &form(&camera("cek"))).await;
        assert_eq!(status, 200, "{i}: {body}");
    }
    let (status, _, body) = head.post(SNAP, &form(&camera("cek"))).await;
    assert_eq!(status, 429);
    assert!(
        body.contains("at most 6 live snapshots a minute per user; try again in"),
        "{body}"
    );
    assert_eq!(app.sent().len(), crate::snapshots::PER_MINUTE);
    // Another user is not held back.
    let it = app.login("it").await;
    assert_eq!(it.post(SNAP, &form(&camera("cek"))).await.0, 200);
    app.stop().await;
}

#[test]
fn the_signing_page_lists_cameras_with_their_pins_and_the_form_only_for_those_who_may_look() {
    let day = minijinja::context! { by => "kepala", at => "2026-12-24 08:00:00 WIB", stats => super::stats_of(&harness::stats()) };
    let camera = minijinja::context! { agent => "gw", recorder => "nvr", channel => "1", name => "Jalan depan", zone => "front-road", day, night => () };
    let page = |may_look: bool| {
        let ctx = minijinja::context! {
            lang => "id", user => minijinja::context! { name => "kepala", role => "head" },
            csrf => "c", office => OFFICE, name => "Dinas Kesehatan", letter => "Libur", letter_id => "libur",
            items => Vec::<()>::new(), cameras => vec![camera.clone()], may_look, max_reason => 200,
        };
        super::super::render_plain("sign.html", ctx).unwrap().0
    };
    let head = page(true);
    assert!(
        head.contains("dikonfirmasi oleh <b>kepala</b>") && head.contains("f0e1d2c3b4a59687"),
        "{head}"
    );
    assert!(
        head.contains("belum dikonfirmasi"),
        "the night view is not pinned"
    );
    assert!(
        head.contains("/offices/dinkes/views/snapshot")
            && head.contains("/offices/dinkes/views/unpin")
    );
    let viewer = page(false);
    assert!(viewer.contains("f0e1d2c3b4a59687"));
    assert!(!viewer.contains("/views/snapshot") && !viewer.contains("/views/unpin"));
}
