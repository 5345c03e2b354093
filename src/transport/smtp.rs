//! SMTP submission with lettre: one pooled connection set per process, security as
//! configured (none, STARTTLS or implicit TLS).

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::SendError;
use crate::config::{Security, SmtpConfig};
use crate::domain::EmailAddress;

/// A whole SMTP conversation may not take longer than this; then it is a transient failure.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
    target: String,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot set up SMTP to {target}")]
pub struct SmtpConfigError {
    target: String,
    source: lettre::transport::smtp::Error,
}

impl SmtpTransport {
    pub fn new(config: &SmtpConfig) -> Result<Self, SmtpConfigError> {
        let target = format!("{}:{}", config.host, config.port);
        let fail = |source| SmtpConfigError {
            target: target.clone(),
            source,
        };
        let tls = match config.security {
            Security::None => Tls::None,
            Security::StartTls => {
                Tls::Required(TlsParameters::new(config.host.clone()).map_err(fail)?)
            }
            Security::Tls => Tls::Wrapper(TlsParameters::new(config.host.clone()).map_err(fail)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(COMMAND_TIMEOUT))
            .pool_config(PoolConfig::new().max_size(4));
        if let Some(username) = &config.username {
            builder = builder.credentials(Credentials::new(
                username.clone(),
                config.password.expose().to_string(),
            ));
        }
        Ok(Self {
            inner: builder.build(),
            target: format!("SMTP {target} ({:?})", config.security),
        })
    }

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
        self.inner.send_raw(&envelope, raw).await?;
        Ok(())
    }

    /// Connects, greets and says QUIT: does the server answer, with this security?
    pub async fn check(&self) -> Result<(), String> {
        match self.inner.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err("connected, but the server did not answer NOOP".into()),
            Err(error) => Err(describe_check_failure(&error)),
        }
    }

    pub fn describe(&self) -> String {
        self.target.clone()
    }
}

/// Which step failed — connecting, TLS or the login — so the operator knows what to fix.
fn describe_check_failure(error: &lettre::transport::smtp::Error) -> String {
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
