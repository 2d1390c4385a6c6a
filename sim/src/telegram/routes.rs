//! The stand-in's HTTP side: `/bot<token>/<method>` per the Bot API's
//! "Making requests" (GET or POST; query string, form-urlencoded or JSON
//! parameters; method names in any case; every answer in the `{"ok":…}`
//! envelope), and the methods Ronda uses.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::{chat_json, html, page, Call, Fault, Sent, Shared};

/// "Text of the message to be sent, 1-4096 characters after entities parsing".
const TEXT_MAX: usize = 4096;
/// "callback_data … 1-64 bytes".
const CALLBACK_DATA_MAX: usize = 64;
/// Longest long poll the stand-in holds, whatever `timeout` asks.
const LONG_POLL_MAX: Duration = Duration::from_secs(60);

/// An answer: status and the envelope.
type Answer = (u16, Value);

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(page::show))
        .route("/{bot}/{method}", any(call))
        .with_state(shared)
}

async fn call(
    State(s): State<Arc<Shared>>,
    Path((bot, method)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match parameters(query.as_deref(), &headers, &body) {
        Ok(p) => p,
        Err(e) => return record(&s, &method, Value::Null, (400, error(400, &e))),
    };
    if bot.strip_prefix("bot") != Some(s.token.as_str()) {
        return record(&s, &method, params, (401, error(401, "Unauthorized")));
    }
    let lower = method.to_ascii_lowercase();
    let fault = s.lock().faults.get_mut(&lower).and_then(|q| q.pop_front());
    let answer = match fault {
        Some(Fault::Hang) => return hang(&s, method, params).await,
        Some(Fault::BadGateway) => {
            push_call(&s, method, params, 502);
            let page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
            return (StatusCode::BAD_GATEWAY, Html(page)).into_response();
        }
        Some(Fault::TooManyRequests { retry_after }) => {
            let mut e = error(
                429,
                &format!("Too Many Requests: retry after {retry_after}"),
            );
            e["parameters"] = json!({ "retry_after": retry_after });
            (429, e)
        }
        Some(Fault::Forbidden(d)) => (403, error(403, &d)),
        Some(Fault::Migrated { to_chat_id }) => {
            let mut e = error(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
            );
            e["parameters"] = json!({ "migrate_to_chat_id": to_chat_id });
            (400, e)
        }
        None => match lower.as_str() {
            "getme" => (200, ok(s.bot_user())),
            "sendmessage" => send_message(&s, &params),
            "getupdates" => get_updates(&s, &params).await,
            "answercallbackquery" => answer_callback(&s, &params),
            _ => (404, error(404, "Not Found")),
        },
    };
    record(&s, &method, params, answer)
}

fn push_call(s: &Shared, method: String, body: Value, status: u16) {
    s.lock().calls.push(Call {
        method,
        body,
        at: jiff::Timestamp::now(),
        status,
    });
}

fn record(s: &Shared, method: &str, body: Value, (status, envelope): Answer) -> Response {
    push_call(s, method.to_owned(), body, status);
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, Json(envelope)).into_response()
}

/// Hold the call open until the client gives up (the connection is then
/// dropped with this future) or the stand-in stops.
async fn hang(s: &Shared, method: String, body: Value) -> Response {
    push_call(s, method, body, 0);
    s.stop.cancelled().await;
    StatusCode::SERVICE_UNAVAILABLE.into_response()
}

fn ok(result: Value) -> Value {
    json!({ "ok": true, "result": result })
}

fn error(code: u16, description: &str) -> Value {
    json!({ "ok": false, "error_code": code, "description": description })
}

fn bad(description: &str) -> Answer {
    (400, error(400, &format!("Bad Request: {description}")))
}

/// Query string, then the body (JSON or form) over it, as one object.
fn parameters(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<Value, String> {
    let mut all = Map::new();
    let form = |bytes: &[u8], all: &mut Map<String, Value>| -> Result<(), String> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(bytes).map_err(|e| format!("bad form: {e}"))?;
        all.extend(pairs.into_iter().map(|(k, v)| (k, Value::String(v))));
        Ok(())
    };
    if let Some(q) = query {
        form(q.as_bytes(), &mut all)?;
    }
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if kind.starts_with("application/json") {
        match serde_json::from_slice(body) {
            Ok(Value::Object(o)) => all.extend(o),
            _ => return Err("the body is not a JSON object".into()),
        }
    } else if kind.starts_with("application/x-www-form-urlencoded") {
        form(body, &mut all)?;
    }
    Ok(Value::Object(all))
}

/// An integer parameter: a JSON number or, from a form, its text.
fn int(p: &Value, key: &str) -> Option<i64> {
    let v = p.get(key)?;
    v.as_i64().or_else(|| v.as_str()?.trim().parse().ok())
}

/// An object parameter: JSON, or from a form, JSON-serialized text.
fn object(p: &Value, key: &str) -> Option<Value> {
    match p.get(key)? {
        Value::String(s) => serde_json::from_str(s).ok(),
        v => Some(v.clone()),
    }
}

fn boolean(p: &Value, key: &str) -> bool {
    p.get(key)
        .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true"))
}

fn send_message(s: &Shared, p: &Value) -> Answer {
    if p.get("chat_id").is_none() {
        return bad("chat_id is empty");
    }
    let Some(chat_id) = int(p, "chat_id") else {
        return bad("chat not found");
    };
    if s.lock().kicked.contains(&chat_id) {
        return (
            403,
            error(403, "Forbidden: bot was kicked from the group chat"),
        );
    }
    let text = p.get("text").and_then(Value::as_str).unwrap_or("");
    let parse_mode = p
        .get("parse_mode")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let plain = match parse_mode
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("") => text.to_owned(),
        Some("html") => match html::parse(text) {
            Ok(pieces) => html::plain(&pieces),
            Err(e) => return bad(&format!("can't parse entities: {e}")),
        },
        // Markdown is not checked: Ronda sends HTML.
        Some("markdown" | "markdownv2") => text.to_owned(),
        Some(_) => return bad("unsupported parse_mode"),
    };
    if plain.trim().is_empty() {
        return bad("message text is empty");
    }
    if plain.chars().count() > TEXT_MAX {
        return bad("message is too long");
    }
    let reply_markup = object(p, "reply_markup");
    if let Some(rows) = reply_markup.as_ref().and_then(|m| m.get("inline_keyboard")) {
        let buttons = rows
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten();
        for data in buttons.filter_map(|b| b.get("callback_data")) {
            let len = data.as_str().map_or(0, str::len);
            if len == 0 || len > CALLBACK_DATA_MAX {
                return bad("BUTTON_DATA_INVALID");
            }
        }
    }
    let reply = object(p, "reply_parameters");
    let reply_to = reply
        .as_ref()
        .and_then(|r| int(r, "message_id"))
        .or_else(|| int(p, "reply_to_message_id"));
    let without_reply = reply
        .as_ref()
        .is_some_and(|r| boolean(r, "allow_sending_without_reply"))
        || boolean(p, "allow_sending_without_reply");
    let mut inner = s.lock();
    let original = reply_to.and_then(|id| inner.messages.get(&(chat_id, id)).cloned());
    if reply_to.is_some() && original.is_none() && !without_reply {
        return bad("message to be replied not found");
    }
    let message_id = inner.next_message_id(chat_id);
    let mut message = json!({
        "message_id": message_id,
        "from": s.bot_user(),
        "chat": chat_json(chat_id),
        "date": jiff::Timestamp::now().as_second(),
        "text": plain,
    });
    if let Some(original) = original {
        message["reply_to_message"] = original;
    }
    if let Some(markup) = reply_markup
        .as_ref()
        .filter(|m| m.get("inline_keyboard").is_some())
    {
        message["reply_markup"] = markup.clone();
    }
    inner
        .messages
        .insert((chat_id, message_id), message.clone());
    inner.sent.push(Sent {
        chat_id,
        text: text.to_owned(),
        parse_mode,
        reply_markup,
        message_id,
        reply_to,
        at: jiff::Timestamp::now(),
    });
    (200, ok(message))
}

/// Updates from `offset` on, at most `limit`, waiting up to `timeout`
/// seconds for one. A positive offset confirms (forgets) the updates below
/// it; a negative one keeps only the last `-offset`.
async fn get_updates(s: &Shared, p: &Value) -> Answer {
    let offset = int(p, "offset").unwrap_or(0);
    let limit = usize::try_from(int(p, "limit").unwrap_or(100).clamp(1, 100)).unwrap_or(100);
    let wait = Duration::from_secs(int(p, "timeout").unwrap_or(0).clamp(0, 3600).unsigned_abs());
    let deadline = tokio::time::Instant::now() + wait.min(LONG_POLL_MAX);
    // Subscribed before looking, so that a push in between still wakes us.
    let mut pushed = s.pushed.subscribe();
    loop {
        let batch: Vec<Value> = {
            let mut inner = s.lock();
            let id = |u: &Value| u.get("update_id").and_then(Value::as_i64).unwrap_or(0);
            if offset > 0 {
                inner.updates.retain(|u| id(u) >= offset);
            } else if offset < 0 {
                let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
                let drop = inner.updates.len().saturating_sub(keep);
                inner.updates.drain(..drop);
            }
            inner.updates.iter().take(limit).cloned().collect()
        };
        if !batch.is_empty() || tokio::time::Instant::now() >= deadline {
            return (200, ok(Value::Array(batch)));
        }
        let _waiting = Waiting::new(s);
        tokio::select! {
            _ = pushed.changed() => {}
            () = tokio::time::sleep_until(deadline) => {}
            () = s.stop.cancelled() => return (200, ok(json!([]))),
        }
    }
}

/// Counts a waiting long poll while it lives, even when the client gives
/// up and the call is dropped.
struct Waiting<'a>(&'a Shared);

impl<'a> Waiting<'a> {
    fn new(s: &'a Shared) -> Self {
        s.waiting.fetch_add(1, Ordering::SeqCst);
        Waiting(s)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

fn answer_callback(s: &Shared, p: &Value) -> Answer {
    let Some(id) = p.get("callback_query_id").and_then(Value::as_str) else {
        return bad("query is too old and response timeout expired or query ID is invalid");
    };
    let text = p.get("text").and_then(Value::as_str).unwrap_or("");
    if text.chars().count() > 200 {
        return bad("MESSAGE_TOO_LONG");
    }
    let mut inner = s.lock();
    if !inner.open_callbacks.remove(id) {
        return bad("query is too old and response timeout expired or query ID is invalid");
    }
    inner.answered.push((id.to_owned(), text.to_owned()));
    (200, ok(Value::Bool(true)))
}
