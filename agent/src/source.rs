//! Where a report's contents come from: the host probe and the office's
//! devices, probed concurrently with a bound and a deadline each.

use std::future::Future;
use std::sync::Arc;

use ronda_wire::{Host, Plug, Recorder, Service};
use tokio_util::sync::CancellationToken;

use crate::devices::Devices;
use crate::host::HostProbe;
use crate::http::Clients;
use crate::probe::{bounded, ProbeError};
use crate::services::ServiceCheck;
use crate::view::Views;
use crate::{plugs, recorders};
use ronda_common::link::LinkError;

/// The device sections of one report.
#[derive(Debug, Clone, Default)]
pub struct Sections {
    pub host: Option<Host>,
    pub recorders: Vec<Recorder>,
    pub plugs: Vec<Plug>,
    pub services: Vec<Service>,
}

/// Produces one round of readings. The real agent probes its host and
/// devices; tests and simulations may make readings up.
pub trait Source: Send {
    fn collect(&mut self) -> impl Future<Output = Sections> + Send;

    /// The devices that commands act on, if this source has real ones.
    fn devices(&self) -> Option<Arc<DeviceSet>> {
        None
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot set up HTTP: {0}")]
    Http(#[from] ProbeError),
    #[error("office broker: {0}")]
    Bus(#[from] LinkError),
}

/// Every configured device with its adapter.
pub struct DeviceSet {
    pub recorders: Vec<recorders::Watched>,
    pub plugs: Vec<plugs::Watched>,
    pub services: Vec<ServiceCheck>,
    pub protected_classes: Vec<String>,
    /// Camera view samples, merged into each round's recorders, and the
    /// one-at-a-time turn that `view.snapshot` waits for.
    pub views: Arc<Views>,
    concurrency: usize,
    clients: Clients,
}

impl DeviceSet {
    /// Build the adapters; connects to the office broker when MQTT plugs
    /// need it (the connection lives until `shutdown`).
    pub fn build(
        devices: &Devices,
        client_id: &str,
        shutdown: &CancellationToken,
    ) -> Result<DeviceSet, SetupError> {
        let clients = Clients::new()?;
        let bus = match &devices.local_broker {
            Some(cfg) if devices.plugs.iter().any(|p| p.kind.over_mqtt()) => {
                let filters = plugs::mqtt_filters(&devices.plugs, client_id);
                Some(plugs::Bus::start(
                    cfg,
                    client_id,
                    filters,
                    shutdown.clone(),
                )?)
            }
            _ => None,
        };
        let recorders: Vec<recorders::Watched> = devices
            .recorders
            .iter()
            .map(|r| recorders::Watched::new(r.clone(), &clients))
            .collect();
        let views = Arc::new(Views::build(&recorders, &clients));
        if !views.is_empty() {
            tokio::spawn(Arc::clone(&views).run(shutdown.clone()));
        }
        Ok(DeviceSet {
            recorders,
            plugs: devices
                .plugs
                .iter()
                .map(|p| plugs::Watched::new(p.clone(), &clients, bus.clone()))
                .collect(),
            services: devices.services.clone(),
            protected_classes: devices.protected_classes.clone(),
            views,
            concurrency: devices.concurrency,
            clients,
        })
    }

    /// One round over every device. A hung device holds one slot until its
    /// deadline; the others go on.
    pub async fn collect(&self) -> (Vec<Recorder>, Vec<Plug>, Vec<Service>) {
        let n = self.concurrency;
        let start = std::time::Instant::now();
        let mut round = tokio::join!(
            bounded(self.recorders.iter().map(|r| r.probe()).collect(), n),
            bounded(self.plugs.iter().map(|p| p.probe()).collect(), n),
            bounded(
                self.services
                    .iter()
                    .map(|s| s.probe(&self.clients))
                    .collect(),
                n
            ),
        );
        let failed = round.0.iter().filter(|r| !r.reachable).count()
            + round.1.iter().filter(|p| !p.reachable).count()
            + round.2.iter().filter(|s| !s.reachable).count();
        let (devices, took_ms) = (
            self.recorders.len() + self.plugs.len() + self.services.len(),
            start.elapsed().as_millis() as u64,
        );
        // Quiet when all is well: an agent logs this every interval.
        if failed > 0 {
            tracing::info!(devices, unreachable = failed, took_ms, "probe round done");
        } else {
            tracing::debug!(devices, took_ms, "probe round done");
        }
        self.views.merge(&mut round.0);
        round
    }

    pub fn plug(&self, id: &str) -> Option<&plugs::Watched> {
        self.plugs.iter().find(|p| p.config.id == id)
    }
}

/// The agent's own probes: this host and the configured devices.
pub struct Probes {
    host: HostProbe,
    devices: Arc<DeviceSet>,
}

impl Probes {
    pub fn new(host: HostProbe, devices: DeviceSet) -> Self {
        Probes {
            host,
            devices: Arc::new(devices),
        }
    }

    /// Let rate-based readings (CPU %) settle, and look at every camera
    /// once, before a one-shot round.
    pub async fn settle(&mut self) {
        self.host.settle().await;
        self.devices.views.look_all().await;
    }
}

impl Source for Probes {
    async fn collect(&mut self) -> Sections {
        let host = self.host.read();
        let (recorders, plugs, services) = self.devices.collect().await;
        Sections {
            host: Some(host),
            recorders,
            plugs,
            services,
        }
    }

    fn devices(&self) -> Option<Arc<DeviceSet>> {
        Some(Arc::clone(&self.devices))
    }
}
