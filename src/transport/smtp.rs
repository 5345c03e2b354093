//! SMTP submission: our own TCP connections, each handed to lettre's SMTP client, security
//! as configured (none, STARTTLS or implicit TLS), kept open between mails.
//!
//! Why not lettre's pooled transport: it connects the socket itself and never sets
//! TCP_NODELAY, and lettre writes the final `\r\n.\r\n` of every mail as a separate 5-byte
//! write. Nagle then holds those bytes until the server's delayed ACK (~40 ms) comes, so
//! each mail took ~46 ms where Postfix answers in 3–6 ms. Connecting the stream ourselves
//! (`connect_with_transport`) lets us set it.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;

use super::SendError;
use super::tls::{self, TlsSetupError};
use crate::config::{Security, SmtpConfig};
use crate::domain::EmailAddress;

/// A whole SMTP conversation (connecting included) may not take longer than this; then it
/// is a transient failure.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// A connection left idle longer than this is checked with NOOP before it carries a mail:
/// the server may have closed it meanwhile. Within a burst the check would only cost a
/// round trip per mail.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(2);
/// lettre's default: PLAIN, then LOGIN.
const AUTH_MECHANISMS: &[Mechanism] = &[Mechanism::Plain, Mechanism::Login];

/// SMTP to the configured relay. Clones share the idle connections.
#[derive(Clone)]
pub struct SmtpTransport {
    inner: Arc<Relay>,
}

struct Relay {
    host: String,
    port: u16,
    security: Secured,
    credentials: Option<Credentials>,
    hello: ClientId,
    /// Connections that carried a mail successfully and may carry the next, newest last.
    idle: Mutex<Vec<IdleConnection>>,
    /// How many idle connections are kept (the outbox's parallel sends).
    keep_idle: usize,
    target: String,
}

enum Secured {
    Plain,
    /// STARTTLS after EHLO, by lettre.
    StartTls(TlsParameters),
    /// TLS from the first byte: the greeting already comes encrypted, so the handshake is
    /// ours, before lettre sees the stream.
    Tls(TlsConnector, ServerName<'static>),
}

struct IdleConnection {
    connection: AsyncSmtpConnection,
    since: Instant,
}

#[derive(Debug, thiserror::Error)]
pub enum SmtpConfigError {
    #[error("cannot set up SMTP to {target}")]
    Setup {
        target: String,
        source: lettre::transport::smtp::Error,
    },
    #[error("cannot read the CA certificates for SMTP in {path}")]
    CaFile {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot set up TLS for SMTP")]
    Tls(#[from] TlsSetupError),
    #[error("`{host}` is not a name a TLS certificate can be checked against")]
    TlsName { host: String },
}

/// Why an SMTP conversation failed.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("cannot connect to {target}")]
    Connect {
        target: String,
        #[source]
        source: io::Error,
    },
    #[error("TLS handshake with {target} failed")]
    Tls {
        target: String,
        #[source]
        source: io::Error,
    },
    #[error("no answer from {target} within {COMMAND_TIMEOUT:?}")]
    TimedOut { target: String },
    /// What the server said (or lettre's client saw).
    #[error(transparent)]
    Protocol(#[from] lettre::transport::smtp::Error),
}

impl SmtpError {
    /// A 5xx answer: trying again cannot help. Everything else may pass later.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Protocol(error) => error.is_permanent(),
            Self::Connect { .. } | Self::Tls { .. } | Self::TimedOut { .. } => false,
        }
    }
}

impl SmtpTransport {
    /// Keeps up to `config.connections` connections open between mails.
    pub fn new(config: &SmtpConfig) -> Result<Self, SmtpConfigError> {
        let target = format!("{}:{}", config.host, config.port);
        let security = match config.security {
            Security::None => Secured::Plain,
            Security::StartTls => Secured::StartTls(starttls_parameters(config, &target)?),
            Security::Tls => {
                let name = ServerName::try_from(config.host.clone()).map_err(|_| {
                    SmtpConfigError::TlsName {
                        host: config.host.clone(),
                    }
                })?;
                Secured::Tls(tls::connector(config.ca_file.as_deref())?, name)
            }
        };
        let credentials = config.username.as_ref().map(|username| {
            Credentials::new(username.clone(), config.password.expose().to_string())
        });
        Ok(Self {
            inner: Arc::new(Relay {
                host: config.host.clone(),
                port: config.port,
                security,
                credentials,
                hello: ClientId::default(),
                idle: Mutex::new(Vec::new()),
                keep_idle: config.connections.max(1),
                target: format!("SMTP {target} ({:?})", config.security),
            }),
        })
    }

    /// Sends one mail over an idle connection, or a new one. The connection is kept for the
    /// next mail only when this one went through: after any error lettre has already given
    /// it up (QUIT), and a timed-out one may be mid-reply.
    pub async fn send(
        &self,
        envelope_from: &EmailAddress,
        to: &EmailAddress,
        raw: &[u8],
    ) -> Result<(), SendError> {
        let address = |a: &EmailAddress| {
            a.as_str()
                .parse::<lettre::Address>()
                .map_err(|_| SendError::Envelope(a.to_string()))
        };
        let envelope = Envelope::new(Some(address(envelope_from)?), vec![address(to)?])
            .map_err(|_| SendError::Envelope(to.to_string()))?;
        let relay = &self.inner;
        let conversation = async {
            let mut connection = relay.connection().await?;
            connection.send(&envelope, raw).await?;
            Ok::<_, SmtpError>(connection)
        };
        let connection = tokio::time::timeout(COMMAND_TIMEOUT, conversation)
            .await
            .map_err(|_| SmtpError::TimedOut {
                target: relay.target.clone(),
            })??;
        relay.keep(connection);
        Ok(())
    }

    /// Connects, greets (with TLS and login as configured), says NOOP and QUIT: does the
    /// server answer, with this security?
    pub async fn check(&self) -> Result<(), String> {
        let relay = &self.inner;
        let conversation = async {
            let mut connection = relay.connect().await?;
            let answered = connection.test_connected().await;
            let _ = connection.quit().await;
            Ok::<_, SmtpError>(answered)
        };
        match tokio::time::timeout(COMMAND_TIMEOUT, conversation).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err("connected, but the server did not answer NOOP".into()),
            Ok(Err(error)) => Err(describe_check_failure(&error)),
            Err(_) => Err(format!(
                "server unreachable (no answer within {COMMAND_TIMEOUT:?})"
            )),
        }
    }

    pub fn describe(&self) -> String {
        self.inner.target.clone()
    }
}

impl Relay {
    /// The newest idle connection that still answers, else a new one.
    async fn connection(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        while let Some(idle) = self.take_idle() {
            let mut connection = idle.connection;
            if idle.since.elapsed() < CHECK_IDLE_AFTER || connection.test_connected().await {
                return Ok(connection);
            }
            connection.abort().await;
        }
        self.connect().await
    }

    fn take_idle(&self) -> Option<IdleConnection> {
        self.idle_list().pop()
    }

    fn keep(&self, connection: AsyncSmtpConnection) {
        if connection.has_broken() {
            return;
        }
        let mut idle = self.idle_list();
        if idle.len() < self.keep_idle {
            idle.push(IdleConnection {
                connection,
                since: Instant::now(),
            });
        }
    }

    fn idle_list(&self) -> std::sync::MutexGuard<'_, Vec<IdleConnection>> {
        // Plain data: a panic elsewhere while holding the lock leaves nothing half-done.
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new connection: TCP with TCP_NODELAY (see the module's comment), the greeting and
    /// EHLO, TLS as configured, then the login if credentials are set.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        let connect_error = |source| SmtpError::Connect {
            target: self.target.clone(),
            source,
        };
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(connect_error)?;
        tcp.set_nodelay(true).map_err(connect_error)?;
        let mut connection = match &self.security {
            Secured::Plain => {
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello).await?
            }
            Secured::StartTls(parameters) => {
                let mut connection =
                    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello).await?;
                connection.starttls(parameters.clone(), &self.hello).await?;
                connection
            }
            Secured::Tls(connector, name) => {
                let tls = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|source| SmtpError::Tls {
                        target: self.target.clone(),
                        source,
                    })?;
                let stream = Box::new(ImplicitTls(tls));
                AsyncSmtpConnection::connect_with_transport(stream, &self.hello).await?
            }
        };
        if let Some(credentials) = &self.credentials {
            connection.auth(AUTH_MECHANISMS, credentials).await?;
        }
        Ok(connection)
    }
}

/// STARTTLS is lettre's: it upgrades the stream we gave it, so it wants its own parameters.
fn starttls_parameters(
    config: &SmtpConfig,
    target: &str,
) -> Result<TlsParameters, SmtpConfigError> {
    let fail = |source| SmtpConfigError::Setup {
        target: target.to_string(),
        source,
    };
    let mut builder = TlsParameters::builder(config.host.clone());
    if let Some(path) = &config.ca_file {
        let pem = std::fs::read(path).map_err(|source| SmtpConfigError::CaFile {
            path: path.clone(),
            source,
        })?;
        builder = builder.add_root_certificate(Certificate::from_pem(&pem).map_err(fail)?);
    }
    builder.build().map_err(fail)
}

/// A TLS stream lettre can drive as if it were plain TCP (its `AsyncTokioStream`).
#[derive(Debug)]
struct ImplicitTls(TlsStream<TcpStream>);

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for ImplicitTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ImplicitTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

/// Which step failed — connecting, TLS or the login — so the operator knows what to fix.
fn describe_check_failure(error: &SmtpError) -> String {
    let error = match error {
        SmtpError::Connect { source, .. } => return format!("server unreachable: {source}"),
        SmtpError::Tls { source, .. } => return format!("TLS failed: {source}"),
        SmtpError::TimedOut { .. } => return format!("server unreachable: {error}"),
        SmtpError::Protocol(error) => error,
    };
    let io_cause = std::iter::successors(std::error::Error::source(error), |e| e.source())
        .find_map(|e| e.downcast_ref::<std::io::Error>());
    let login_refused = error
        .status()
        .is_some_and(|code| matches!(code.to_string().as_str(), "530" | "534" | "535" | "538"));
    // rustls reports a failed handshake through tokio-rustls as an InvalidData I/O error.
    let tls_refused = io_cause.is_some_and(|io| io.kind() == std::io::ErrorKind::InvalidData);
    if error.is_tls() || tls_refused {
        format!(
            "TLS failed: {}",
            io_cause.map_or(error.to_string(), ToString::to_string)
        )
    } else if login_refused {
        format!("login refused: {error}")
    } else if error.is_timeout() {
        format!("server unreachable (no answer in time): {error}")
    } else if let Some(io) = io_cause {
        format!("server unreachable: {io}")
    } else {
        error.to_string()
    }
}
