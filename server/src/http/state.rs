//! What every handler is given: the store, the engine's views and mailbox,
//! the accounts database, the login throttle and the page clock.

use std::sync::Arc;

use tokio::sync::watch;

use super::error::ApiError;
use crate::metrics::Metrics;
use crate::store::Reader;

#[derive(Clone)]
pub struct AppState {
    pub reader: Reader,
    pub metrics: Arc<Metrics>,
    pub subscribed: watch::Receiver<bool>,
    /// The letters and registry in force, swapped by a reload.
    pub policy: crate::letters::Live,
    pub views: crate::engine::Views,
    pub engine: tokio::sync::mpsc::Sender<crate::engine::worker::Msg>,
    pub admin_token: Option<ronda_common::conf::Secret>,
    /// The demo's capture folder, shown on the email page.
    pub mail_capture: Option<std::path::PathBuf>,
    /// Accounts, sessions, signatures and the audit log.
    pub db: crate::store::Db,
    /// Failed logins per source and account.
    pub limiter: Arc<super::ratelimit::LoginLimiter>,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: super::proxy::TrustedProxies,
    /// The Telegram bot, when server.yaml sets one up.
    pub telegram: Option<Arc<crate::telegram::Bot>>,
    /// Live snapshots waited for, and the pin forms of those shown.
    pub snapshots: Arc<crate::snapshots::Snapshots>,
}

impl AppState {
    /// The letters in force now.
    pub fn letters(&self) -> Arc<Vec<ronda_policy::Letter>> {
        self.policy.current().letters.clone()
    }

    /// Office names and contacts, when `offices:` is configured.
    pub fn registry(&self) -> Option<Arc<ronda_policy::Registry>> {
        self.policy.current().registry.clone()
    }

    /// The clock pages show times on (the pages' zone).
    pub fn tz(&self) -> jiff::tz::TimeZone {
        self.policy.current().tz.clone()
    }

    /// Ask the policy engine something and wait for its answer. `make`
    /// builds the message around the reply channel.
    pub async fn ask<T>(
        &self,
        make: impl FnOnce(tokio::sync::oneshot::Sender<T>) -> crate::engine::worker::Msg,
    ) -> Result<T, ApiError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.engine
            .send(make(reply))
            .await
            .map_err(|_| ApiError::Unavailable)?;
        answer.await.map_err(|_| ApiError::Unavailable)
    }
}
