//! The leader's lock: a PostgreSQL advisory lock held by a session of its
//! own, on a thread of its own. PostgreSQL releases it when that session
//! ends, so a server killed outright, or cut off from the database, stops
//! leading within moments, and the other takes the lock at its next try.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::Leadership;
use crate::metrics::Metrics;
use crate::store::sql::{session, PgConfig};

/// The lock's key: "ronda-lead" in ASCII, apart from the migration lock.
const KEY: i64 = 0x726f_6e64_612d_6c64;
/// How often a server that does not lead tries the lock. Takeover after
/// the leader dies takes at most this, plus the new leader's start.
const TRY_EVERY: Duration = Duration::from_secs(1);
/// How often the leader checks that its session is still alive.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Start trying for the lock. The thread ends, releasing the lock, when
/// `shutdown` fires.
pub fn spawn(
    config: PgConfig,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> std::io::Result<Leadership> {
    let (tx, rx) = watch::channel(false);
    std::thread::Builder::new()
        .name("leader-lock".into())
        .spawn(move || run(&config, &tx, &metrics, &shutdown))?;
    Ok(Leadership::following(rx))
}

fn run(
    config: &PgConfig,
    tx: &watch::Sender<bool>,
    metrics: &Metrics,
    shutdown: &CancellationToken,
) {
    while !shutdown.is_cancelled() {
        match session(config, "ronda-server leader lock") {
            Ok(mut client) => {
                if let Err(e) = hold(&mut client, tx, metrics, shutdown) {
                    tracing::error!(error = %crate::store::sql::Error::from(e), "leader lock: the database session failed");
                }
            }
            Err(e) => tracing::warn!(error = %e, "leader lock: cannot reach the database"),
        }
        if tx.send_replace(false) {
            tracing::warn!("this server no longer leads: engine, mail and retention stop here");
        }
        metrics.leader.set(0);
        pause(TRY_EVERY, shutdown);
    }
}

/// Try for the lock until it is held, then check the session until it
/// fails or `shutdown` fires.
fn hold(
    client: &mut postgres::Client,
    tx: &watch::Sender<bool>,
    metrics: &Metrics,
    shutdown: &CancellationToken,
) -> Result<(), postgres::Error> {
    loop {
        if shutdown.is_cancelled() {
            return Ok(());
        }
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&KEY])?
            .get(0);
        if got {
            break;
        }
        pause(TRY_EVERY, shutdown);
    }
    tracing::info!("this server now leads: it runs the engine, the mail sender and retention");
    metrics.leader.set(1);
    tx.send_replace(true);
    while !shutdown.is_cancelled() {
        pause(CHECK_EVERY, shutdown);
        client.simple_query("SELECT 1")?;
    }
    Ok(())
}

/// Sleep for `d`, or less if `shutdown` fires.
fn pause(d: Duration, shutdown: &CancellationToken) {
    let step = Duration::from_millis(50);
    let mut left = d;
    while !left.is_zero() && !shutdown.is_cancelled() {
        std::thread::sleep(step.min(left));
        left = left.saturating_sub(step);
    }
}
