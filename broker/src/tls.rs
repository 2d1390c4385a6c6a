//! The TLS side of the gate: a server certificate and key from PEM files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use tokio_rustls::TlsAcceptor;

/// `broker.embedded.tls`: a second listener that speaks MQTT over TLS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsListener {
    /// Usually `0.0.0.0:8883`.
    pub listen: std::net::SocketAddr,
    /// The server certificate chain, PEM, leaf first.
    pub cert_file: PathBuf,
    /// Its private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{0} holds no PEM certificate")]
    NoCertificate(PathBuf),
    #[error("{0} holds no PEM private key")]
    NoKey(PathBuf),
    #[error("the certificate in {cert} and the key in {key} do not make a TLS server: {error}")]
    Config {
        cert: PathBuf,
        key: PathBuf,
        error: rustls::Error,
    },
}

/// Load the files now, so a wrong path stops the start with its name.
pub fn acceptor(t: &TlsListener) -> Result<TlsAcceptor, TlsError> {
    let certs: Vec<_> = rustls_pemfile::certs(&mut read(&t.cert_file)?.as_slice())
        .flatten()
        .collect();
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(t.cert_file.clone()));
    }
    let key = rustls_pemfile::private_key(&mut read(&t.key_file)?.as_slice())
        .ok()
        .flatten()
        .ok_or_else(|| TlsError::NoKey(t.key_file.clone()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|error| TlsError::Config {
            cert: t.cert_file.clone(),
            key: t.key_file.clone(),
            error,
        })?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::Read {
        path: path.to_owned(),
        error,
    })
}
