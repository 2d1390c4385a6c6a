//! A throwaway certificate authority and a server certificate for
//! 127.0.0.1, for tests of TLS (HTTPS, MQTT over TLS).

use std::path::{Path, PathBuf};

pub struct TestCa {
    pub ca_pem: String,
    pub(crate) server_pem: String,
    pub(crate) server_key: String,
}

impl TestCa {
    pub fn new() -> TestCa {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // Names of their own: with rcgen's one default name on both, OpenSSL
        // (a Mosquitto bridge) takes the server's certificate for
        // self-signed and refuses it.
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Ronda test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let mut server =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        server
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let server = server.signed_by(&key, &ca).unwrap();
        TestCa {
            ca_pem: ca.pem(),
            server_pem: server.pem(),
            server_key: key.serialize_pem(),
        }
    }

    /// Write the CA certificate where a client can read it.
    pub fn write_ca(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.ca_pem).unwrap();
        path
    }

    /// Write the server's certificate and key; their paths.
    pub fn server_files(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
        std::fs::write(&cert, &self.server_pem).unwrap();
        std::fs::write(&key, &self.server_key).unwrap();
        (cert, key)
    }
}

impl Default for TestCa {
    fn default() -> TestCa {
        TestCa::new()
    }
}
