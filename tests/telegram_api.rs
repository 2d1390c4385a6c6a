//! The Bot API client (`ronda_server::telegram::api`) over real HTTP
//! against the Bot API stand-in (`ronda_sim::telegram`), both following
//! https://core.telegram.org/bots/api: what is sent, and what each of
//! Telegram's answers (429, 502, 403, 401, a hang, a bad update, a huge
//! body) becomes, with the token in no error.

use std::time::Duration;

use ronda_common::conf::{LazySecret, Secret};
use ronda_server::mail::Outcome;
use ronda_server::telegram::api::{ApiError, BotApi, Incoming, OutMessage};
use ronda_server::telegram::config::{TelegramConfig, Updates};
use ronda_sim::telegram::{BotApiStandIn, Fault, User};
use serde_json::json;

const TOKEN: &str = "4242:AAsecret-Token_9";
/// A guard so that a client that never gives up fails the test instead of
/// hanging it; far above any timeout the client is given here.
const GUARD: Duration = Duration::from_secs(60);

fn client(api_base: &str, token: &str) -> BotApi {
    BotApi::new(&TelegramConfig {
        token: LazySecret::from(Secret::new(token)),
        api_base: api_base.to_owned(),
        timeout: Duration::from_secs(1),
        updates: Updates::Poll,
    })
    .unwrap()
}

fn text(chat_id: i64, html: &str) -> OutMessage<'_> {
    OutMessage {
        chat_id,
        html,
        buttons: &[],
        reply_to: None,
        force_reply: false,
    }
}

fn sari() -> User {
    User {
        id: 77,
        first_name: "Sari".into(),
        username: None,
    }
}

fn assert_no_token(e: &ApiError) {
    for shown in [e.to_string(), format!("{e:?}")] {
        assert!(
            !shown.contains("secret-Token"),
            "the token shows in {shown}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_is_sent_once_with_the_right_json() {
    let tg = BotApiStandIn::start(TOKEN).await.unwrap();
    let api = client(&tg.api_base(), TOKEN);
    let first = api
        .send_message(&text(-100, "<b>Disk full</b> at Kantor &amp; Gudang"))
        .await
        .unwrap();
    let buttons = [("Acknowledge".to_owned(), "ack:41".to_owned())];
    let reply = OutMessage {
        buttons: &buttons,
        reply_to: Some(first),
        ..text(-100, "Still firing")
    };
    let second = api.send_message(&reply).await.unwrap();
    assert_eq!((first, second), (1, 2));
    let calls = tg.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(
        calls[1].body,
        json!({
            "chat_id": -100, "text": "Still firing", "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": true},
            "reply_markup": {"inline_keyboard": [[{"text": "Acknowledge", "callback_data": "ack:41"}]]},
            "reply_parameters": {"message_id": 1, "allow_sending_without_reply": true},
        })
    );
    let sent = tg.sent();
    assert_eq!(sent[1].reply_to, Some(first));
    assert_eq!(sent[0].text, "<b>Disk full</b> at Kantor &amp; Gudang");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_fault_becomes_its_error() {
    let tg = BotApiStandIn::start(TOKEN).await.unwrap();
    let api = client(&tg.api_base(), TOKEN);
    tg.fail_next(
        "sendMessage",
        vec![
            Fault::TooManyRequests { retry_after: 7 },
            Fault::BadGateway,
            Fault::Forbidden("Forbidden: bot was blocked by the user".into()),
            Fault::Migrated {
                to_chat_id: -100_555,
            },
        ],
    );
    let m = text(-5, "x");
    let e = api.send_message(&m).await.unwrap_err();
    assert!(
        matches!(&e, ApiError::RetryAfter { wait, .. } if *wait == Duration::from_secs(7)),
        "{e}"
    );
    assert!(matches!(e.outcome(), Outcome::Later(_, w) if w == Duration::from_secs(7)));
    let e = api.send_message(&m).await.unwrap_err();
    assert!(matches!(e, ApiError::Unavailable(_)), "{e}");
    let e = api.send_message(&m).await.unwrap_err();
    assert_eq!(
        e.outcome(),
        Outcome::Permanent("telegram 403: Forbidden: bot was blocked by the user".into())
    );
    let e = api.send_message(&m).await.unwrap_err();
    assert!(
        matches!(
            e,
            ApiError::Migrated {
                new_chat_id: -100_555
            }
        ),
        "{e}"
    );
    tg.kick(-5);
    let e = api.send_message(&m).await.unwrap_err();
    assert!(
        matches!(&e, ApiError::Refused { code: 403, description } if description == "Forbidden: bot was kicked from the group chat"),
        "{e}"
    );
    assert!(tg.sent().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hang_is_unavailable_once_the_timeout_passes() {
    let tg = BotApiStandIn::start(TOKEN).await.unwrap();
    let api = client(&tg.api_base(), TOKEN);
    tg.fail_next("sendMessage", vec![Fault::Hang]);
    let e = tokio::time::timeout(GUARD, api.send_message(&text(1, "x")))
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&e, ApiError::Unavailable(why) if why.contains("no answer within")),
        "{e}"
    );
    assert_no_token(&e);
    assert_eq!(tg.calls()[0].status, 0, "the stand-in never answered");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_token_is_unauthorized_and_no_error_shows_a_token() {
    let tg = BotApiStandIn::start("4242:the-right-one").await.unwrap();
    let api = client(&tg.api_base(), TOKEN);
    let e = api.send_message(&text(1, "x")).await.unwrap_err();
    assert!(matches!(e, ApiError::Unauthorized), "{e}");
    assert_no_token(&e);
    assert!(matches!(e.outcome(), Outcome::Transient(_)));
    // No server at all: reqwest's error would name the URL, with the token.
    let closed = format!("http://{}", ronda_testkit::free_addr());
    let e = client(&closed, TOKEN).get_updates(0, 0).await.unwrap_err();
    assert!(matches!(e, ApiError::Unavailable(_)), "{e}");
    assert_no_token(&e);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_update_among_good_ones_keeps_its_id() {
    let tg = BotApiStandIn::start(TOKEN).await.unwrap();
    let api = client(&tg.api_base(), TOKEN);
    let sent = api.send_message(&text(-9, "alert")).await.unwrap();
    let pressed = tg.press(-9, sari(), sent, "ack:1");
    let bad = tg.push_update(json!({"message": {"message_id": "not a number", "chat": 5}}));
    let linked = tg.message(77, sari(), "/link AB12");
    let got = api.get_updates(0, 0).await.unwrap();
    let ids: Vec<i64> = got.iter().map(Incoming::update_id).collect();
    assert_eq!(ids, [pressed, bad, linked]);
    let Incoming::Update(press) = &got[0] else {
        panic!("{got:?}")
    };
    let cq = press.callback_query.as_ref().unwrap();
    assert_eq!((cq.data.as_deref(), cq.from.id), (Some("ack:1"), 77));
    assert_eq!(cq.message.as_ref().unwrap().message_id, sent);
    assert!(matches!(&got[1], Incoming::Malformed { .. }));
    let Incoming::Update(link) = &got[2] else {
        panic!("{got:?}")
    };
    assert_eq!(
        link.message.as_ref().unwrap().text.as_deref(),
        Some("/link AB12")
    );
    assert!(
        api.get_updates(linked + 1, 0).await.unwrap().is_empty(),
        "confirmed"
    );
    // Answering: the press once; someone else's id is refused.
    api.answer_callback_query(&cq.id, "Acknowledged")
        .await
        .unwrap();
    let e = api
        .answer_callback_query("someone-elses", "x")
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Refused { code: 400, .. }), "{e}");
    assert_eq!(
        tg.answered_callbacks(),
        [(cq.id.clone(), "Acknowledged".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_poll_returns_the_update_pushed_while_it_waits() {
    let tg = BotApiStandIn::start(TOKEN).await.unwrap();
    let api = client(&tg.api_base(), TOKEN);
    let (got, id) = tokio::join!(api.get_updates(0, 30), async {
        tg.message(77, sari(), "hello")
    });
    let got = got.unwrap();
    assert_eq!(
        got.iter().map(Incoming::update_id).collect::<Vec<_>>(),
        [id]
    );
    let body = &tg.calls()[0].body;
    assert_eq!(
        body["allowed_updates"],
        json!(["message", "callback_query"])
    );
    assert_eq!(body["timeout"], 30);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_answer_is_refused() {
    let tg = BotApiStandIn::start(TOKEN).await.unwrap();
    let api = client(&tg.api_base(), TOKEN);
    let big = "x".repeat(50_000);
    for _ in 0..90 {
        tg.message(77, sari(), &big);
    }
    let e = api.get_updates(0, 0).await.unwrap_err();
    assert!(
        matches!(&e, ApiError::Unavailable(why) if why.contains("larger than")),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn what_telegram_would_refuse_is_not_sent() {
    let tg = BotApiStandIn::start(TOKEN).await.unwrap();
    let api = client(&tg.api_base(), TOKEN);
    let long_data = [("Ack".to_owned(), "a".repeat(65))];
    let m = OutMessage {
        buttons: &long_data,
        ..text(1, "x")
    };
    assert!(matches!(
        api.send_message(&m).await,
        Err(ApiError::Invalid(_))
    ));
    let long_text = "y".repeat(4097);
    assert!(matches!(
        api.send_message(&text(1, &long_text)).await,
        Err(ApiError::Invalid(_))
    ));
    assert!(tg.calls().is_empty());
    // What the client lets through, the stand-in takes.
    let at_limit = "y".repeat(4096);
    api.send_message(&text(1, &at_limit)).await.unwrap();
}
