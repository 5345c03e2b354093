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

    pub fn describe(&self) -> String {
        self.target.clone()
    }
}
