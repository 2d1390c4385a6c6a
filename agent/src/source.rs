//! Where a report's contents come from.

use std::future::Future;

use ronda_wire::{Host, Plug, Recorder, Service};

use crate::host::HostProbe;

/// The device sections of one report.
#[derive(Debug, Clone, Default)]
pub struct Sections {
    pub host: Option<Host>,
    pub recorders: Vec<Recorder>,
    pub plugs: Vec<Plug>,
    pub services: Vec<Service>,
}

/// Produces one round of readings. The real agent probes its host and
/// devices; the demo's simulated offices make readings up.
pub trait Source: Send {
    fn collect(&mut self) -> impl Future<Output = Sections> + Send;
}

/// The agent's own probes. Device adapters join the host probe here.
pub struct Probes {
    host: HostProbe,
}

impl Probes {
    pub fn new() -> Result<Self, sysinfo::Error> {
        Ok(Probes {
            host: HostProbe::new()?,
        })
    }

    /// Let rate-based readings (CPU %) settle before a one-shot round.
    pub async fn settle(&mut self) {
        self.host.settle().await;
    }
}

impl Source for Probes {
    async fn collect(&mut self) -> Sections {
        Sections {
            host: Some(self.host.read()),
            ..Sections::default()
        }
    }
}
