//! What the polled adapters (Hikvision, Dahua) share: the poller with its
//! login pause, the poll loop, and how a paused or unanswered device shows
//! on the board.

use std::future::Future;

use ronda_wire::{AccessController, Paused};
use tokio_util::sync::CancellationToken;

use crate::doors::{AccessConfig, Hub};
use crate::pause::{self, Pause};
use crate::probe::ProbeError;

/// What one vendor's adapter reads in a poll, and how it shows it.
pub trait Read: Send {
    type Reading: Send;
    fn config(&self) -> &AccessConfig;
    fn hub(&self) -> &Hub;
    fn read(&mut self) -> impl Future<Output = Result<Self::Reading, ProbeError>> + Send;
    fn publish(&self, result: Result<Self::Reading, ProbeError>);
}

/// One polled controller: its vendor's reader, left alone after a refused
/// login (these devices lock the account after a few failures).
pub struct Poller<S> {
    pause: Pause,
    state: S,
}

impl<S: Read> Poller<S> {
    pub(crate) fn with(state: S) -> Self {
        Poller {
            pause: Pause::default(),
            state,
        }
    }

    /// One poll, its outcome on the board.
    pub async fn step(&mut self) {
        let id = self.state.config().id.clone();
        match self.pause.ask(&id, self.state.read()).await {
            Err(paused) => show_paused(self.state.hub(), &id, paused),
            Ok(result) => self.state.publish(result),
        }
    }
}

/// Poll every period until `stop`. A poll in flight is dropped when `stop`
/// fires: a page handed to the outbox is kept or not, and the cursor on
/// disk says which.
pub(crate) async fn every<S: Read>(mut poller: Poller<S>, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(poller.state.config().poll);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = poller.step() => {}
        }
    }
}

/// A device left alone after a refused login: not reachable, why, until when.
pub(crate) fn show_paused(hub: &Hub, device: &str, paused: Paused) {
    hub.update(device, |c| {
        c.reachable = false;
        c.error = Some(pause::describe(&paused));
        c.paused = Some(paused);
        forget_readings(c);
    });
}

/// What a round without an answer leaves unknown.
pub(crate) fn forget_readings(c: &mut AccessController) {
    c.clock_skew_s = None;
    for d in &mut c.doors {
        d.state = None;
    }
}

/// An answer some firmware do not have: an HTTP error status means none;
/// a refused login or no answer is an error.
pub(crate) fn optional(answer: Result<String, ProbeError>) -> Result<Option<String>, ProbeError> {
    match answer {
        Ok(body) => Ok(Some(body)),
        Err(ProbeError::Status { status, .. }) if status != 401 => Ok(None),
        Err(e) => Err(e),
    }
}
