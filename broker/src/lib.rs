//! The embedded MQTT broker (rumqttd), run in-process on its own threads.
//!
//! Used by the server, and by the office simulator for devices that speak MQTT.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

use serde::Deserialize;

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
}

impl Default for EmbeddedBroker {
    fn default() -> Self {
        EmbeddedBroker {
            listen: SocketAddr::from(([127, 0, 0, 1], 1883)),
            max_connections: 10_000,
            segment_bytes: 16 << 20,
            segments: 8,
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
}

/// Start the broker and return once it accepts connections.
///
/// rumqttd has no stop: its threads live as long as the process. Port 0 is
/// resolved here first, because rumqttd never tells which port it bound.
pub async fn start(settings: &EmbeddedBroker) -> Result<SocketAddr, BrokerError> {
    let addr = resolve(settings.listen)?;
    let mut broker = Broker::new(rumqttd_config(settings, addr));
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

fn rumqttd_config(s: &EmbeddedBroker, addr: SocketAddr) -> Config {
    let server = ServerSettings {
        name: "ronda-v4".into(),
        listen: addr,
        tls: None,
        next_connection_delay_ms: 1,
        connections: ConnectionSettings {
            connection_timeout_ms: 60_000,
            max_payload_size: MAX_PAYLOAD,
            max_inflight_count: 100,
            auth: None,
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
