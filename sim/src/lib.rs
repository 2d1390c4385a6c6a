//! ronda-sim: a simulated office. Fake Hikvision, Dahua, ONVIF, RTSP,
//! Frigate, Tasmota, Shelly and Zigbee2MQTT devices, and door access
//! controllers (Hikvision ISAPI, ZKTeco PUSH), on 127.0.0.1, speaking the
//! vendors' own formats (see `fixtures/` and `templates/`, each naming the
//! document it follows), with digest auth where the real device has it.
//!
//! Their state changes while they run, through the control API: a channel
//! stops recording, a disk fails, a plug is switched on, a device hangs, a
//! door is forced.

pub mod access;
pub mod agent_config;
pub mod auth;
pub mod control;
pub mod dahua;
pub mod fixture;
pub mod folder;
pub mod frigate;
pub mod hikvision;
pub mod layout;
pub mod mqtt_device;
pub mod onvif;
pub mod readings;
pub mod rtsp;
pub mod service;
pub mod shelly;
pub mod state;
pub mod tasmota;
pub mod telegram;
pub mod view;
pub mod zigbee2mqtt;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::auth::Guard;
use crate::state::{DeviceState, Shared, SimKind};

/// How long the office waits at start for its MQTT devices to subscribe.
const MQTT_READY: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on {addr}: {error}")]
    Bind {
        addr: SocketAddr,
        error: std::io::Error,
    },
    #[error("cannot create the recording folder: {0}")]
    Folder(std::io::Error),
    #[error(transparent)]
    Broker(#[from] ronda_broker::BrokerError),
}

/// Where the simulator listens.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `None`: any free port for everything. `Some(p)`: the control API on
    /// `p` and device `i` on `p + 1 + i`, so that a written config stays valid.
    pub base_port: Option<u16>,
    /// Broker for the MQTT devices. `None` starts an embedded one (on
    /// `base_port + 83` with a base port).
    pub mqtt: Option<SocketAddr>,
    /// Folder for the software recorder's footage. `None`: a temporary one,
    /// or `$TMPDIR/ronda-sim-<base port>` with a base port.
    pub folder_root: Option<PathBuf>,
}

/// One running device.
#[derive(Clone)]
pub struct Served {
    pub id: String,
    pub kind: SimKind,
    /// HTTP or RTSP address; `None` for MQTT devices, folders and devices
    /// that call out (ZKTeco PUSH).
    pub addr: Option<SocketAddr>,
    pub state: Shared,
}

/// The running simulator.
pub struct Sim {
    pub devices: Vec<Served>,
    pub control: SocketAddr,
    pub mqtt: SocketAddr,
    pub folder_root: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl Sim {
    pub fn device(&self, id: &str) -> Option<&Served> {
        self.devices.iter().find(|d| d.id == id)
    }
}

/// Start every device of `office` and the control API.
pub async fn start(
    office: Vec<DeviceState>,
    opts: Options,
    shutdown: CancellationToken,
) -> Result<Sim, SimError> {
    let addr =
        |offset: u16| SocketAddr::from(([127, 0, 0, 1], opts.base_port.map_or(0, |p| p + offset)));
    let mqtt = match opts.mqtt {
        Some(a) => a,
        None => {
            let settings = ronda_broker::EmbeddedBroker {
                listen: addr(83),
                max_connections: 100,
                segment_bytes: 1 << 20,
                segments: 4,
                ..Default::default()
            };
            ronda_broker::start_open(&settings).await?
        }
    };
    let (folder_root, temp) = match (opts.folder_root, opts.base_port) {
        (Some(p), _) => (p, None),
        // Fixed ports promise a config that stays valid: so does the folder.
        (None, Some(port)) => (std::env::temp_dir().join(format!("ronda-sim-{port}")), None),
        (None, None) => {
            let t = tempfile::Builder::new()
                .prefix("ronda-sim-")
                .tempdir()
                .map_err(SimError::Folder)?;
            (t.path().to_owned(), Some(t))
        }
    };
    let (mut devices, mut listening) = (Vec::new(), Vec::new());
    for (i, state) in office.into_iter().enumerate() {
        let offset = u16::try_from(i + 1).unwrap_or(u16::MAX);
        let at = addr(offset);
        devices.push(spawn_device(state, at, mqtt, &folder_root, &shutdown, &mut listening).await?);
    }
    mqtt_devices_listening(listening, mqtt).await;
    let control = serve(addr(0), control::router(devices.clone()), &shutdown).await?;
    tracing::info!(%control, devices = devices.len(), "simulated office running");
    Ok(Sim {
        devices,
        control,
        mqtt,
        folder_root,
        _temp: temp,
    })
}

async fn spawn_device(
    state: DeviceState,
    addr: SocketAddr,
    mqtt: SocketAddr,
    folder_root: &std::path::Path,
    shutdown: &CancellationToken,
    listening: &mut Vec<oneshot::Receiver<()>>,
) -> Result<Served, SimError> {
    let (id, kind) = (state.id.clone(), state.kind);
    let dev: Shared = Arc::new(Mutex::new(state));
    let stop = shutdown.clone();
    let guard = Guard {
        device: dev.clone(),
        shutdown: shutdown.clone(),
    };
    let http = |router: Router<()>| async {
        serve(addr, auth::layer(router, guard.clone(), kind), shutdown)
            .await
            .map(Some)
    };
    let addr = match kind {
        SimKind::Hikvision => http(hikvision::router(dev.clone(), stop.clone())).await?,
        SimKind::Dahua => http(dahua::router(dev.clone())).await?,
        SimKind::Onvif => http(onvif::router(dev.clone())).await?,
        SimKind::Frigate => http(frigate::router(dev.clone())).await?,
        SimKind::Tasmota => http(tasmota::router(dev.clone())).await?,
        SimKind::ShellyGen1 => http(shelly::gen1_router(dev.clone())).await?,
        SimKind::ShellyRpc => http(shelly::rpc_router(dev.clone())).await?,
        SimKind::Service => http(service::router(dev.clone())).await?,
        SimKind::HikvisionAccess => http(access::hikvision::router(dev.clone())).await?,
        SimKind::ZktecoPush => {
            // The device calls the agent: it listens on nothing.
            tokio::spawn(access::zkteco::run(dev.clone(), stop));
            None
        }
        SimKind::Rtsp => {
            let listener = bind(addr).await?;
            let local = listener
                .local_addr()
                .map_err(|error| SimError::Bind { addr, error })?;
            tokio::spawn(rtsp::serve(listener, dev.clone(), stop));
            Some(local)
        }
        SimKind::Folder => {
            let root = folder_root.join(&id);
            std::fs::create_dir_all(&root).map_err(SimError::Folder)?;
            tokio::spawn(folder::run(root, dev.clone(), stop));
            None
        }
        SimKind::TasmotaMqtt | SimKind::ShellyRpcMqtt | SimKind::Zigbee2mqtt => {
            let behaviour = match kind {
                SimKind::TasmotaMqtt => tasmota::mqtt_behaviour(&dev),
                SimKind::ShellyRpcMqtt => shelly::mqtt_behaviour(&dev),
                _ => zigbee2mqtt::mqtt_behaviour(&dev),
            };
            listening.push(mqtt_device::spawn(mqtt, dev.clone(), behaviour, stop));
            None
        }
    };
    Ok(Served {
        id,
        kind,
        addr,
        state: dev,
    })
}

/// Wait until the MQTT devices listen on their command topics, so that
/// the first question an agent asks is answered. An external broker that is
/// not up yet does not stop the office from starting: it is said, and the
/// devices keep trying.
async fn mqtt_devices_listening(listening: Vec<oneshot::Receiver<()>>, broker: SocketAddr) {
    let all = async {
        for device in listening {
            let _ = device.await;
        }
    };
    if tokio::time::timeout(MQTT_READY, all).await.is_err() {
        tracing::warn!(%broker, wait_s = MQTT_READY.as_secs(), "simulated MQTT devices are not subscribed yet");
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, SimError> {
    TcpListener::bind(addr)
        .await
        .map_err(|error| SimError::Bind { addr, error })
}

/// Serve `router` on `addr` until shutdown; returns the bound address.
async fn serve(
    addr: SocketAddr,
    router: Router,
    shutdown: &CancellationToken,
) -> Result<SocketAddr, SimError> {
    let listener = bind(addr).await?;
    let local = listener
        .local_addr()
        .map_err(|error| SimError::Bind { addr, error })?;
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move { stop.cancelled().await });
        if let Err(e) = served.await {
            tracing::error!(%local, error = %e, "simulated device server failed");
        }
    });
    Ok(local)
}
