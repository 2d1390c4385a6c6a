//! A region outside Western Indonesia reads its own clock: with the office
//! registry in Asia/Makassar, pages and mail show times in WITA, with the
//! zone's name printed.

use std::sync::Arc;

use crate::common::{repo_file, spawn_with};
use crate::policy_harness::{kotim, mins, Central, Office};
use jiff::Timestamp;
use ronda_server::mail::config::{Lang, TransportConfig};
use ronda_server::mail::{Context, Mailer};

/// The example registry moved to Central Indonesian Time, without the
/// leadership list (its daily summary depends on the time of day).
fn makassar() -> Arc<ronda_policy::Registry> {
    let path = repo_file("examples/offices.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("timezone: Asia/Jakarta", "timezone: Asia/Makassar");
    let mut r = ronda_policy::Registry::from_text(&path, text).unwrap();
    r.contacts.remove("leadership");
    Arc::new(r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_show_the_regions_clock() {
    // The letter as written: its window and deadline are in WIB.
    let letter =
        ronda_policy::load(&repo_file("letters/kotim-idul-fitri-2018.yaml"), None).unwrap();
    let app = spawn_with(|c| {
        c.letters = Arc::new(vec![letter]);
        c.registry = Some(makassar());
    })
    .await;
    let page = app.get_text("/letters/kotim-idul-fitri-2018/report").await;
    // 2018-06-11 00:00 WIB, 2018-06-21 07:30 WIB and 2018-06-10 17:00 WIB.
    for time in [
        "2018-06-11 01:00:00 WITA",
        "2018-06-21 08:30:00 WITA",
        "2018-06-10 18:00:00 WITA",
    ] {
        assert!(page.contains(time), "{time}\n{page}");
    }
    assert!(!page.contains(" WIB"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_shows_the_offices_clock() {
    let office = Office::start().await;
    let dir = tempfile::tempdir().unwrap();
    let test_db = crate::common::db::TestDb::from_env(dir.path());
    let db = &test_db.location;
    let t0: Timestamp = "2018-06-12T02:00:00Z".parse().unwrap();
    let letter = kotim(t0 - mins(60));
    let registry = makassar();
    let mut central = Central::with_registry(db, vec![letter.clone()], registry.clone());
    // The printer is left on until its `power.off` alert fires (30 min).
    office.relay("printer-lobi", true);
    let on = office.observe().await;
    central.report(&on, t0).await;
    central.report(&on, t0 + mins(30)).await;

    let mut config = crate::common::smtp::mail_config(
        crate::common::smtp::free_addr(),
        Lang::En,
        std::time::Duration::from_secs(1),
    );
    config.transport = TransportConfig::Capture(dir.path().join("mail"));
    let cx = Context {
        letters: Arc::new(vec![letter]),
        registry: Some(registry),
        retired: Default::default(),
        config,
    };
    let mut mailer = Mailer::open(db, cx).unwrap();
    assert_eq!(mailer.step(t0 + mins(31)).await.unwrap(), 1);
    let conn = crate::common::db::open(db);
    let (text, html): (String, String) = conn
        .query_row(
            "SELECT body_text, body_html FROM outbox WHERE kind = 'firing'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    // The alert started at t0: 10:00 in Makassar.
    for body in [&text, &html] {
        assert!(body.contains("2018-06-12 10:00 WITA"), "{body}");
    }
}
