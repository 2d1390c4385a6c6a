//! The Telegram channel of the outbox: each row is one `sendMessage` to the
//! chat its registry name stands for, with a "Tangani" button per firing
//! alert when the bot reads presses.

use std::time::Duration;

use super::api::{ApiError, BotApi, OutMessage};
use super::config::{TelegramConfig, Updates};
use crate::mail::config::Lang;
use crate::mail::deliver::Sender;
use crate::mail::send::Row;
use crate::mail::{Context, Outcome};

/// Buttons on one message at most; the rest are acknowledged on the page.
const MAX_BUTTONS: usize = 8;

pub struct TelegramSender {
    api: BotApi,
    timeout: Duration,
    /// Whether presses are read (`updates` is not `off`).
    buttons: bool,
}

impl TelegramSender {
    pub fn new(config: &TelegramConfig) -> Result<TelegramSender, ApiError> {
        Ok(TelegramSender {
            api: BotApi::new(config)?,
            timeout: config.timeout,
            buttons: !matches!(config.updates, Updates::Off),
        })
    }
}

impl Sender for TelegramSender {
    fn channel(&self) -> &'static str {
        crate::mail::channels::TELEGRAM
    }

    fn lease(&self, _: &Context) -> Duration {
        self.timeout.saturating_mul(2) + Duration::from_secs(1)
    }

    async fn attempt(&mut self, cx: &Context, row: &Row) -> Outcome {
        let name = row.target.as_deref().unwrap_or_default();
        let chat = cx.registry.as_deref().and_then(|r| r.telegram.get(name));
        let Some(&chat_id) = chat else {
            return Outcome::Permanent(format!("the registry has no Telegram chat `{name}`"));
        };
        let buttons = if self.buttons && is_open(&row.kind) {
            buttons(cx.config.language, &row.alert_ids)
        } else {
            Vec::new()
        };
        let message = OutMessage {
            chat_id,
            html: &row.html,
            buttons: &buttons,
            reply_to: None,
            force_reply: false,
        };
        // The client has its own timeout; this one holds whatever it misses.
        let limit = self.timeout + Duration::from_secs(1);
        match tokio::time::timeout(limit, self.api.send_message(&message)).await {
            Ok(Ok(_)) => Outcome::Sent,
            Ok(Err(e)) => e.outcome(),
            Err(_) => Outcome::Transient(format!("telegram: no answer within {limit:?}")),
        }
    }
}

/// Messages about alerts someone should take on.
fn is_open(kind: &str) -> bool {
    matches!(kind, "firing" | "repeat" | "escalation")
}

fn buttons(lang: Lang, alerts: &[i64]) -> Vec<(String, String)> {
    let word = match lang {
        Lang::Id => "Tangani",
        Lang::En => "Acknowledge",
    };
    let one = alerts.len() == 1;
    alerts
        .iter()
        .take(MAX_BUTTONS)
        .map(|id| {
            let text = if one {
                word.to_owned()
            } else {
                format!("{word} #{id}")
            };
            (text, format!("{}{id}", super::updates::ACK))
        })
        .collect()
}
