//! The byte stream under the IMAP session: plain TCP, or TLS checked against the bundled
//! roots and an optional private CA.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;

use super::{ImapError, within};
use crate::config::ImapConfig;
use crate::transport::tls::{self, TlsSetupError};

pub(super) async fn tls_handshake(
    tcp: TcpStream,
    config: &ImapConfig,
    limit: Duration,
) -> Result<MailStream, ImapError> {
    let host = config.host.as_str();
    let server_name = ServerName::try_from(host.to_string()).map_err(|_| ImapError::TlsName {
        host: host.to_string(),
    })?;
    let tls = within(
        limit,
        "negotiating TLS",
        tls_connector(config.ca_file.as_deref())?.connect(server_name, tcp),
    )
    .await?
    .map_err(|source| ImapError::Tls {
        host: host.to_string(),
        source,
    })?;
    Ok(MailStream::Tls(Box::new(tls)))
}

/// The shared TLS setup ([`crate::transport::tls::connector`]), its errors said as IMAP's.
fn tls_connector(ca_file: Option<&Path>) -> Result<TlsConnector, ImapError> {
    tls::connector(ca_file).map_err(|error| match error {
        TlsSetupError::CaFile { path, detail } => ImapError::CaFile { path, detail },
        TlsSetupError::Rustls(source) => ImapError::TlsSetup { source },
    })
}

/// The connection under the IMAP session: plain TCP (also before STARTTLS) or TLS.
#[derive(Debug)]
pub(super) enum MailStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for MailStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Self::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MailStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Self::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Self::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Self::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_connector_builds_with_the_bundled_roots() {
        assert!(tls_connector(None).is_ok());
    }

    #[test]
    fn an_unusable_ca_file_is_a_configuration_error() {
        let Err(missing) = tls_connector(Some(Path::new("/nonexistent/ca.pem"))) else {
            panic!("a missing file is refused");
        };
        assert!(
            missing.to_string().contains("/nonexistent/ca.pem"),
            "{missing}"
        );
        assert!(!missing.is_transient());
        let folder = tempfile::tempdir().unwrap();
        let not_pem = folder.path().join("ca.pem");
        std::fs::write(&not_pem, "not a certificate").unwrap();
        let Err(error) = tls_connector(Some(&not_pem)) else {
            panic!("no certificate in it");
        };
        assert!(error.to_string().contains("no PEM certificate"), "{error}");
    }
}
