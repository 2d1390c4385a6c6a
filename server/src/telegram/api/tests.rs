//! The client's pure parts: the message it builds, how it reads Telegram's
//! envelope (examples shaped as https://core.telegram.org/bots/api
//! "Making requests" shows them), and escaping. The HTTP side is tested
//! against the Bot API stand-in in the root suite (`tests/telegram_api.rs`).

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::telegram::config::{TelegramConfig, Updates};
use ronda_common::conf::{LazySecret, Secret};

fn out<'a>(html: &'a str, buttons: &'a [(String, String)]) -> OutMessage<'a> {
    OutMessage {
        chat_id: -100,
        html,
        buttons,
        reply_to: None,
        force_reply: false,
    }
}

fn config(token: &str) -> TelegramConfig {
    TelegramConfig {
        token: LazySecret::from(Secret::new(token)),
        api_base: "http://127.0.0.1:9".into(),
        timeout: Duration::from_secs(1),
        updates: Updates::Poll,
    }
}

#[test]
fn escape_html_escapes_the_three_characters() {
    assert_eq!(escape_html("a<b>&c\"d'"), "a&lt;b&gt;&amp;c\"d'");
}

#[test]
fn the_length_is_counted_after_tags_and_entities() {
    assert_eq!(visible_text("<b>a&amp;b</b>"), "a&b");
    assert_eq!(visible_text("ünï"), "ünï");
    let long = format!("<b>{}</b>", "x".repeat(TEXT_MAX));
    assert!(message_body(&out(&long, &[])).is_ok(), "tags do not count");
    let too_long = format!("{}&lt;", "x".repeat(TEXT_MAX));
    assert!(matches!(
        message_body(&out(&too_long, &[])),
        Err(ApiError::Invalid(_))
    ));
    assert!(matches!(
        message_body(&out(" <b></b> ", &[])),
        Err(ApiError::Invalid(_))
    ));
}

#[test]
fn a_message_with_buttons_and_a_reply() {
    let buttons = [
        ("Ack".to_owned(), "ack:1".to_owned()),
        ("Note".to_owned(), "note:1".to_owned()),
    ];
    let mut m = out("<b>Alert</b>", &buttons);
    m.reply_to = Some(7);
    let body = message_body(&m).unwrap();
    assert_eq!(
        body,
        json!({
            "chat_id": -100, "text": "<b>Alert</b>", "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": true},
            "reply_markup": {"inline_keyboard": [
                [{"text": "Ack", "callback_data": "ack:1"}],
                [{"text": "Note", "callback_data": "note:1"}],
            ]},
            "reply_parameters": {"message_id": 7, "allow_sending_without_reply": true},
        })
    );
}

#[test]
fn force_reply_and_its_conflict_with_buttons() {
    let mut m = out("Why?", &[]);
    m.force_reply = true;
    let body = message_body(&m).unwrap();
    assert_eq!(
        body["reply_markup"],
        json!({"force_reply": true, "selective": true})
    );
    let buttons = [("a".to_owned(), "b".to_owned())];
    m.buttons = &buttons;
    assert!(matches!(message_body(&m), Err(ApiError::Invalid(_))));
}

#[test]
fn button_data_over_64_bytes_is_refused_before_sending() {
    let ok = [("a".to_owned(), "é".repeat(32))];
    assert!(message_body(&out("x", &ok)).is_ok(), "64 bytes");
    let long = [("a".to_owned(), "é".repeat(32) + "x")];
    assert!(matches!(
        message_body(&out("x", &long)),
        Err(ApiError::Invalid(_))
    ));
    let empty = [("a".to_owned(), String::new())];
    assert!(matches!(
        message_body(&out("x", &empty)),
        Err(ApiError::Invalid(_))
    ));
}

#[test]
fn each_error_answer_becomes_its_error_and_outcome() {
    let read = |status: u16, body: serde_json::Value| {
        read_answer("sendMessage", status, body.to_string().as_bytes()).unwrap_err()
    };
    let e = read(
        429,
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 7", "parameters": {"retry_after": 7}}),
    );
    assert!(matches!(e.outcome(), Outcome::Later(_, w) if w == Duration::from_secs(7)));
    let e = read(
        429,
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests"}),
    );
    assert!(matches!(e.outcome(), Outcome::Later(_, w) if w == DEFAULT_RETRY_AFTER));
    let e = read(
        403,
        json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was kicked from the group chat"}),
    );
    assert_eq!(
        e.outcome(),
        Outcome::Permanent("telegram 403: Forbidden: bot was kicked from the group chat".into())
    );
    let e = read(
        400,
        json!({"ok": false, "error_code": 400, "description": "Bad Request: group chat was upgraded to a supergroup chat", "parameters": {"migrate_to_chat_id": -1001234}}),
    );
    assert_eq!(
        e.outcome(),
        Outcome::Permanent(
            "telegram 400: the group became a supergroup; its new id is -1001234".into()
        )
    );
    let e = read(
        401,
        json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
    );
    assert!(matches!(e, ApiError::Unauthorized));
    assert!(matches!(e.outcome(), Outcome::Transient(_)));
    let e = read(
        502,
        json!({"ok": false, "error_code": 502, "description": "Bad Gateway"}),
    );
    assert!(matches!(e.outcome(), Outcome::Transient(_)));
}

#[test]
fn an_answer_that_is_not_the_envelope_is_unavailable() {
    let html = b"<html><body><h1>502 Bad Gateway</h1></body></html>";
    assert!(matches!(
        read_answer("getUpdates", 502, html),
        Err(ApiError::Unavailable(_))
    ));
    assert!(matches!(
        read_answer("getUpdates", 200, b"{\"ok\":tr"),
        Err(ApiError::Unavailable(_))
    ));
    assert!(matches!(
        read_answer("getUpdates", 200, b"{\"ok\":true}"),
        Err(ApiError::Unavailable(_))
    ));
    let long = "d".repeat(10_000);
    let body = json!({"ok": false, "error_code": 400, "description": long}).to_string();
    let e = read_answer("sendMessage", 400, body.as_bytes()).unwrap_err();
    assert!(e.to_string().len() < 400, "a long description is cut");
}

#[test]
fn one_bad_update_keeps_the_others_and_its_id() {
    let values = vec![
        json!({"update_id": 1, "message": {"message_id": 5, "date": 0, "chat": {"id": 9, "type": "private"}, "text": "/link AB12", "new_field": [1]}}),
        json!({"update_id": 2, "message": {"message_id": "not a number"}}),
        json!({"no_id": true}),
        json!({"update_id": 3, "callback_query": {"id": "cb", "from": {"id": 9, "is_bot": false, "first_name": "Sari"}, "message": {"message_id": 5, "date": 0, "chat": {"id": 9, "type": "private"}}, "chat_instance": "x", "data": "ack:1"}}),
    ];
    let got = decode_updates(values);
    let ids: Vec<i64> = got.iter().map(Incoming::update_id).collect();
    assert_eq!(ids, [1, 2, 3]);
    assert!(matches!(&got[1], Incoming::Malformed { update_id: 2, .. }));
    let Incoming::Update(u) = &got[2] else {
        panic!("{got:?}")
    };
    assert_eq!(
        u.callback_query.as_ref().unwrap().data.as_deref(),
        Some("ack:1")
    );
}

#[test]
fn the_token_is_checked_and_never_shown() {
    let api = BotApi::new(&config("123456:AAH-secret_key")).unwrap();
    assert!(!format!("{api:?}").contains("secret"), "{api:?}");
    for bad in ["", "123456", "abc:def", "123:a/b", "123:a?b", ":x"] {
        let e = BotApi::new(&config(bad)).unwrap_err();
        assert!(matches!(e, ApiError::Config(_)), "{bad}: {e}");
        if !bad.is_empty() {
            assert!(!e.to_string().contains(bad), "{e}");
        }
    }
}

#[test]
fn a_webhook_secret_outside_telegrams_alphabet_fails_the_client() {
    let mut c = config("1:a");
    c.updates = Updates::Webhook {
        secret: LazySecret::from(Secret::new("no spaces allowed")),
    };
    let e = BotApi::new(&c).unwrap_err();
    assert!(!e.to_string().contains("spaces allowed"), "{e}");
    c.updates = Updates::Webhook {
        secret: LazySecret::from(Secret::new("good_one-1")),
    };
    let api = BotApi::new(&c).unwrap();
    assert_eq!(api.webhook_secret().map(Secret::expose), Some("good_one-1"));
}
