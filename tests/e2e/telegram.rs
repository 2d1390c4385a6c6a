//! Acknowledging from the phone, end to end: a real server with a real
//! agent, its Telegram bot talking to the Bot API stand-in. The alert's
//! message carries "Tangani"; a press from a Telegram account not linked to
//! Ronda is refused; the head links theirs with a code from the dashboard,
//! presses, answers the bot's question with a note, and the alert is
//! acknowledged as their account, audited. Someone else's reply, a head of
//! another office, and an update without the webhook's secret change nothing.

use std::sync::Arc;

use crate::common::web::{add, client, login};
use crate::common::{eventually, spawn_with, TestApp};
use ronda_common::conf::Secret;
use ronda_server::telegram::config::Updates;
use ronda_sim::telegram::{BotApiStandIn, User};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "4242:AAH-bot-token-for-the-e2e-test";
const SECRET: &str = "webhook-secret_0123456789";
/// The IT group of dinkes.
const GROUP: i64 = -1_009_876_543_210;

fn person(id: i64, name: &str) -> User {
    User {
        id,
        first_name: name.into(),
        username: Some(name.to_lowercase()),
    }
}

/// A dinkes office whose SIPD service is down, its critical alerts also
/// going to the IT group on Telegram, and accounts for two heads.
async fn office(updates: Updates) -> (TestApp, BotApiStandIn, CancellationToken) {
    let bot = BotApiStandIn::start(TOKEN).await.unwrap();
    let stop = CancellationToken::new();
    let sim = crate::common::sim_office_sipd_down(&stop).await;
    let mut letter = crate::common::kotim_now();
    for list in [&mut letter.notify.critical, &mut letter.notify.warning] {
        list.push("telegram:dinkes-it".into());
    }
    let mut registry = crate::common::registry();
    registry.telegram.insert("dinkes-it".into(), GROUP);
    let mail = crate::common::telegram_mail(bot.api_base(), TOKEN, updates);
    let app = spawn_with(|c| {
        c.letters = Arc::new(vec![letter]);
        c.registry = Some(Arc::new(registry));
        c.mail = Some(mail);
    })
    .await;
    crate::common::spawn_sim_agent(
        &sim,
        "dinkes",
        app.credentials_for("dinkes", crate::common::SIM_AGENT),
        &stop,
    );
    add(&app, "kepala-dinkes", "head", Some("dinkes"));
    add(&app, "kepala-bappeda", "head", Some("bappeda"));
    (app, bot, stop)
}

/// The alert's message in the group, once the mailer has sent it: (alert
/// id, message id).
async fn alert_message(bot: &BotApiStandIn) -> (i64, i64) {
    eventually("the alert's Telegram message", || async {
        bot.sent().iter().find_map(|m| {
            let data =
                m.reply_markup.as_ref()?["inline_keyboard"][0][0]["callback_data"].as_str()?;
            let id = data.strip_prefix("ack:")?.parse().ok()?;
            (m.chat_id == GROUP).then_some((id, m.message_id))
        })
    })
    .await
}

/// Link Telegram user `tg` to `account` as a person would: a code from the
/// dashboard, sent to the bot in a private chat.
async fn link(app: &TestApp, bot: &BotApiStandIn, account: &str, tg: &User) {
    let code = link_code(app, account).await;
    bot.message(tg.id, tg.clone(), &format!("/link {code}"));
    eventually("the bot to confirm the link", || async {
        bot.sent()
            .iter()
            .any(|m| m.chat_id == tg.id && m.text.contains("Tertaut"))
            .then_some(())
    })
    .await;
}

/// A link code, as the dashboard shows it to `account`.
async fn link_code(app: &TestApp, account: &str) -> String {
    let (cookie, csrf) = login(app, account).await;
    let page = client()
        .post(format!("{}/telegram/code", app.http))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    page.split("<code id=\"link-code\">/link ")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no code on the page: {page}"))
        .to_owned()
}

/// The answer to a press of callback `update`'s query, once given.
async fn answer_to(bot: &BotApiStandIn, before: usize) -> String {
    eventually("the bot to answer the press", || async {
        bot.answered_callbacks()
            .get(before)
            .map(|(_, text)| text.clone())
    })
    .await
}

async fn alert(app: &TestApp, id: i64) -> Value {
    app.get_json(&format!("/api/v1/alerts/{id}")).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tangani_button_acknowledges_as_the_linked_account_with_the_note() {
    let (app, bot, _stop) = office(Updates::Poll).await;
    let (id, message) = alert_message(&bot).await;
    let (stranger, head, other_head) = (
        person(501, "Orang"),
        person(502, "Kepala"),
        person(503, "Bappeda"),
    );
    // Nobody linked: refused, and no question asked.
    bot.press(GROUP, stranger.clone(), message, &format!("ack:{id}"));
    let refusal = answer_to(&bot, 0).await;
    assert!(refusal.contains("belum ditautkan"), "{refusal}");
    // The head of another office, linked: still refused.
    link(&app, &bot, "kepala-bappeda", &other_head).await;
    bot.press(GROUP, other_head.clone(), message, &format!("ack:{id}"));
    let refusal = answer_to(&bot, 1).await;
    assert!(refusal.contains("tidak boleh"), "{refusal}");
    // The head of dinkes links, presses, and is asked for a note.
    link(&app, &bot, "kepala-dinkes", &head).await;
    bot.press(GROUP, head.clone(), message, &format!("ack:{id}"));
    answer_to(&bot, 2).await;
    let prompt = eventually("the bot's question", || async {
        bot.sent().into_iter().find(|m| {
            m.chat_id == GROUP
                && m.reply_markup
                    .as_ref()
                    .is_some_and(|r| r["force_reply"] == true)
        })
    })
    .await;
    assert!(prompt.text.contains(&format!("#{id}")), "{}", prompt.text);
    assert_eq!(
        alert(&app, id).await["state"],
        "firing",
        "a press alone acknowledges nothing"
    );
    // Someone else answers first: ignored. Then the head.
    bot.reply(GROUP, stranger, prompt.message_id, "bukan saya");
    bot.reply(
        GROUP,
        head.clone(),
        prompt.message_id,
        "teknisi menuju kantor",
    );
    let acked = eventually("the alert to be acknowledged", || async {
        let a = alert(&app, id).await;
        (a["state"] == "acknowledged").then_some(a)
    })
    .await;
    assert_eq!(acked["ack"]["by"], "kepala-dinkes");
    assert_eq!(acked["ack"]["note"], "teknisi menuju kantor");
    let conn = crate::common::db::open(&app.db);
    let (actor, detail, source): (String, String, String) = conn
        .query_row(
            "SELECT actor, detail, source FROM audit WHERE action = 'alert.ack'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(actor, "kepala-dinkes");
    assert_eq!(detail, format!("alert {id}: teknisi menuju kantor"));
    assert_eq!(source, format!("telegram:{}", head.id));
    eventually("the bot to confirm", || async {
        bot.sent()
            .iter()
            .any(|m| m.chat_id == GROUP && m.text.contains("ditangani oleh kepala-dinkes"))
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_through_the_webhook_need_its_secret() {
    let secret = Secret::new(SECRET);
    let (app, bot, _stop) = office(Updates::Webhook {
        secret: secret.into(),
    })
    .await;
    let (id, message) = alert_message(&bot).await;
    let url = format!("{}/telegram/updates", app.http);
    let press = serde_json::json!({
        "update_id": 1,
        "callback_query": {
            "id": "q1", "chat_instance": "1", "data": format!("ack:{id}"),
            "from": {"id": 777, "is_bot": false, "first_name": "Orang"},
            "message": {"message_id": message, "date": 0, "chat": {"id": GROUP, "type": "supergroup"}}
        }
    });
    let post = |secret: Option<&str>, body: Vec<u8>| {
        let mut req = client()
            .post(&url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(s) = secret {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", s);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let body = serde_json::to_vec(&press).unwrap();
    assert_eq!(post(None, body.clone()).await, 401, "no secret");
    assert_eq!(
        post(Some("webhook-secret_0123456788"), body.clone()).await,
        401,
        "a wrong one"
    );
    assert_eq!(
        post(Some(SECRET), vec![b' '; 200 * 1024]).await,
        413,
        "too large"
    );
    let answered = |bot: &BotApiStandIn| {
        bot.calls()
            .iter()
            .any(|c| c.method.eq_ignore_ascii_case("answerCallbackQuery"))
    };
    assert!(!answered(&bot), "nothing was acted on");
    assert_eq!(
        post(Some(SECRET), b"{not json".to_vec()).await,
        200,
        "dropped, not retried"
    );
    assert_eq!(post(Some(SECRET), body).await, 200);
    // The press was forged here, not by the stand-in, so the stand-in
    // refuses its answer as an unknown query; the call is what counts.
    let refusal = eventually("the bot to answer the press", || async {
        bot.calls().into_iter().find_map(|c| {
            let answer = c.method.eq_ignore_ascii_case("answerCallbackQuery");
            answer.then(|| c.body["text"].as_str().unwrap_or_default().to_owned())
        })
    })
    .await;
    assert!(refusal.contains("belum ditautkan"), "{refusal}");
    assert_eq!(alert(&app, id).await["state"], "firing");
    let polls = bot
        .calls()
        .iter()
        .filter(|c| c.method.eq_ignore_ascii_case("getUpdates"))
        .count();
    assert_eq!(polls, 0, "a bot on a webhook does not poll");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_code_works_once_for_its_account_and_guessing_is_throttled() {
    let (app, bot, _stop) = office(Updates::Poll).await;
    let guesser = person(601, "Penebak");
    // Five wrong codes, then even a right one is refused for the hour.
    for guess in ["AAAAAAAA", "BBBBBBBB", "CCCCCCCC", "DDDDDDDD", "EEEEEEEE"] {
        bot.message(guesser.id, guesser.clone(), &format!("/link {guess}"));
    }
    eventually("five refusals", || async {
        let n = bot
            .sent()
            .iter()
            .filter(|m| m.chat_id == guesser.id && m.text.contains("tidak dikenal"))
            .count();
        (n == 5).then_some(())
    })
    .await;
    let code = link_code(&app, "kepala-dinkes").await;
    bot.message(guesser.id, guesser.clone(), &format!("/link {code}"));
    eventually("the throttle's answer", || async {
        bot.sent()
            .iter()
            .any(|m| m.chat_id == guesser.id && m.text.contains("Terlalu banyak"))
            .then_some(())
    })
    .await;
    // The owner uses it: linked. Used once, it links nobody else.
    let owner = person(602, "Kepala");
    bot.message(owner.id, owner.clone(), &format!("/link {code}"));
    let other = person(603, "Lain");
    bot.message(other.id, other.clone(), &format!("/link {code}"));
    eventually("both answers", || async {
        let sent = bot.sent();
        let linked = sent
            .iter()
            .any(|m| m.chat_id == owner.id && m.text.contains("Tertaut"));
        let refused = sent
            .iter()
            .any(|m| m.chat_id == other.id && m.text.contains("tidak dikenal"));
        (linked && refused).then_some(())
    })
    .await;
    let conn = crate::common::db::open(&app.db);
    let links: Vec<(i64, String)> = conn
        .prepare(r#"SELECT telegram_user, "user" FROM telegram_links"#)
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(links, vec![(owner.id, "kepala-dinkes".to_owned())]);
}
