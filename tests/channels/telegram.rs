//! The Telegram channel against the Bot API stand-in: one message per
//! firing, in HTML with its "Tangani" button; a 429 waits exactly as long
//! as it says; a 502 and a hang are tried again; a 403 is dead with its
//! reason while the email still goes; and a sender killed between the
//! Bot API's answer and its commit sends that message once more, the same.

use std::time::Duration;

use super::{at, World, CHAT, TOKEN};
use ronda_server::mail::{channels, send};
use ronda_sim::telegram::{BotApiStandIn, Fault};

async fn world() -> (World, BotApiStandIn) {
    let bot = BotApiStandIn::start(TOKEN).await.unwrap();
    let w = World::start(Some(&bot.api_base()), None).await;
    (w, bot)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_firing_alert_reaches_the_group_once_in_html_with_its_button() {
    let (mut w, bot) = world().await;
    w.printer_fires().await;
    let mut mailer = w.mailer();
    assert_eq!(mailer.step(at(w.t0, 30)).await.unwrap(), 0, "group wait");
    assert_eq!(
        mailer.step(at(w.t0, 31)).await.unwrap(),
        2,
        "email and Telegram"
    );
    let sent = bot.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let m = &sent[0];
    assert_eq!(m.chat_id, CHAT);
    assert_eq!(m.parse_mode.as_deref(), Some("HTML"));
    assert!(m.text.contains("Dinas Kesehatan"), "{}", m.text);
    assert!(m.text.contains("printer-lobi"), "{}", m.text);
    assert!(
        m.text.contains("https://ronda.example.go.id/alerts/1"),
        "{}",
        m.text
    );
    let keyboard = &m.reply_markup.as_ref().unwrap()["inline_keyboard"];
    assert_eq!(keyboard[0][0]["text"], "Tangani");
    assert_eq!(keyboard[0][0]["callback_data"], "ack:1");
    assert_eq!(w.smtp.received().len(), 1, "the email goes too");
    assert_eq!(mailer.step(at(w.t0, 32)).await.unwrap(), 0, "sent once");
    assert_eq!(bot.sent().len(), 1);
    let row = w.row(channels::TELEGRAM);
    assert_eq!((row.kind.as_str(), row.state.as_str()), ("firing", "sent"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_is_waited_out_exactly_then_delivered_once() {
    let (mut w, bot) = world().await;
    w.printer_fires().await;
    bot.fail_next(
        "sendMessage",
        vec![Fault::TooManyRequests { retry_after: 7 }],
    );
    let mut mailer = w.mailer();
    let first = at(w.t0, 31);
    mailer.step(first).await.unwrap();
    let row = w.row(channels::TELEGRAM);
    assert_eq!(row.state, "queued");
    assert_eq!(
        row.next_ms - first.as_millisecond(),
        7_000,
        "retry_after, no more, no less"
    );
    assert!(row.error.unwrap().contains("429"));
    mailer
        .step(first + jiff::SignedDuration::from_secs(6))
        .await
        .unwrap();
    assert!(bot.sent().is_empty(), "not before the 7 s");
    mailer
        .step(first + jiff::SignedDuration::from_secs(7))
        .await
        .unwrap();
    assert_eq!(bot.sent().len(), 1);
    assert_eq!(w.row(channels::TELEGRAM).state, "sent");
    mailer.step(at(w.t0, 40)).await.unwrap();
    assert_eq!(bot.sent().len(), 1, "delivered once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_502_and_a_hang_are_tried_again_and_delivered_once() {
    let (mut w, bot) = world().await;
    w.printer_fires().await;
    bot.fail_next("sendMessage", vec![Fault::BadGateway, Fault::Hang]);
    let mut mailer = w.mailer();
    mailer.step(at(w.t0, 31)).await.unwrap();
    let row = w.row(channels::TELEGRAM);
    assert_eq!((row.state.as_str(), row.attempts), ("queued", 1));
    assert!(row.error.unwrap().contains("502"));
    // The hang: the pass ends within the channel's timeout, and the email
    // of the same pass was not held up by it.
    mailer.step(at(w.t0, 35)).await.unwrap();
    let row = w.row(channels::TELEGRAM);
    assert_eq!((row.state.as_str(), row.attempts), ("queued", 2));
    assert!(bot.sent().is_empty());
    mailer.step(at(w.t0, 60)).await.unwrap();
    assert_eq!(bot.sent().len(), 1);
    assert_eq!(w.row(channels::TELEGRAM).state, "sent");
    let calls = bot
        .calls()
        .iter()
        .filter(|c| c.method.eq_ignore_ascii_case("sendMessage"))
        .count();
    assert_eq!(calls, 3, "502, hang, 200");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bot_removed_from_the_group_makes_that_message_dead_and_the_email_goes() {
    let (mut w, bot) = world().await;
    w.printer_fires().await;
    bot.kick(CHAT);
    let mut mailer = w.mailer();
    mailer.step(at(w.t0, 31)).await.unwrap();
    let row = w.row(channels::TELEGRAM);
    assert_eq!(row.state, "dead");
    let error = row.error.unwrap();
    assert!(error.contains("403") && error.contains("kicked"), "{error}");
    assert_eq!(w.row(channels::EMAIL).state, "sent");
    assert_eq!(w.smtp.received().len(), 1);
    mailer.step(at(w.t0, 90)).await.unwrap();
    assert!(bot.sent().is_empty(), "a dead message is not tried again");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sender_killed_after_the_answer_sends_that_message_again_the_same() {
    let (mut w, bot) = world().await;
    w.printer_fires().await;
    let cx = w.context();
    let lease = Duration::from_secs(3);
    {
        // Claimed and sent; the process dies before it records the send.
        let conn = crate::common::db::open(&w.db);
        ronda_server::mail::compose::step(&conn, &cx, at(w.t0, 31)).unwrap();
        let row = send::claim(&conn, channels::TELEGRAM, at(w.t0, 31), lease)
            .unwrap()
            .unwrap();
        let mut sender =
            ronda_server::telegram::send::TelegramSender::new(cx.config.telegram.as_ref().unwrap())
                .unwrap();
        use ronda_server::mail::deliver::Sender;
        assert_eq!(
            sender.attempt(&cx, &row).await,
            ronda_server::mail::Outcome::Sent
        );
    }
    let mut mailer = w.mailer();
    let within = at(w.t0, 31) + jiff::SignedDuration::from_secs(1);
    mailer.step(within).await.unwrap();
    assert_eq!(
        bot.sent().len(),
        1,
        "the claim still holds: the old sender may be sending"
    );
    mailer.step(at(w.t0, 32)).await.unwrap();
    mailer.step(at(w.t0, 33)).await.unwrap();
    let sent = bot.sent();
    assert_eq!(
        sent.len(),
        2,
        "sent again once the claim ran out, and only once"
    );
    assert_eq!(
        (sent[0].chat_id, &sent[0].text),
        (sent[1].chat_id, &sent[1].text)
    );
    assert_eq!(sent[0].reply_markup, sent[1].reply_markup);
    assert_eq!(w.row(channels::TELEGRAM).state, "sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chat_without_a_bot_set_up_is_dead_with_the_reason() {
    let bot = BotApiStandIn::start(TOKEN).await.unwrap();
    let mut w = World::start(Some(&bot.api_base()), None).await;
    w.printer_fires().await;
    let mut cx = w.context();
    cx.config.telegram = None;
    let mut mailer = ronda_server::mail::Mailer::open(&w.db, cx).unwrap();
    mailer.step(at(w.t0, 31)).await.unwrap();
    let row = w.row(channels::TELEGRAM);
    assert_eq!(row.state, "dead");
    assert!(row
        .error
        .unwrap()
        .contains("server.yaml has no `telegram:` section"));
    assert!(bot.calls().is_empty());
    assert_eq!(w.row(channels::EMAIL).state, "sent");
}
