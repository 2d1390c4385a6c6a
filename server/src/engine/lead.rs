//! The engine on a server that shares its database: it evaluates every
//! report (its own and those relayed from the other server), so that its
//! pages are current, but it acts (stores alert changes, sends commands,
//! answers acknowledgements) only while this server leads. On taking the
//! lead it starts again from the database, where the previous leader left
//! the alerts as they are. A person's request made here while another
//! server leads is forwarded to it (`crate::cluster::ask`).

use jiff::Timestamp;

use super::worker::Worker;
use super::Engine;
use crate::cluster::Leadership;
use crate::letters::PolicySet;
use crate::store::StoreError;

/// Builds an engine from what the database holds now.
pub type Reseed = Box<dyn Fn(&PolicySet) -> Result<Engine, StoreError> + Send + Sync>;

pub struct Lead {
    pub leadership: Leadership,
    pub reseed: std::sync::Arc<Reseed>,
    /// Where a person's request goes while another server leads.
    pub forward: crate::cluster::ask::Forward,
}

impl Worker {
    /// Act only while `lead` says this server leads.
    pub fn with_lead(mut self, lead: Lead) -> Worker {
        self.lead = Some(lead);
        self
    }

    /// Whether this engine's decisions count: stored, sent and answered.
    pub(super) fn acting(&self) -> bool {
        self.lead.as_ref().is_none_or(|l| l.leadership.leads())
    }

    /// Wait until leading starts or stops; never returns for a lone server.
    pub(super) async fn lead_changed(lead: &mut Option<Lead>) {
        match lead {
            Some(l) if l.leadership.leads() => l.leadership.lost().await,
            Some(l) => l.leadership.gained().await,
            None => std::future::pending().await,
        }
    }

    /// Leading started: take up the alerts as the database has them.
    /// Leading stopped: carry on evaluating, acting no more.
    pub(super) async fn lead_moved(&mut self, now: Timestamp) {
        if !self.acting() {
            tracing::info!("engine: another server leads; evaluating only");
            return;
        }
        let (Some(lead), Some(live)) = (&self.lead, &self.live) else {
            return;
        };
        let reseed = lead.reseed.clone();
        let set = live.current();
        match tokio::task::spawn_blocking(move || reseed(&set)).await {
            Ok(Ok(engine)) => {
                self.engine = engine;
                tracing::info!("engine: this server leads; alerts taken up from the database");
                let fx = self.engine.sweep(now);
                self.apply(fx).await;
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "engine: cannot read the database to take the lead; acting on what it holds")
            }
            Err(e) => tracing::error!(error = %e, "engine: reading the database failed"),
        }
    }
}
