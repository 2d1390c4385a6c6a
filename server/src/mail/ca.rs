//! `mail.smtp.ca_file`: the CA that signed a regency's own mail server's
//! certificate. Read at load, so `check` and `run` name a missing file, a
//! file that is not PEM or one without a certificate, before any mail waits.

use std::fmt;
use std::path::{Path, PathBuf};

use lettre::transport::smtp::client::{Certificate, CertificateStore, TlsParameters};
use rustls::pki_types::pem::{self, SectionKind};
use rustls::pki_types::CertificateDer;

/// The certificates of `ca_file`, checked, and where they came from.
#[derive(Clone)]
pub struct SmtpCa {
    pub path: PathBuf,
    certs: Vec<CertificateDer<'static>>,
}

impl fmt::Debug for SmtpCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SmtpCa({}, {} certificates)",
            self.path.display(),
            self.certs.len()
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("cannot read {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{0} is not PEM: expected a -----BEGIN CERTIFICATE----- block")]
    NotPem(PathBuf),
    #[error("{path} holds no certificate (only {found}); give the CA's certificate")]
    NoCertificate { path: PathBuf, found: String },
    #[error("{path}: certificate {index} is not a valid X.509 certificate: {reason}")]
    Bad {
        path: PathBuf,
        index: usize,
        reason: String,
    },
}

/// Read and check the CA file at `path`.
pub fn load(path: &Path) -> Result<SmtpCa, CaError> {
    let bytes = std::fs::read(path).map_err(|error| CaError::Read {
        path: path.to_owned(),
        error,
    })?;
    let (certs, others) = sections(&bytes).map_err(|_| CaError::NotPem(path.to_owned()))?;
    if certs.is_empty() && others.is_empty() {
        return Err(CaError::NotPem(path.to_owned()));
    }
    if certs.is_empty() {
        return Err(CaError::NoCertificate {
            path: path.to_owned(),
            found: others.join(", "),
        });
    }
    // The parse rustls will do at connect time, done now.
    let mut store = rustls::RootCertStore::empty();
    for (i, c) in certs.iter().enumerate() {
        store.add(c.clone()).map_err(|e| CaError::Bad {
            path: path.to_owned(),
            index: i + 1,
            reason: e.to_string(),
        })?;
    }
    Ok(SmtpCa {
        path: path.to_owned(),
        certs,
    })
}

/// The certificates in a PEM text, and the names of the other sections.
fn sections(bytes: &[u8]) -> Result<(Vec<CertificateDer<'static>>, Vec<String>), pem::Error> {
    let mut reader = bytes;
    let (mut certs, mut others) = (Vec::new(), Vec::new());
    while let Some((kind, der)) = pem::from_buf(&mut reader)? {
        match kind {
            SectionKind::Certificate => certs.push(CertificateDer::from(der)),
            other => others.push(what(other).to_owned()),
        }
    }
    Ok((certs, others))
}

/// A PEM block that is not a certificate, in words.
fn what(kind: SectionKind) -> &'static str {
    match kind {
        SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey => {
            "a private key"
        }
        SectionKind::PublicKey => "a public key",
        SectionKind::Csr => "a certificate request",
        SectionKind::Crl => "a revocation list",
        _ => "another kind of PEM block",
    }
}

impl SmtpCa {
    /// TLS settings for `host` that trust this CA and nothing else, as the
    /// broker's `ca_file` does: a private CA for a private server.
    pub fn tls_parameters(
        &self,
        host: &str,
    ) -> Result<TlsParameters, lettre::transport::smtp::Error> {
        let mut b =
            TlsParameters::builder(host.to_owned()).certificate_store(CertificateStore::None);
        for c in &self.certs {
            b = b.add_root_certificate(Certificate::from_der(c.to_vec())?);
        }
        b.build_rustls()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let e = load(&dir.path().join("nope.pem")).unwrap_err().to_string();
        assert!(e.contains("nope.pem") && e.contains("cannot read"), "{e}");
    }

    #[test]
    fn a_file_that_is_not_pem_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "ca.der", "this is not a certificate\n");
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("ca.der") && e.contains("is not PEM"), "{e}");
    }

    #[test]
    fn a_key_instead_of_a_certificate_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
        let p = write(dir.path(), "ca.key", &key);
        let e = load(&p).unwrap_err().to_string();
        assert!(
            e.contains("ca.key") && e.contains("holds no certificate (only a private key)"),
            "{e}"
        );
    }

    #[test]
    fn a_broken_certificate_is_named_with_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let text = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let p = write(dir.path(), "ca.pem", text);
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("ca.pem: certificate 1 is not"), "{e}");
    }

    #[test]
    fn a_ca_certificate_loads() {
        let dir = tempfile::tempdir().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = params
            .self_signed(&rcgen::KeyPair::generate().unwrap())
            .unwrap();
        let p = write(dir.path(), "ca.pem", &cert.pem());
        let ca = load(&p).unwrap();
        assert_eq!(ca.certs.len(), 1);
        assert!(ca.tls_parameters("mail.kotim.go.id").is_ok());
    }
}
