//! Telegram as an alert channel: the `telegram:` config section and the
//! Bot API client (https://core.telegram.org/bots/api).

pub mod api;
pub mod config;
