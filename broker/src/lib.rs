//! The embedded MQTT broker (rumqttd), run in-process on its own threads.
//!
//! The server runs it behind [`gate`], which enforces office credentials and
//! topic rights; the office simulator runs it open ([`start_open`]) for
//! devices that speak MQTT.

pub mod acl;
pub mod gate;
pub mod tls;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use rumqttd::protocol::Login;
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};
use serde::Deserialize;

pub use gate::Guard;
pub use tls::TlsListener;

/// The user rumqttd knows: the gate and the server log in as it.
pub const INTERNAL_USER: &str = "ronda-internal";

/// Largest MQTT payload the broker accepts.
pub const MAX_PAYLOAD: usize = 1 << 20;

/// The in-process rumqttd broker. It keeps every message of a subscription in
/// memory segments: `segment_bytes × segments` bounds that memory, and a
/// subscriber that falls further behind than that silently misses messages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbeddedBroker {
    pub listen: SocketAddr,
    pub max_connections: usize,
    pub segment_bytes: usize,
    pub segments: usize,
    /// Let clients without a username in, unconfined. Only for a closed test
    /// network: an anonymous client can publish as any office.
    pub allow_anonymous: bool,
    /// A second listener speaking MQTT over TLS.
    pub tls: Option<TlsListener>,
}

impl Default for EmbeddedBroker {
    fn default() -> Self {
        EmbeddedBroker {
            listen: SocketAddr::from(([127, 0, 0, 1], 1883)),
            max_connections: 10_000,
            segment_bytes: 16 << 20,
            segments: 8,
            allow_anonymous: false,
            tls: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("cannot listen on {addr}: {error}")]
    Bind {
        addr: SocketAddr,
        error: std::io::Error,
    },
    #[error("embedded broker did not start listening on {0} within 10s")]
    NotListening(SocketAddr),
    #[error("cannot start the embedded broker thread: {0}")]
    Thread(std::io::Error),
    #[error("broker.embedded.tls: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("no randomness for the broker's internal password: {0}")]
    Random(getrandom::Error),
}

/// A broker behind its gate: where clients connect, and how the server
/// reaches rumqttd directly. Not `Debug`: it holds the internal password.
pub struct Gated {
    pub addr: SocketAddr,
    pub tls_addr: Option<SocketAddr>,
    pub internal_addr: SocketAddr,
    pub internal_password: String,
}

/// Start rumqttd on loopback and the gate on the configured listeners.
pub async fn start(settings: &EmbeddedBroker, guard: Arc<dyn Guard>) -> Result<Gated, BrokerError> {
    open_files_for(settings.max_connections);
    let plain = bind(settings.listen).await?;
    let tls = match &settings.tls {
        Some(t) => Some((tls::acceptor(t)?, bind(t.listen).await?, t.listen)),
        None => None,
    };
    let internal_password = random_password()?;
    let auth = HashMap::from([(INTERNAL_USER.to_owned(), internal_password.clone())]);
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let internal_addr = run_rumqttd(settings, loopback, Some(auth)).await?;
    let gate = Arc::new(gate::Gate {
        upstream: internal_addr,
        internal: Login {
            username: INTERNAL_USER.to_owned(),
            password: internal_password.clone(),
        },
        allow_anonymous: settings.allow_anonymous,
        guard,
        max_packet: MAX_PAYLOAD + 4096,
        limits: gate::Limits::default(),
    });
    let addr = local_addr(&plain, settings.listen)?;
    tokio::spawn(gate::serve(plain, gate.clone(), None));
    let tls_addr = match tls {
        Some((acceptor, listener, asked)) => {
            let a = local_addr(&listener, asked)?;
            tokio::spawn(gate::serve(listener, gate, Some(acceptor)));
            Some(a)
        }
        None => None,
    };
    tracing::info!(%addr, ?tls_addr, anonymous = settings.allow_anonymous, "MQTT gate listening");
    Ok(Gated {
        addr,
        tls_addr,
        internal_addr,
        internal_password,
    })
}

/// Start an open broker (no gate, no credentials) on `settings.listen`: the
/// office simulator's device broker. Returns once it accepts connections.
pub async fn start_open(settings: &EmbeddedBroker) -> Result<SocketAddr, BrokerError> {
    run_rumqttd(settings, settings.listen, None).await
}

/// rumqttd has no stop: its threads live as long as the process. Port 0 is
/// resolved here first, because rumqttd never tells which port it bound.
async fn run_rumqttd(
    settings: &EmbeddedBroker,
    listen: SocketAddr,
    auth: Option<HashMap<String, String>>,
) -> Result<SocketAddr, BrokerError> {
    let addr = resolve(listen)?;
    let mut broker = Broker::new(rumqttd_config(settings, addr, auth));
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded broker stopped");
            }
        })
        .map_err(BrokerError::Thread)?;
    wait_until_listening(addr).await?;
    tracing::info!(%addr, "embedded MQTT broker listening");
    Ok(addr)
}

async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, BrokerError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|error| BrokerError::Bind { addr, error })
}

fn local_addr(l: &tokio::net::TcpListener, asked: SocketAddr) -> Result<SocketAddr, BrokerError> {
    l.local_addr()
        .map_err(|error| BrokerError::Bind { addr: asked, error })
}

fn random_password() -> Result<String, BrokerError> {
    let mut bytes = [0u8; 24];
    getrandom::getrandom(&mut bytes).map_err(BrokerError::Random)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn resolve(addr: SocketAddr) -> Result<SocketAddr, BrokerError> {
    // Binding here also turns "address in use" into a clear error now,
    // rather than a log line from rumqttd's thread later.
    let probe = TcpListener::bind(addr).map_err(|error| BrokerError::Bind { addr, error })?;
    probe
        .local_addr()
        .map_err(|error| BrokerError::Bind { addr, error })
}

async fn wait_until_listening(addr: SocketAddr) -> Result<(), BrokerError> {
    let target = if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    let attempts = async {
        while tokio::net::TcpStream::connect(target).await.is_err() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), attempts)
        .await
        .map_err(|_| BrokerError::NotListening(addr))
}

fn rumqttd_config(
    s: &EmbeddedBroker,
    addr: SocketAddr,
    auth: Option<HashMap<String, String>>,
) -> Config {
    let server = ServerSettings {
        name: "ronda-v4".into(),
        listen: addr,
        tls: None,
        next_connection_delay_ms: 1,
        connections: ConnectionSettings {
            connection_timeout_ms: 60_000,
            max_payload_size: MAX_PAYLOAD,
            max_inflight_count: 100,
            auth,
            external_auth: None,
            dynamic_filters: true,
        },
    };
    Config {
        id: 0,
        router: RouterConfig {
            max_connections: s.max_connections,
            max_outgoing_packet_count: 200,
            max_segment_size: s.segment_bytes,
            max_segment_count: s.segments,
            ..RouterConfig::default()
        },
        v4: Some(HashMap::from([("ronda".to_owned(), server)])),
        ..Config::default()
    }
}

/// Sockets one agent holds in this process: the gate's two ends and
/// rumqttd's end of the hop between them.
const FILES_PER_CLIENT: u64 = 3;

/// Raise the open-files limit as far as `max_connections` needs (the soft
/// limit is often 1,024, far below the hard one), and say so when the hard
/// limit holds fewer agents: past it, new agents are refused.
fn open_files_for(max_connections: usize) {
    let want = FILES_PER_CLIENT * max_connections as u64 + 256;
    match rlimit::increase_nofile_limit(want) {
        Ok(got) if got < want => tracing::warn!(
            limit = got,
            agents = got.saturating_sub(256) / FILES_PER_CLIENT,
            max_connections,
            "the open-files limit holds fewer agents than broker.embedded.max_connections (each holds {FILES_PER_CLIENT}); raise it (systemd LimitNOFILE, ulimit -n)"
        ),
        Ok(got) => tracing::debug!(limit = got, "open-files limit"),
        Err(e) => tracing::warn!(error = %e, "cannot read or raise the open-files limit"),
    }
}
