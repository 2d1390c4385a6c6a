//! Two servers on one PostgreSQL database: which one leads, and how the
//! other one's news reaches the leader's engine.
//!
//! Both servers take reports (a shared subscription splits them), store
//! them and serve the web. Only the leader runs what must run once: the
//! policy engine, the mail sender and retention. A server on a SQLite file
//! is alone by construction and always leads.

pub mod ask;
pub mod lock;
pub mod relay;

use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use crate::engine::worker::Msg;
use crate::metrics::Metrics;
use crate::store::Location;
use tokio_util::sync::CancellationToken;

/// How this server takes part.
pub struct Joined {
    pub leadership: Leadership,
    /// The servers' shared subscription group (see [`share_group`]); `None`
    /// for a server alone on its database.
    pub share_group: Option<String>,
    /// Requests this server forwarded to the leader, awaiting an answer
    /// (see [`ask`]); `None` when alone.
    pub pending: Option<ask::Pending>,
}

impl Joined {
    /// Other servers may share the database (PostgreSQL).
    pub fn shared(&self) -> bool {
        self.share_group.is_some()
    }
}

/// Take part as the database allows: alone on a SQLite file; on
/// PostgreSQL, trying for the lead and listening to the other servers
/// (before the caller reads its engine's starting point).
pub async fn join(
    location: &Location,
    server_id: &str,
    engine: &mpsc::Sender<Msg>,
    store: &mpsc::Sender<crate::store::Write>,
    max_payload: usize,
    metrics: &Arc<Metrics>,
    shutdown: &CancellationToken,
) -> std::io::Result<Joined> {
    let Location::Postgres(pg) = location else {
        metrics.leader.set(1);
        return Ok(Joined {
            leadership: Leadership::alone(),
            share_group: None,
            pending: None,
        });
    };
    let group = {
        let pg = pg.clone();
        tokio::task::spawn_blocking(move || share_group(&pg))
            .await
            .map_err(std::io::Error::other)?
            .map_err(std::io::Error::other)?
    };
    let leadership = lock::spawn(pg.clone(), metrics.clone(), shutdown.clone())?;
    let pending = ask::Pending::default();
    let (listening, heard) = tokio::sync::oneshot::channel();
    let listener = relay::Listener {
        origin: server_id.to_owned(),
        engine: engine.clone(),
        max_payload,
        shutdown: shutdown.clone(),
        leadership: leadership.clone(),
        store: store.clone(),
        pending: pending.clone(),
    };
    relay::spawn(pg.clone(), listener, listening)?;
    let _ = heard.await;
    Ok(Joined {
        leadership,
        share_group: Some(group),
        pending: Some(pending),
    })
}

/// The name of the group the servers subscribe as (`$share/<group>/…`):
/// random, made by the first server and kept in the database. A broker
/// checks a subscriber's read rights only when it delivers, so a client
/// that joined the servers' group under a name it could guess would be
/// given its turn of the reports and drop them: an agent could make the
/// servers lose a share of every office's reports.
/// The caller has opened (and migrated) the database already.
pub fn share_group(pg: &crate::store::sql::PgConfig) -> crate::store::sql::Result<String> {
    let conn = crate::store::sql::Connection::postgres(pg)?;
    let made = format!(
        "ronda-{}",
        crate::store::users::random_bytes::<16>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    conn.execute(
        "INSERT INTO cluster_settings (name, value) VALUES ('share_group', ?1) ON CONFLICT DO NOTHING",
        [made.as_str()],
    )?;
    conn.query_row(
        "SELECT value FROM cluster_settings WHERE name = 'share_group'",
        [],
        |r| r.get(0),
    )
}

/// Whether this server leads now, and a way to wait for it to change.
#[derive(Clone)]
pub struct Leadership {
    rx: watch::Receiver<bool>,
    /// Keeps a lone server's channel open: it leads for good.
    _alone: Option<Arc<watch::Sender<bool>>>,
}

impl Leadership {
    /// A server with no one to share its database: it always leads.
    pub fn alone() -> Leadership {
        let (tx, rx) = watch::channel(true);
        Leadership {
            rx,
            _alone: Some(Arc::new(tx)),
        }
    }

    fn following(rx: watch::Receiver<bool>) -> Leadership {
        Leadership { rx, _alone: None }
    }

    pub fn leads(&self) -> bool {
        *self.rx.borrow()
    }

    /// Wait until this server leads. Once the lock's thread has stopped
    /// (the server is shutting down), it never returns.
    pub async fn gained(&mut self) {
        self.wait(true).await
    }

    /// Wait until this server no longer leads; as [`Leadership::gained`],
    /// it never returns once the lock's thread has stopped.
    pub async fn lost(&mut self) {
        self.wait(false).await
    }

    /// Wait for the next term this server leads: a token that is cancelled
    /// when the term ends (the lead is lost, or `shutdown` fires). `None`
    /// once `shutdown` has fired. Each part that runs only on the leader
    /// loops over its terms.
    pub async fn term(&mut self, shutdown: &CancellationToken) -> Option<CancellationToken> {
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = self.gained() => {}
        }
        let term = shutdown.child_token();
        let (mut watch, end) = (self.clone(), term.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = watch.lost() => end.cancel(),
                _ = end.cancelled() => {}
            }
        });
        Some(term)
    }

    async fn wait(&mut self, leads: bool) {
        if self.rx.wait_for(|l| *l == leads).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
