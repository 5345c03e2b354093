//! The TLS client setup shared by IMAP and SMTP over implicit TLS: which servers to trust.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read the CA certificates in {path}: {detail}")]
    CaFile { path: PathBuf, detail: String },
    #[error("cannot set up TLS")]
    Rustls(#[source] rustls::Error),
}

/// Verifies servers against the Mozilla root certificates (webpki-roots, already built for
/// lettre's SMTP), and those of `ca_file` (a private CA) when given. The crypto provider
/// is named explicitly: two are compiled in (lettre brings ring, tokio-rustls aws-lc-rs),
/// and rustls refuses to guess between them.
pub fn connector(ca_file: Option<&Path>) -> Result<TlsConnector, TlsSetupError> {
    let mut roots =
        rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let ca_error = |detail: String| TlsSetupError::CaFile {
            path: path.to_path_buf(),
            detail,
        };
        let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
        let certificates = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ca_error(e.to_string()))?;
        if certificates.is_empty() {
            return Err(ca_error("no PEM certificate in it".into()));
        }
        for certificate in certificates {
            roots
                .add(certificate)
                .map_err(|e| ca_error(e.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsSetupError::Rustls)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}
