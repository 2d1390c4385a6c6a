//! `GET /` of the Bot API stand-in: the messages the bot sent, newest
//! first, for the demo. Telegram HTML is shown as the HTML it stands for,
//! rebuilt from the checked pieces (`html::to_page`), never passed through.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Html;

use super::{html, Shared};

/// Most messages the page shows.
const SHOWN: usize = 200;

pub(super) async fn show(State(s): State<Arc<Shared>>) -> Html<String> {
    let sent = s.lock().sent.clone();
    let mut rows = String::new();
    for m in sent.iter().rev().take(SHOWN) {
        let is_html = m
            .parse_mode
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case("html"));
        let body = match html::parse(&m.text) {
            Ok(pieces) if is_html => html::to_page(&pieces),
            _ => html::escape(&m.text),
        };
        let buttons: Vec<String> = m
            .reply_markup
            .as_ref()
            .and_then(|k| k.get("inline_keyboard"))
            .and_then(|rows| rows.as_array())
            .into_iter()
            .flatten()
            .filter_map(|row| row.as_array())
            .flatten()
            .filter_map(|b| b.get("text").and_then(|t| t.as_str()))
            .map(|t| format!("<button disabled>{}</button>", html::escape(t)))
            .collect();
        rows.push_str(&format!(
            "<article><header>chat {} · #{} · {}</header><div class=\"text\">{}</div>{}</article>\n",
            m.chat_id,
            m.message_id,
            m.at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            body,
            buttons.join(" "),
        ));
    }
    if rows.is_empty() {
        rows.push_str("<p>No message sent yet.</p>");
    }
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Telegram stand-in</title>\
<style>body{{font-family:sans-serif;max-width:48em;margin:1em auto}}\
article{{border:1px solid #ccc;border-radius:6px;padding:.5em;margin:.5em 0}}\
header{{color:#666;font-size:.85em}}.text{{white-space:pre-wrap}}</style></head>\
<body><h1>Messages the bot sent ({})</h1>\n{rows}</body></html>",
        sent.len()
    ))
}
