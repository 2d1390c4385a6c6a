//! A stand-in for Telegram's Bot API on 127.0.0.1, written from
//! https://core.telegram.org/bots/api: `/bot<token>/<method>` with JSON,
//! form or query parameters, the `{"ok":…}` envelope, `sendMessage` with its
//! checks (length, `parse_mode: HTML`, `callback_data`), `getUpdates` long
//! polling with offsets, `answerCallbackQuery`, and `getMe`. Tests push
//! updates (button presses, replies, messages), queue faults (429, 502,
//! 403, a hang) and read back every call. `GET /` shows the sent messages.

pub mod html;
mod page;
mod routes;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{json, Value};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// One call the stand-in received.
#[derive(Debug, Clone)]
pub struct Call {
    /// As written in the URL (the Bot API takes any case).
    pub method: String,
    /// The parameters as one JSON object, whether sent as JSON, a form or a
    /// query string (form values stay strings).
    pub body: Value,
    pub at: jiff::Timestamp,
    /// The HTTP status answered; 0 for a call held open ([`Fault::Hang`]).
    pub status: u16,
}

/// A message `sendMessage` accepted.
#[derive(Debug, Clone)]
pub struct Sent {
    pub chat_id: i64,
    /// The text as sent, tags and entities included.
    pub text: String,
    pub parse_mode: Option<String>,
    pub reply_markup: Option<Value>,
    pub message_id: i64,
    pub reply_to: Option<i64>,
    pub at: jiff::Timestamp,
}

/// What the next call of a method meets instead of its answer.
#[derive(Debug, Clone)]
pub enum Fault {
    /// 429 with `parameters.retry_after`.
    TooManyRequests { retry_after: u32 },
    /// 502 with a proxy's HTML page, as a front end answers.
    BadGateway,
    /// 403 with this description.
    Forbidden(String),
    /// 400 "group chat was upgraded to a supergroup chat" with
    /// `parameters.migrate_to_chat_id`.
    Migrated { to_chat_id: i64 },
    /// No answer at all, until the client gives up.
    Hang,
}

/// A Telegram user who writes to the bot or presses its buttons.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub first_name: String,
    pub username: Option<String>,
}

impl User {
    fn to_json(&self) -> Value {
        let mut u = json!({ "id": self.id, "is_bot": false, "first_name": self.first_name });
        if let Some(name) = &self.username {
            u["username"] = json!(name);
        }
        u
    }
}

pub(crate) struct Shared {
    token: String,
    inner: Mutex<Inner>,
    /// Bumped when an update is pushed: wakes the long polls.
    pushed: watch::Sender<u64>,
    /// `getUpdates` calls waiting for an update right now.
    waiting: AtomicUsize,
    stop: CancellationToken,
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    sent: Vec<Sent>,
    faults: HashMap<String, VecDeque<Fault>>,
    updates: VecDeque<Value>,
    next_update_id: i64,
    /// The last message id of each chat: ids grow per chat.
    last_message_id: HashMap<i64, i64>,
    /// Every message in each chat, the bot's and the users', by id.
    messages: HashMap<(i64, i64), Value>,
    kicked: HashSet<i64>,
    /// Callback queries not answered yet.
    open_callbacks: HashSet<String>,
    next_callback: u64,
    answered: Vec<(String, String)>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bot_user(&self) -> Value {
        let id: i64 = self
            .token
            .split_once(':')
            .and_then(|(id, _)| id.parse().ok())
            .unwrap_or(1);
        json!({ "id": id, "is_bot": true, "first_name": "Ronda", "username": "ronda_sim_bot" })
    }
}

impl Inner {
    fn next_message_id(&mut self, chat_id: i64) -> i64 {
        let id = self.last_message_id.entry(chat_id).or_insert(0);
        *id += 1;
        *id
    }
}

fn chat_json(chat_id: i64) -> Value {
    // Users have positive ids, groups negative ones.
    let kind = if chat_id > 0 { "private" } else { "group" };
    json!({ "id": chat_id, "type": kind })
}

/// The running stand-in; stops when dropped.
pub struct BotApiStandIn {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl BotApiStandIn {
    /// Listen on 127.0.0.1 (any free port) for a bot with this token.
    pub async fn start(token: &str) -> std::io::Result<BotApiStandIn> {
        let shared = Arc::new(Shared {
            token: token.to_owned(),
            inner: Mutex::new(Inner {
                next_update_id: 1,
                ..Inner::default()
            }),
            pushed: watch::channel(0).0,
            waiting: AtomicUsize::new(0),
            stop: CancellationToken::new(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = routes::router(shared.clone());
        let stop = shared.stop.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned());
            if let Err(e) = served.await {
                tracing::error!(%addr, error = %e, "Bot API stand-in failed");
            }
        });
        Ok(BotApiStandIn { shared, addr })
    }

    /// `http://127.0.0.1:PORT`: the client appends `/bot<token>/<method>`.
    pub fn api_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn calls(&self) -> Vec<Call> {
        self.shared.lock().calls.clone()
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.shared.lock().sent.clone()
    }

    pub fn answered_callbacks(&self) -> Vec<(String, String)> {
        self.shared.lock().answered.clone()
    }

    /// How many `getUpdates` calls are waiting for an update now: a test
    /// pushes after this is 1 to see a long poll woken.
    pub fn polls_waiting(&self) -> usize {
        self.shared.waiting.load(Ordering::SeqCst)
    }

    /// The next calls of `method` (any case) meet these faults, one each.
    pub fn fail_next(&self, method: &str, faults: Vec<Fault>) {
        let mut inner = self.shared.lock();
        let queue = inner.faults.entry(method.to_ascii_lowercase()).or_default();
        queue.extend(faults);
    }

    /// Sending to this chat answers 403 "bot was kicked from the group chat".
    pub fn kick(&self, chat_id: i64) {
        self.shared.lock().kicked.insert(chat_id);
    }

    /// Queue an update for `getUpdates`, with the next `update_id` unless it
    /// has one; returns its id.
    pub fn push_update(&self, mut update: Value) -> i64 {
        let id = {
            let mut inner = self.shared.lock();
            let id = match update.get("update_id").and_then(Value::as_i64) {
                Some(id) => id,
                None => {
                    let id = inner.next_update_id;
                    update["update_id"] = json!(id);
                    id
                }
            };
            inner.next_update_id = inner.next_update_id.max(id + 1);
            inner.updates.push_back(update);
            id
        };
        self.shared.pushed.send_modify(|n| *n += 1);
        id
    }

    /// `from` presses a button carrying `data` on message `message_id` of
    /// `chat_id`: a `callback_query` update. A message the stand-in does not
    /// know is sent as an inaccessible one (`date` 0), as the doc describes.
    pub fn press(&self, chat_id: i64, from: User, message_id: i64, data: &str) -> i64 {
        let (id, message) = {
            let mut inner = self.shared.lock();
            inner.next_callback += 1;
            let id = format!("{}{:06}", chat_id.unsigned_abs(), inner.next_callback);
            inner.open_callbacks.insert(id.clone());
            let message = inner.messages.get(&(chat_id, message_id)).cloned();
            (id, message)
        };
        let message = message.unwrap_or_else(
            || json!({ "chat": chat_json(chat_id), "message_id": message_id, "date": 0 }),
        );
        self.push_update(json!({ "callback_query": {
            "id": id,
            "from": from.to_json(),
            "message": message,
            "chat_instance": format!("ci{chat_id}"),
            "data": data,
        }}))
    }

    /// `from` replies to message `reply_to_message_id` with `text`.
    pub fn reply(&self, chat_id: i64, from: User, reply_to_message_id: i64, text: &str) -> i64 {
        let original = self
            .shared
            .lock()
            .messages
            .get(&(chat_id, reply_to_message_id))
            .cloned();
        let original = original.unwrap_or_else(
            || json!({ "message_id": reply_to_message_id, "date": 0, "chat": chat_json(chat_id) }),
        );
        self.user_message(chat_id, &from, text, Some(original))
    }

    /// `from` writes `text` in `chat_id`, such as `/link CODE` in a private chat.
    pub fn message(&self, chat_id: i64, from: User, text: &str) -> i64 {
        self.user_message(chat_id, &from, text, None)
    }

    fn user_message(&self, chat_id: i64, from: &User, text: &str, reply_to: Option<Value>) -> i64 {
        let message = {
            let mut inner = self.shared.lock();
            let message_id = inner.next_message_id(chat_id);
            let mut m = json!({
                "message_id": message_id,
                "from": from.to_json(),
                "chat": chat_json(chat_id),
                "date": jiff::Timestamp::now().as_second(),
                "text": text,
            });
            if let Some(command) = text.strip_prefix('/') {
                let len = 1 + command
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .encode_utf16()
                    .count();
                m["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": len }]);
            }
            if let Some(original) = reply_to {
                m["reply_to_message"] = original;
            }
            inner.messages.insert((chat_id, message_id), m.clone());
            m
        };
        self.push_update(json!({ "message": message }))
    }

    /// Stop serving; a call held open is let go.
    pub fn shutdown(self) {
        self.shared.stop.cancel();
    }
}

impl Drop for BotApiStandIn {
    fn drop(&mut self) {
        self.shared.stop.cancel();
    }
}

#[cfg(test)]
mod tests;
