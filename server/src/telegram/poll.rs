//! Reading the bot's updates by long polling `getUpdates`: no public URL is
//! needed, which suits a regency's LAN. Only the server that leads polls
//! (the Bot API gives updates to one reader), and the offset it has
//! handled is kept in the database, so the next leader goes on from there.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::api::Incoming;
use super::Bot;
use crate::http::AppState;

/// Telegram's long-poll wait per call.
const LONG_POLL_S: u32 = 25;
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(60);

/// Poll for each term this server leads, until `shutdown`.
pub async fn run(
    s: AppState,
    bot: Arc<Bot>,
    mut leadership: crate::cluster::Leadership,
    shutdown: CancellationToken,
) {
    while let Some(term) = leadership.term(&shutdown).await {
        serve(&s, &bot, &term).await;
    }
    tracing::info!("telegram updates stopped");
}

async fn serve(s: &AppState, bot: &Bot, term: &CancellationToken) {
    let mut wait = FIRST_RETRY;
    // Read once a term: from then on this loop is the only one moving it.
    let stored = s.db.read(crate::store::telegram::offset).await;
    let mut offset = match stored
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
    {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the telegram offset; starting from the oldest update Telegram keeps");
            0
        }
    };
    loop {
        let got = tokio::select! {
            _ = term.cancelled() => return,
            r = bot.api.get_updates(offset, LONG_POLL_S) => r,
        };
        match got {
            Ok(list) => {
                wait = FIRST_RETRY;
                for incoming in list {
                    let id = match incoming {
                        Incoming::Update(u) => {
                            let id = u.update_id;
                            super::updates::handle(s, bot, u).await;
                            id
                        }
                        Incoming::Malformed { update_id, error } => {
                            tracing::warn!(
                                update = update_id,
                                error,
                                "telegram update not understood; skipped"
                            );
                            update_id
                        }
                    };
                    // Each update once: the next call confirms this one.
                    let next = id.saturating_add(1);
                    offset = next;
                    if let Err(e) =
                        s.db.write(move |c| crate::store::telegram::set_offset(c, next))
                            .await
                    {
                        tracing::error!(error = %e, "cannot store the telegram offset");
                    }
                }
            }
            Err(super::api::ApiError::Refused { code: 409, .. }) => {
                // Telegram gives updates to one reader: a webhook is set
                // for this bot, or another program polls with its token.
                tracing::error!(retry_in_s = MAX_RETRY.as_secs(), "telegram getUpdates refused (409): a webhook is set for this bot or another program reads its updates; remove it (deleteWebhook) or set `updates: webhook`");
                wait = MAX_RETRY;
                tokio::select! {
                    _ = term.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_s = wait.as_secs(), "telegram getUpdates failed");
                tokio::select! {
                    _ = term.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
                wait = (wait * 2).min(MAX_RETRY);
            }
        }
    }
}
