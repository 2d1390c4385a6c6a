//! Telegram: alerts to chats and groups through the Bot API, and
//! acknowledgement from the phone. The sender is one of the outbox's
//! channels ([`send`]); the bot reads what people send it by polling
//! `getUpdates` ([`poll`], no public URL needed) or through a webhook the
//! Bot API calls (`POST /telegram/updates`), and acts on it ([`updates`]).

pub mod api;
pub mod config;
pub mod link;
pub mod poll;
pub mod send;
pub mod text;
pub mod updates;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::mail::config::Lang;

/// Wrong link codes a Telegram account may send per [`CODE_WINDOW`].
const CODE_TRIES: u32 = 5;
const CODE_WINDOW: Duration = Duration::from_secs(3600);
/// Telegram accounts whose wrong codes are remembered at most.
const TRACKED: usize = 10_000;

/// What the bot's update handling shares: the API (with its webhook's
/// secret), the language it answers in, and wrong codes per account.
pub struct Bot {
    pub api: api::BotApi,
    pub lang: Lang,
    wrong: Mutex<HashMap<i64, (u32, Instant)>>,
}

impl Bot {
    pub fn new(config: &config::TelegramConfig, lang: Lang) -> Result<Bot, api::ApiError> {
        Ok(Bot {
            api: api::BotApi::new(config)?,
            lang,
            wrong: Mutex::default(),
        })
    }

    /// Whether `tg` may try a link code now.
    fn may_try_code(&self, tg: i64) -> bool {
        let Ok(wrong) = self.wrong.lock() else {
            return false;
        };
        wrong
            .get(&tg)
            .is_none_or(|(n, since)| *n < CODE_TRIES || since.elapsed() > CODE_WINDOW)
    }

    fn wrong_code(&self, tg: i64) {
        let Ok(mut wrong) = self.wrong.lock() else {
            return;
        };
        if wrong.len() >= TRACKED {
            wrong.retain(|_, (_, since)| since.elapsed() <= CODE_WINDOW);
        }
        let entry = wrong.entry(tg).or_insert((0, Instant::now()));
        if entry.1.elapsed() > CODE_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }
}
