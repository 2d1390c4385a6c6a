//! A real browser: headless Chromium from Debian packages, driven through
//! WebDriver. A head of office logs in, reviews the checklist, attests the
//! manual items, explains the rest and signs; the leadership's overview
//! and report change. Screenshots land in `target/screenshots/`.
//!
//! Skips with a message where Chromium or chromedriver is missing, unless
//! `RONDA_REQUIRE_BROWSER=1` (which `.ci/run` sets).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::common::web::{add, PW};
use crate::common::webdriver::{installed, Browser};
use crate::common::{spawn_with, TestApp, LETTER};
use ronda_server::demo::{DemoOptions, OFFICES};
use ronda_server::telegram::config::Updates;
use ronda_sim::telegram::{BotApiStandIn, User};
use tokio_util::sync::CancellationToken;

fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
}

/// The demo's three offices, its letters in force, its alerts also going
/// to a Telegram group on a Bot API stand-in, and two accounts.
async fn demo() -> (TestApp, CancellationToken, BotApiStandIn) {
    let opts = DemoOptions {
        http: "127.0.0.1:0".parse().unwrap(),
        mqtt: "127.0.0.1:0".parse().unwrap(),
        interval: Duration::from_secs(1),
        window_start: Some(jiff::Timestamp::now()),
        max_grace: Duration::from_secs(5),
    };
    let (letters, registry) = ronda_server::demo::letters(&opts).unwrap();
    let bot = BotApiStandIn::start(BOT_TOKEN).await.unwrap();
    let mail = crate::common::telegram_mail(bot.api_base(), BOT_TOKEN, Updates::Poll);
    let app = spawn_with(|c| {
        c.letters = Arc::new(letters);
        c.registry = Some(Arc::new(registry));
        c.mail = Some(mail);
    })
    .await;
    let stop = CancellationToken::new();
    let server = app.server.as_ref().unwrap();
    ronda_server::demo::spawn_offices(server, &app.db, opts.interval, &stop)
        .await
        .unwrap();
    for office in OFFICES {
        app.wait_report(office, "kantor-utama", 2).await;
    }
    add(&app, "pimpinan", "viewer", None);
    add(&app, "kepala-dinkes", "head", Some("dinkes"));
    (app, stop, bot)
}

const BOT_TOKEN: &str = "7007:browser-test-bot";

async fn log_in(b: &Browser, http: &str, name: &str) {
    b.goto(&format!("{http}/")).await;
    assert!(
        b.url().await.contains("/login?next="),
        "not logged in: the login form first"
    );
    b.type_into("#name", name).await;
    b.type_into("#password", PW).await;
    b.click("button[type=submit]").await;
    b.find("main h1").await;
}

async fn log_out(b: &Browser) {
    b.click("header form button").await;
    b.find("#password").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_signs_in_a_real_browser_and_the_overview_changes() {
    let Some((chromium, driver)) = installed() else {
        crate::common::skip::unless_required(
            "RONDA_REQUIRE_BROWSER",
            "Chromium or chromedriver is not installed (apt-get install chromium chromium-driver)",
        );
        return;
    };
    let (app, stop, bot) = demo().await;
    let http = app.http.clone();
    let b = Browser::start(&chromium, &driver, 1280, 900).await;

    // The leadership's overview before: nobody has signed, disdukcapil fails.
    log_in(&b, &http, "pimpinan").await;
    b.wait_text("#signed", "0 / 3").await;
    b.wait_text("tr[data-office=disdukcapil]", "tidak").await;
    b.screenshot(&shots().join("overview-before.png")).await;
    let report = format!("{http}/letters/{LETTER}/report");
    b.goto(&report).await;
    assert!(
        b.text("tr[data-office=dinkes]").await.contains("belum ada"),
        "missing before signing"
    );
    log_out(&b).await;

    // The head of dinkes reviews, attests, explains and signs.
    log_in(&b, &http, "kepala-dinkes").await;
    b.goto(&format!("{http}/offices/dinkes")).await;
    b.find("h1").await;
    b.screenshot(&shots().join("office-head.png")).await;
    b.goto(&format!("{http}/offices/dinkes/letters/{LETTER}"))
        .await;
    assert!(b
        .text("main")
        .await
        .contains("Alat perekam kamera CCTV diletakkan di tempat tersembunyi"));
    for _ in 0..2 {
        let before = b.all("button[name=attest]").await.len();
        assert!(before > 0, "a manual item to attest");
        b.click("button[name=attest]").await;
        for _ in 0..50 {
            if b.all("button[name=attest]").await.len() < before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert!(
        b.all("button[name=attest]").await.is_empty(),
        "both manual items attested"
    );
    for e in b.all("textarea").await {
        b.type_element(&e, "Sudah diperiksa; teknisi datang besok pagi")
            .await;
    }
    b.click("#sign-button").await;
    b.wait_text("#signed", "kepala-dinkes").await;
    b.screenshot(&shots().join("sign.png")).await;

    // The head links their Telegram account: a code on the page, sent to
    // the bot in a private chat; the page then says whom it is linked to.
    b.goto(&format!("{http}/telegram")).await;
    b.click("main form button").await;
    b.find("#link-code").await;
    let code = b.text("#link-code").await;
    let tg = User {
        id: 4242,
        first_name: "Kepala".into(),
        username: None,
    };
    bot.message(tg.id, tg.clone(), &code);
    crate::common::eventually("the bot to confirm the link", || async {
        bot.sent()
            .iter()
            .any(|m| m.chat_id == tg.id && m.text.contains("Tertaut"))
            .then_some(())
    })
    .await;
    b.goto(&format!("{http}/telegram")).await;
    b.wait_text("main", "4242").await;
    b.screenshot(&shots().join("telegram.png")).await;
    log_out(&b).await;

    // The overview and the report have changed.
    log_in(&b, &http, "pimpinan").await;
    b.wait_text("#signed", "1 / 3").await;
    b.wait_text("tr[data-office=dinkes]", "kepala-dinkes").await;
    b.screenshot(&shots().join("overview.png")).await;
    b.goto(&report).await;
    b.wait_text("tr[data-office=dinkes]", "kepala-dinkes").await;
    b.screenshot(&shots().join("report.png")).await;
    b.goto(&format!("{http}/offices/disdukcapil")).await;
    b.find("h1").await;
    b.screenshot(&shots().join("office.png")).await;
    // The outbox shows the Telegram messages beside the email.
    crate::common::eventually("a Telegram message on the outbox page", || async {
        b.goto(&format!("{http}/outbox")).await;
        b.text("main").await.contains("it-kotim").then_some(())
    })
    .await;
    b.screenshot(&shots().join("outbox.png")).await;
    b.goto(&format!("{http}/wall")).await;
    b.wait_text("main", "1/3").await;
    b.screenshot(&shots().join("wall.png")).await;

    // The Cilegon closure at bappeda: the guard's entry allowed, the staff
    // member's through the closed back gate not, and the door events on
    // the office page.
    let gates = format!("{http}/letters/cilegon-satu-pintu-2020/report");
    crate::common::eventually("both entries on the Cilegon report", || async {
        b.goto(&gates).await;
        let t = b.text("main").await;
        let shown = t.contains("1023") && t.contains("tidak diizinkan") && t.contains("9001");
        shown.then_some(())
    })
    .await;
    b.screenshot(&shots().join("report-doors.png")).await;
    b.goto(&format!("{http}/offices/bappeda")).await;
    let page = b.wait_text("main", "pintu-belakang").await;
    assert!(
        page.contains("back-gate") && page.contains("1023"),
        "{page}"
    );
    b.screenshot(&shots().join("office-doors.png")).await;

    // English, and a phone-sized screen.
    b.goto(&format!("{http}/lang/en")).await;
    b.wait_text("#signed", "have signed").await;
    b.resize(390, 844).await;
    b.screenshot(&shots().join("overview-phone-en.png")).await;
    b.quit().await;
    stop.cancel();
}
