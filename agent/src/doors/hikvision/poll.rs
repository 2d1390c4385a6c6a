//! What the two polled adapters share: the poll loop, and how a paused or
//! unanswered device shows on the board. It lives here because the door
//! module's seam (`doors/mod.rs`) names one file per vendor; the Dahua
//! adapter uses it from here.

use std::time::Duration;

use ronda_wire::{AccessController, Paused};
use tokio_util::sync::CancellationToken;

use crate::doors::Hub;
use crate::pause;
use crate::probe::ProbeError;

/// A device polled by [`every`].
pub(crate) trait Polled {
    fn period(&self) -> Duration;
    fn step(&mut self) -> impl std::future::Future<Output = ()> + Send;
}

/// Poll every period until `stop`. A poll in flight is dropped when `stop`
/// fires: a page handed to the outbox is kept or not, and the cursor on
/// disk says which.
pub(crate) async fn every<P: Polled>(mut poller: P, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(poller.period());
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
