//! What the Bot API sends back, per https://core.telegram.org/bots/api
//! ("Update", "Message", "CallbackQuery", "User", "Chat",
//! "ResponseParameters"): only the fields Ronda reads; the rest is ignored,
//! so that fields Telegram adds later change nothing.

use serde::Deserialize;

/// One incoming update (`message` or `callback_query`; `getUpdates` asks
/// for no other kind).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Update {
    pub update_id: i64,
    #[serde(default)]
    pub message: Option<Message>,
    #[serde(default)]
    pub callback_query: Option<CallbackQuery>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Message {
    pub message_id: i64,
    pub chat: Chat,
    #[serde(default)]
    pub from: Option<User>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub reply_to_message: Option<Box<Message>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Chat {
    pub id: i64,
    /// `private`, `group`, `supergroup` or `channel`.
    pub r#type: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct User {
    pub id: i64,
    pub is_bot: bool,
    pub first_name: String,
    #[serde(default)]
    pub username: Option<String>,
}

/// A press on an inline button.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CallbackQuery {
    pub id: String,
    pub from: User,
    /// The message the button was on. It may be an "inaccessible message"
    /// (`date` 0, no text): `chat` and `message_id` are still there.
    #[serde(default)]
    pub message: Option<Message>,
    #[serde(default)]
    pub data: Option<String>,
}

/// One element of a `getUpdates` answer.
// At most 100 a batch, read once: boxing the update would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Update(Update),
    /// An update whose id could be read but not the rest. The caller still
    /// moves its offset past it, or Telegram would send it again forever.
    Malformed {
        update_id: i64,
        error: String,
    },
}

impl Incoming {
    pub fn update_id(&self) -> i64 {
        match self {
            Incoming::Update(u) => u.update_id,
            Incoming::Malformed { update_id, .. } => *update_id,
        }
    }
}

/// The envelope of every answer ("Making requests").
#[derive(Debug, Deserialize)]
pub(super) struct Envelope {
    pub ok: bool,
    #[serde(default)]
    pub result: Option<serde_json::Value>,
    #[serde(default)]
    pub error_code: Option<i64>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub parameters: Option<ResponseParameters>,
}

/// "ResponseParameters": why a request failed and what to do about it.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ResponseParameters {
    #[serde(default)]
    pub migrate_to_chat_id: Option<i64>,
    #[serde(default)]
    pub retry_after: Option<u64>,
}

/// Decode each update on its own: one that Ronda cannot read must not
/// lose the others in its batch.
pub(super) fn decode_updates(values: Vec<serde_json::Value>) -> Vec<Incoming> {
    values
        .into_iter()
        .filter_map(|v| match Update::deserialize(&v) {
            Ok(u) => Some(Incoming::Update(u)),
            Err(e) => match v.get("update_id").and_then(serde_json::Value::as_i64) {
                Some(update_id) => Some(Incoming::Malformed {
                    update_id,
                    error: e.to_string(),
                }),
                None => {
                    // Without an id it cannot be confirmed or told apart;
                    // the offset moves past it with the next good one.
                    tracing::warn!(error = %e, "telegram sent an update without an update_id");
                    None
                }
            },
        })
        .collect()
}
