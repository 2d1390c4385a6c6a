//! The webhook channel against a receiver that checks signatures as
//! docs/webhooks.md says: the body is signed and verified, its fields are
//! the documented ones; a replay is refused by its timestamp; a 500 then a
//! 200 is one delivery; and a sender killed after the 200 posts again with
//! the same delivery id, which the receiver drops.

use std::time::Duration;

use super::{at, World, KEY};
use ronda_server::mail::{channels, send};
use ronda_testkit::webhook::Receiver;

async fn world() -> (World, Receiver) {
    let hook = Receiver::start(KEY.as_bytes()).await.unwrap();
    let w = World::start(None, Some(&hook.url())).await;
    (w, hook)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_firing_alert_is_posted_signed_with_the_documented_body() {
    let (mut w, hook) = world().await;
    w.printer_fires().await;
    let mut mailer = w.mailer();
    assert_eq!(
        mailer.step(at(w.t0, 31)).await.unwrap(),
        2,
        "email and webhook"
    );
    let got = hook.accepted();
    assert_eq!(got.len(), 1, "refused: {:?}", hook.refused());
    let body = got[0].json.clone().unwrap();
    assert_eq!(body["version"], 1);
    assert_eq!(body["kind"], "firing");
    assert_eq!(body["office"]["id"], "dinkes");
    assert_eq!(body["office"]["name"], "Dinas Kesehatan");
    let alert = &body["alerts"][0];
    assert_eq!(alert["id"], 1);
    assert_eq!(alert["state"], "firing");
    assert_eq!(alert["severity"], "warning");
    assert_eq!(alert["subject"], "printer-lobi");
    assert_eq!(alert["link"], "https://ronda.example.go.id/alerts/1");
    assert!(
        alert["finding"].as_str().unwrap().contains("printer-lobi"),
        "{alert}"
    );
    assert!(body["text"].as_str().unwrap().contains("Dinas Kesehatan"));
    assert!(got[0].id.starts_with("<ronda."), "{}", got[0].id);
    mailer.step(at(w.t0, 32)).await.unwrap();
    assert_eq!(hook.accepted().len(), 1, "posted once");
    // The same request again, six minutes on: its timestamp is stale.
    hook.advance_clock(Duration::from_secs(360));
    assert_eq!(tokio::task::block_in_place(|| hook.replay(&got[0])), 401);
    let refused = hook.refused();
    assert!(
        refused.iter().any(|(_, why)| why == "stale timestamp"),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_500_then_a_200_is_one_delivery() {
    let (mut w, hook) = world().await;
    w.printer_fires().await;
    hook.answer_next(vec![500]);
    let mut mailer = w.mailer();
    mailer.step(at(w.t0, 31)).await.unwrap();
    let row = w.row(channels::WEBHOOK);
    assert_eq!((row.state.as_str(), row.attempts), ("queued", 1));
    assert!(row.error.unwrap().contains("500"));
    assert!(hook.accepted().is_empty());
    mailer.step(at(w.t0, 40)).await.unwrap();
    assert_eq!(hook.accepted().len(), 1);
    assert_eq!(w.row(channels::WEBHOOK).state, "sent");
    mailer.step(at(w.t0, 90)).await.unwrap();
    assert_eq!(hook.accepted().len(), 1, "delivered once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_that_refuses_for_good_makes_it_dead_and_the_email_goes() {
    let (mut w, hook) = world().await;
    w.printer_fires().await;
    hook.answer_next(vec![404]);
    let mut mailer = w.mailer();
    mailer.step(at(w.t0, 31)).await.unwrap();
    let row = w.row(channels::WEBHOOK);
    assert_eq!(row.state, "dead");
    assert!(row.error.unwrap().contains("404"));
    assert_eq!(w.row(channels::EMAIL).state, "sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sender_killed_after_the_200_posts_again_with_the_same_delivery_id() {
    let (mut w, hook) = world().await;
    w.printer_fires().await;
    let cx = w.context();
    let lease = Duration::from_secs(3);
    {
        let conn = crate::common::db::open(&w.db);
        ronda_server::mail::compose::step(&conn, &cx, at(w.t0, 31)).unwrap();
        let row = send::claim(&conn, channels::WEBHOOK, at(w.t0, 31), lease)
            .unwrap()
            .unwrap();
        let mut sender =
            ronda_server::webhook::WebhookSender::new(cx.config.webhook.as_ref().unwrap()).unwrap();
        use ronda_server::mail::deliver::Sender;
        assert_eq!(
            sender.attempt(&cx, &row).await,
            ronda_server::mail::Outcome::Sent
        );
    }
    let mut mailer = w.mailer();
    mailer
        .step(at(w.t0, 31) + jiff::SignedDuration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(hook.accepted().len(), 1, "the claim still holds");
    mailer.step(at(w.t0, 32)).await.unwrap();
    mailer.step(at(w.t0, 33)).await.unwrap();
    let accepted = hook.accepted();
    let refused = hook.refused();
    assert_eq!(accepted.len(), 1, "the receiver keeps one");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].1, "replayed delivery id");
    assert_eq!(refused[0].0.id, accepted[0].id, "the same delivery id");
    assert_eq!(refused[0].0.body, accepted[0].body, "the same body");
    assert_eq!(w.row(channels::WEBHOOK).state, "sent");
}
