//! The stand-in over real HTTP, called as the Bot API document says a bot
//! calls Telegram (https://core.telegram.org/bots/api#making-requests).

use serde_json::{json, Value};

use super::*;

/// reqwest without its `json` feature here: the body by hand.
fn with_json(r: reqwest::RequestBuilder, body: &Value) -> reqwest::RequestBuilder {
    r.header("content-type", "application/json")
        .body(body.to_string())
}

async fn read(r: reqwest::Response) -> Value {
    serde_json::from_str(&r.text().await.unwrap()).unwrap()
}

const TOKEN: &str = "4242:AAtest-token_1";

fn sari() -> User {
    User {
        id: 77,
        first_name: "Sari".into(),
        username: Some("sari_k".into()),
    }
}

async fn post(api: &BotApiStandIn, method: &str, body: Value) -> (u16, Value) {
    let url = format!("{}/bot{TOKEN}/{method}", api.api_base());
    let r = with_json(reqwest::Client::new().post(url), &body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), read(r).await)
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized_and_recorded() {
    let api = BotApiStandIn::start(TOKEN).await.unwrap();
    let url = format!("{}/bot4242:other/getMe", api.api_base());
    let r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status(), 401);
    let body = read(r).await;
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 401, "description": "Unauthorized"})
    );
    assert_eq!(api.calls()[0].status, 401);
}

#[tokio::test]
async fn send_message_by_form_in_any_case_with_ids_per_chat() {
    let api = BotApiStandIn::start(TOKEN).await.unwrap();
    let url = format!("{}/bot{TOKEN}/SENDMESSAGE", api.api_base());
    let markup =
        json!({"inline_keyboard": [[{"text": "Ack", "callback_data": "a:1"}]]}).to_string();
    let form = [
        ("chat_id", "-5"),
        ("text", "<b>Hi</b> &amp; bye"),
        ("parse_mode", "HTML"),
        ("reply_markup", &markup),
    ];
    let r = reqwest::Client::new()
        .post(&url)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = read(r).await;
    assert_eq!(body["result"]["message_id"], 1);
    assert_eq!(body["result"]["text"], "Hi & bye");
    let (_, second) = post(&api, "sendMessage", json!({"chat_id": -5, "text": "again"})).await;
    let (_, other) = post(
        &api,
        "sendMessage",
        json!({"chat_id": 9, "text": "elsewhere"}),
    )
    .await;
    assert_eq!(
        (
            second["result"]["message_id"].as_i64(),
            other["result"]["message_id"].as_i64()
        ),
        (Some(2), Some(1))
    );
    let sent = api.sent();
    assert_eq!(
        sent[0].reply_markup.as_ref().unwrap()["inline_keyboard"][0][0]["callback_data"],
        "a:1"
    );
    assert_eq!(sent[0].parse_mode.as_deref(), Some("HTML"));
    assert_eq!(
        api.calls()[0].body["chat_id"],
        "-5",
        "form values stay text"
    );
}

#[tokio::test]
async fn send_message_refuses_what_telegram_refuses() {
    let api = BotApiStandIn::start(TOKEN).await.unwrap();
    let cases = [
        (json!({"text": "x"}), 400, "Bad Request: chat_id is empty"),
        (
            json!({"chat_id": 1}),
            400,
            "Bad Request: message text is empty",
        ),
        (
            json!({"chat_id": 1, "text": "x".repeat(4097)}),
            400,
            "Bad Request: message is too long",
        ),
        (
            json!({"chat_id": 1, "text": "<p>x</p>", "parse_mode": "HTML"}),
            400,
            "Bad Request: can't parse entities: Unsupported start tag \"p\" at byte offset 0",
        ),
        (
            json!({"chat_id": 1, "text": "x", "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "d".repeat(65)}]]}}),
            400,
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        (
            json!({"chat_id": 1, "text": "x", "reply_parameters": {"message_id": 99}}),
            400,
            "Bad Request: message to be replied not found",
        ),
    ];
    for (body, status, description) in cases {
        let (got, answer) = post(&api, "sendMessage", body.clone()).await;
        assert_eq!(
            (got, answer["description"].as_str()),
            (status, Some(description)),
            "{body}"
        );
    }
    let (ok, _) = post(
        &api,
        "sendMessage",
        json!({"chat_id": 1, "text": "x".repeat(4096)}),
    )
    .await;
    assert_eq!(ok, 200);
    api.kick(-3);
    let (status, answer) = post(&api, "sendMessage", json!({"chat_id": -3, "text": "x"})).await;
    assert_eq!(
        (status, answer["description"].as_str()),
        (403, Some("Forbidden: bot was kicked from the group chat"))
    );
    assert_eq!(api.sent().len(), 1);
}

#[tokio::test]
async fn faults_come_in_order_one_per_call() {
    let api = BotApiStandIn::start(TOKEN).await.unwrap();
    api.fail_next(
        "sendmessage",
        vec![
            Fault::TooManyRequests { retry_after: 3 },
            Fault::Forbidden("Forbidden: bot was blocked by the user".into()),
        ],
    );
    let body = json!({"chat_id": 1, "text": "x"});
    let (s1, a1) = post(&api, "sendMessage", body.clone()).await;
    assert_eq!((s1, &a1["parameters"]["retry_after"]), (429, &json!(3)));
    let (s2, a2) = post(&api, "sendMessage", body.clone()).await;
    assert_eq!(
        (s2, a2["description"].as_str()),
        (403, Some("Forbidden: bot was blocked by the user"))
    );
    let (s3, _) = post(&api, "sendMessage", body).await;
    assert_eq!(s3, 200);
    let statuses: Vec<u16> = api.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [429, 403, 200]);
}

#[tokio::test]
async fn a_long_poll_wakes_when_an_update_is_pushed() {
    let api = BotApiStandIn::start(TOKEN).await.unwrap();
    let url = format!("{}/bot{TOKEN}/getUpdates", api.api_base());
    let poll = tokio::spawn(async move {
        let r = with_json(reqwest::Client::new().post(url), &json!({"timeout": 50}))
            .send()
            .await
            .unwrap();
        read(r).await
    });
    ronda_testkit::eventually("the poll to wait", || async {
        (api.polls_waiting() == 1).then_some(())
    })
    .await;
    let id = api.message(77, sari(), "/link AB12");
    let got = poll.await.unwrap();
    assert_eq!(api.polls_waiting(), 0);
    assert_eq!(got["result"][0]["update_id"], id);
    assert_eq!(got["result"][0]["message"]["text"], "/link AB12");
    assert_eq!(
        got["result"][0]["message"]["entities"][0]["type"],
        "bot_command"
    );
}

#[tokio::test]
async fn offsets_confirm_and_limits_cut() {
    let api = BotApiStandIn::start(TOKEN).await.unwrap();
    let ids: Vec<i64> = (0..3)
        .map(|i| api.message(77, sari(), &format!("m{i}")))
        .collect();
    let (_, a) = post(&api, "getUpdates", json!({"limit": 2})).await;
    assert_eq!(a["result"].as_array().unwrap().len(), 2);
    let (_, a) = post(&api, "getUpdates", json!({"offset": ids[1] + 1})).await;
    assert_eq!(a["result"][0]["update_id"], ids[2]);
    let (_, a) = post(&api, "getUpdates", json!({"offset": 0})).await;
    assert_eq!(
        a["result"].as_array().unwrap().len(),
        1,
        "the first two were confirmed"
    );
    assert_eq!(api.push_update(json!({"update_id": 500, "odd": true})), 500);
    assert_eq!(api.message(77, sari(), "next"), 501);
    let (_, a) = post(&api, "getUpdates", json!({"offset": -1})).await;
    assert_eq!(a["result"][0]["update_id"], 501);
}

#[tokio::test]
async fn a_press_and_a_reply_carry_the_message_and_a_callback_is_answered_once() {
    let api = BotApiStandIn::start(TOKEN).await.unwrap();
    let (_, sent) = post(&api, "sendMessage", json!({"chat_id": -9, "text": "alert"})).await;
    let mid = sent["result"]["message_id"].as_i64().unwrap();
    api.press(-9, sari(), mid, "ack:1");
    api.press(-9, sari(), 404, "ack:2");
    api.reply(-9, sari(), mid, "on it");
    let (_, a) = post(&api, "getUpdates", json!({})).await;
    let cq = &a["result"][0]["callback_query"];
    assert_eq!(
        (cq["data"].as_str(), cq["from"]["username"].as_str()),
        (Some("ack:1"), Some("sari_k"))
    );
    assert_eq!(cq["message"]["text"], "alert");
    assert_eq!(
        a["result"][1]["callback_query"]["message"]["date"], 0,
        "inaccessible"
    );
    assert_eq!(
        a["result"][2]["message"]["reply_to_message"]["message_id"],
        mid
    );
    let id = cq["id"].as_str().unwrap();
    let (s1, _) = post(
        &api,
        "answerCallbackQuery",
        json!({"callback_query_id": id, "text": "Noted"}),
    )
    .await;
    let (s2, _) = post(
        &api,
        "answerCallbackQuery",
        json!({"callback_query_id": id}),
    )
    .await;
    let (s3, _) = post(
        &api,
        "answerCallbackQuery",
        json!({"callback_query_id": "someone-elses"}),
    )
    .await;
    assert_eq!((s1, s2, s3), (200, 400, 400));
    assert_eq!(
        api.answered_callbacks(),
        [(id.to_owned(), "Noted".to_owned())]
    );
}

#[tokio::test]
async fn the_page_shows_sent_html_safely() {
    let api = BotApiStandIn::start(TOKEN).await.unwrap();
    post(
        &api,
        "sendMessage",
        json!({"chat_id": 1, "text": "<b>Disk</b> &lt;script&gt;", "parse_mode": "HTML"}),
    )
    .await;
    post(
        &api,
        "sendMessage",
        json!({"chat_id": 1, "text": "<i>plain</i>"}),
    )
    .await;
    let page = reqwest::get(api.api_base())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<b>Disk</b> &lt;script&gt;"), "{page}");
    assert!(page.contains("&lt;i&gt;plain&lt;/i&gt;"), "{page}");
}
