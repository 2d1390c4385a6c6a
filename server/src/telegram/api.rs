//! The Telegram Bot API client (https://core.telegram.org/bots/api):
//! `sendMessage`, `getUpdates` and `answerCallbackQuery`, with every answer
//! read through its `{"ok":…}` envelope ("Making requests") into an error
//! the outbox can act on. The token is in every URL, so no URL and no
//! reqwest error with its URL reaches an error text or a log.

mod types;

use std::fmt;
use std::time::Duration;

use serde_json::{json, Value};

use super::config::{check_webhook_secret, TelegramConfig, Updates};
use crate::mail::Outcome;
use ronda_common::conf::Secret;

use types::{decode_updates, Envelope};
pub use types::{CallbackQuery, Chat, Incoming, Message, Update, User};

/// Most a `getUpdates` answer may hold (100 updates of a few KiB each).
pub const UPDATES_BODY_MAX: usize = 4 << 20;
/// Most any other answer may hold: one Message object.
pub const BODY_MAX: usize = 64 << 10;
/// "Text of the message to be sent, 1-4096 characters after entities parsing".
pub const TEXT_MAX: usize = 4096;
/// "callback_data: Data to be sent in a callback query …, 1-64 bytes".
pub const CALLBACK_DATA_MAX: usize = 64;
/// "text: … 0-200 characters" of answerCallbackQuery.
pub const CALLBACK_TEXT_MAX: usize = 200;
/// A 429 without `retry_after` waits this long.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);
/// Most of Telegram's description kept in an error.
const DESCRIPTION_MAX: usize = 300;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("telegram 429: {description} (retry in {}s)", wait.as_secs())]
    RetryAfter { wait: Duration, description: String },
    /// 5xx, a timeout, no connection, an answer that cannot be read.
    #[error("telegram unavailable: {0}")]
    Unavailable(String),
    /// 400/403/404…: will never work (bot removed, chat not found…).
    #[error("telegram {code}: {description}")]
    Refused { code: u16, description: String },
    /// 400 with `migrate_to_chat_id`: the group became a supergroup.
    #[error("telegram 400: the group became a supergroup; its new id is {new_chat_id}")]
    Migrated { new_chat_id: i64 },
    /// Refused here, before sending: Telegram would refuse it.
    #[error("not sent to telegram: {0}")]
    Invalid(String),
    #[error("telegram 401: the bot token is not accepted (check telegram.token)")]
    Unauthorized,
    #[error("telegram: {0}")]
    Config(String),
}

impl ApiError {
    /// What the outbox does with a message that met this error.
    pub fn outcome(self) -> Outcome {
        let text = self.to_string();
        match self {
            ApiError::RetryAfter { wait, .. } => Outcome::Later(text, wait),
            // A wrong token is fixed and the server restarted: the messages
            // waiting meanwhile are still worth delivering.
            ApiError::Unavailable(_) | ApiError::Unauthorized | ApiError::Config(_) => {
                Outcome::Transient(text)
            }
            ApiError::Refused { .. } | ApiError::Migrated { .. } | ApiError::Invalid(_) => {
                Outcome::Permanent(text)
            }
        }
    }
}

/// One message to send.
#[derive(Debug, Clone, Copy)]
pub struct OutMessage<'a> {
    pub chat_id: i64,
    /// Sent with `parse_mode: HTML`: escape text with [`escape_html`].
    pub html: &'a str,
    /// `(text, callback_data)`: one button a row, as an inline keyboard.
    pub buttons: &'a [(String, String)],
    /// `reply_parameters.message_id`; sent even if that message is gone.
    pub reply_to: Option<i64>,
    /// Ask for a reply (`ForceReply`, selective). Not with buttons: a
    /// message has one `reply_markup`.
    pub force_reply: bool,
}

pub struct BotApi {
    http: reqwest::Client,
    /// `{api_base}/bot{token}/`: holds the token, so it is never printed.
    url: String,
    api_base: String,
    timeout: Duration,
    webhook_secret: Option<Secret>,
}

impl fmt::Debug for BotApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BotApi")
            .field("api_base", &self.api_base)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl BotApi {
    /// Resolves the token (and a webhook secret) now; an error names where
    /// the config keeps it, never its value.
    pub fn new(config: &TelegramConfig) -> Result<BotApi, ApiError> {
        let token = config
            .token
            .resolve()
            .map_err(|e| ApiError::Config(e.to_string()))?;
        check_token(token.expose()).map_err(ApiError::Config)?;
        let webhook_secret = match &config.updates {
            Updates::Webhook { secret } => {
                let s = secret
                    .resolve()
                    .map_err(|e| ApiError::Config(e.to_string()))?;
                check_webhook_secret(s.expose()).map_err(ApiError::Config)?;
                Some(s)
            }
            Updates::Poll | Updates::Off => None,
        };
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeout)
            // Telegram does not redirect; a redirect would carry the token
            // to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ApiError::Config(e.without_url().to_string()))?;
        Ok(BotApi {
            http,
            url: format!("{}/bot{}/", config.api_base, token.expose()),
            api_base: config.api_base.clone(),
            timeout: config.timeout,
            webhook_secret,
        })
    }

    /// The secret Telegram sends in `X-Telegram-Bot-Api-Secret-Token`
    /// with `updates: webhook`.
    pub fn webhook_secret(&self) -> Option<&Secret> {
        self.webhook_secret.as_ref()
    }

    /// Send one message; its `message_id` on success.
    pub async fn send_message(&self, m: &OutMessage<'_>) -> Result<i64, ApiError> {
        let body = message_body(m)?;
        let result = self
            .call("sendMessage", &body, self.timeout, BODY_MAX)
            .await?;
        result
            .get("message_id")
            .and_then(Value::as_i64)
            .ok_or_else(|| {
                ApiError::Unavailable("the answer to sendMessage has no message_id".into())
            })
    }

    /// Long poll: Telegram waits up to `timeout_s` for an update; the HTTP
    /// request may take that plus the configured timeout.
    pub async fn get_updates(
        &self,
        offset: i64,
        timeout_s: u32,
    ) -> Result<Vec<Incoming>, ApiError> {
        let body = json!({
            "offset": offset,
            "timeout": timeout_s,
            "allowed_updates": ["message", "callback_query"],
        });
        let wait = Duration::from_secs(timeout_s.into()) + self.timeout;
        let result = self
            .call("getUpdates", &body, wait, UPDATES_BODY_MAX)
            .await?;
        let values: Vec<Value> = serde_json::from_value(result)
            .map_err(|e| ApiError::Unavailable(format!("getUpdates: result is not a list: {e}")))?;
        Ok(decode_updates(values))
    }

    /// Answer a button press (the client stops its spinner); `text` is shown
    /// as a notice, cut to Telegram's 200 characters.
    pub async fn answer_callback_query(&self, id: &str, text: &str) -> Result<(), ApiError> {
        let text: String = text.chars().take(CALLBACK_TEXT_MAX).collect();
        let body = json!({ "callback_query_id": id, "text": text });
        self.call("answerCallbackQuery", &body, self.timeout, BODY_MAX)
            .await
            .map(drop)
    }

    /// POST `body` as JSON to `method`; the `result` of a good answer.
    async fn call(
        &self,
        method: &str,
        body: &Value,
        wait: Duration,
        max: usize,
    ) -> Result<Value, ApiError> {
        let sent = self
            .http
            .post(format!("{}{method}", self.url))
            .timeout(wait)
            .json(body)
            .send()
            .await
            .map_err(|e| unavailable(method, e, wait))?;
        let status = sent.status().as_u16();
        let bytes = read_capped(sent, max, method, wait).await?;
        read_answer(method, status, &bytes)
    }
}

/// The JSON of a `sendMessage`, or why Telegram would refuse it.
fn message_body(m: &OutMessage<'_>) -> Result<Value, ApiError> {
    let visible = visible_text(m.html);
    let length = visible.chars().count();
    if visible.trim().is_empty() {
        return Err(ApiError::Invalid("the message is empty".into()));
    }
    if length > TEXT_MAX {
        return Err(ApiError::Invalid(format!(
            "the message has {length} characters; Telegram takes {TEXT_MAX}"
        )));
    }
    let mut body = json!({
        "chat_id": m.chat_id,
        "text": m.html,
        "parse_mode": "HTML",
        // A dashboard link would otherwise grow a preview card.
        "link_preview_options": { "is_disabled": true },
    });
    let markup = match (m.buttons, m.force_reply) {
        ([], false) => None,
        ([], true) => Some(json!({ "force_reply": true, "selective": true })),
        (_, true) => return Err(ApiError::Invalid("buttons and force_reply together".into())),
        (buttons, false) => Some(keyboard(buttons)?),
    };
    if let Some(markup) = markup {
        body["reply_markup"] = markup;
    }
    if let Some(id) = m.reply_to {
        // A reply to a message someone deleted still delivers the alert.
        body["reply_parameters"] = json!({ "message_id": id, "allow_sending_without_reply": true });
    }
    Ok(body)
}

fn keyboard(buttons: &[(String, String)]) -> Result<Value, ApiError> {
    let mut rows = Vec::with_capacity(buttons.len());
    for (text, data) in buttons {
        if data.is_empty() || data.len() > CALLBACK_DATA_MAX {
            return Err(ApiError::Invalid(format!(
                "button data has {} bytes; Telegram takes 1 to {CALLBACK_DATA_MAX}",
                data.len()
            )));
        }
        if text.trim().is_empty() {
            return Err(ApiError::Invalid("a button without a label".into()));
        }
        rows.push(json!([{ "text": text, "callback_data": data }]));
    }
    Ok(json!({ "inline_keyboard": rows }))
}

/// The text of an HTML message once its tags are taken out, each entity
/// as one character: what Telegram's 1–4096 applies to.
fn visible_text(html: &str) -> String {
    let (mut out, mut in_tag, mut in_entity) = (String::new(), false, false);
    for c in html.chars() {
        match (in_tag, in_entity, c) {
            (true, _, '>') => in_tag = false,
            (false, true, ';') => in_entity = false,
            (true, _, _) | (false, true, _) => {}
            (false, false, '<') => in_tag = true,
            (false, false, '&') => {
                in_entity = true;
                out.push('&');
            }
            (false, false, c) => out.push(c),
        }
    }
    out
}

/// Escape text for `parse_mode: HTML`: the doc asks for `<`, `>` and `&`
/// to be written `&lt;`, `&gt;` and `&amp;` ("Formatting options").
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

/// A bot token is `<bot id>:<key>`; anything else would also bend the URL
/// it is put into. The error never shows it.
fn check_token(token: &str) -> Result<(), String> {
    let ok = token.split_once(':').is_some_and(|(id, key)| {
        !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit())
            && !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    });
    if ok {
        Ok(())
    } else {
        Err("the bot token is not as @BotFather gives it: digits, a colon, then letters, digits, _ and -".into())
    }
}

fn unavailable(method: &str, e: reqwest::Error, wait: Duration) -> ApiError {
    if e.is_timeout() {
        return ApiError::Unavailable(format!(
            "{method}: no answer within {}s",
            wait.as_secs_f32()
        ));
    }
    // `without_url`: the URL holds the token.
    ApiError::Unavailable(format!("{method}: {}", e.without_url()))
}

/// Read a body, refusing it as soon as it passes `max` bytes.
async fn read_capped(
    mut resp: reqwest::Response,
    max: usize,
    method: &str,
    wait: Duration,
) -> Result<Vec<u8>, ApiError> {
    let too_large =
        || ApiError::Unavailable(format!("{method}: the answer is larger than {max} bytes"));
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let mut buf = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| unavailable(method, e, wait))?
    {
        if buf.len() + chunk.len() > max {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// Read an answer through its envelope: `result`, or the error it says.
fn read_answer(method: &str, status: u16, bytes: &[u8]) -> Result<Value, ApiError> {
    let Ok(envelope) = serde_json::from_slice::<Envelope>(bytes) else {
        // A proxy's HTML page, or a cut answer: only the status speaks.
        return Err(match status {
            401 => ApiError::Unauthorized,
            200..=299 => {
                ApiError::Unavailable(format!("{method}: the answer is not the Bot API's JSON"))
            }
            s => ApiError::Unavailable(format!("{method}: HTTP {s} without the Bot API's JSON")),
        });
    };
    if envelope.ok {
        return envelope
            .result
            .ok_or_else(|| ApiError::Unavailable(format!("{method}: ok without a result")));
    }
    let code = envelope.error_code.unwrap_or(status.into());
    let description = envelope.description.unwrap_or_default();
    let description: String = description.chars().take(DESCRIPTION_MAX).collect();
    let parameters = envelope.parameters.unwrap_or_default();
    if let Some(secs) = parameters.retry_after {
        let wait = Duration::from_secs(secs.clamp(1, 24 * 3600));
        return Err(ApiError::RetryAfter { wait, description });
    }
    if let Some(new_chat_id) = parameters.migrate_to_chat_id {
        return Err(ApiError::Migrated { new_chat_id });
    }
    Err(match code {
        429 => ApiError::RetryAfter {
            wait: DEFAULT_RETRY_AFTER,
            description,
        },
        401 => ApiError::Unauthorized,
        c if c >= 500 || c <= 0 => ApiError::Unavailable(format!("{method}: {c} {description}")),
        c => ApiError::Refused {
            code: u16::try_from(c).unwrap_or(0),
            description,
        },
    })
}

#[cfg(test)]
mod tests;
