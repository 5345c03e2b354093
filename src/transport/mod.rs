//! Getting bytes to and from mail servers (or a folder). Transports know nothing of leads:
//! outbound ones take an envelope and an RFC 5322 message and say whether it went, and if
//! not, whether trying again later could help; `imap` fetches raw messages by UID and marks
//! them done.

pub mod file;
pub mod imap;
pub mod smtp;
pub mod tls;

use std::sync::{Arc, Mutex};

use crate::config::Config;
use crate::domain::EmailAddress;

/// Where outbound mail goes.
#[derive(Clone)]
pub enum MailTransport {
    /// SMTP to the configured relay, over connections kept open between mails.
    Smtp(smtp::SmtpTransport),
    /// `NNN.eml` files in a folder: the demo, and operators without a relay.
    File(file::FileTransport),
    /// Kept in memory, for tests that inspect what was sent or inject failures.
    Memory(MemoryTransport),
}

/// Why a message was not handed over.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The SMTP server answered with an error, or could not be reached.
    #[error("SMTP: {0}")]
    Smtp(#[from] smtp::SmtpError),
    #[error("cannot write {path}")]
    File {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("`{0}` cannot be used in an SMTP envelope")]
    Envelope(String),
    /// A failure a test asked for.
    #[error("{message}")]
    Injected { message: String, permanent: bool },
}

impl SendError {
    /// Worth retrying later: the server said 4xx, or could not be reached at all (connection
    /// refused, timeout, TLS hiccup). Everything that is not permanent is transient.
    pub fn is_transient(&self) -> bool {
        !self.is_permanent()
    }

    /// Retrying cannot help: the server said 5xx (unknown recipient, rejected content), or
    /// the envelope itself is unusable.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Smtp(error) => error.is_permanent(),
            Self::Envelope(_) => true,
            Self::File { .. } => false,
            Self::Injected { permanent, .. } => *permanent,
        }
    }
}

impl MailTransport {
    /// SMTP when `[smtp]` is configured, else `.eml` files in `bot.outbox_dir` (`./outbox`).
    pub fn from_config(config: &Config) -> Result<Self, smtp::SmtpConfigError> {
        match &config.smtp {
            Some(smtp) => Ok(Self::Smtp(smtp::SmtpTransport::new(smtp)?)),
            None => Ok(Self::File(file::FileTransport::new(
                config
                    .bot
                    .outbox_dir
                    .clone()
                    .unwrap_or_else(|| "outbox".into()),
            ))),
        }
    }

    /// Hands one message over for delivery to `to`, from `envelope_from` (the bounce address).
    pub async fn send(
        &self,
        envelope_from: &EmailAddress,
        to: &EmailAddress,
        raw: &[u8],
    ) -> Result<(), SendError> {
        match self {
            Self::Smtp(smtp) => smtp.send(envelope_from, to, raw).await,
            Self::File(file) => file.send(raw).await,
            Self::Memory(memory) => memory.send(envelope_from, to, raw),
        }
    }

    /// Where mail goes, for logs and `leadbot check`.
    pub fn describe(&self) -> String {
        match self {
            Self::Smtp(smtp) => smtp.describe(),
            Self::File(file) => format!("files in {}", file.dir().display()),
            Self::Memory(_) => "memory".into(),
        }
    }
}

/// One message as the memory transport received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub envelope_from: String,
    pub to: String,
    pub raw: Vec<u8>,
}

/// Records what it is given; can be told to fail the next sends, transiently or permanently.
#[derive(Debug, Clone, Default)]
pub struct MemoryTransport {
    inner: Arc<Mutex<MemoryState>>,
}

#[derive(Debug, Default)]
struct MemoryState {
    sent: Vec<SentMessage>,
    /// Failures to return, oldest first, before sends succeed again.
    failures: Vec<(String, bool)>,
}

impl MemoryTransport {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next send fails with `message`; permanent like a 5xx, else like a 4xx.
    pub fn fail_next(&self, message: &str, permanent: bool) {
        self.state().failures.push((message.into(), permanent));
    }

    pub fn sent(&self) -> Vec<SentMessage> {
        self.state().sent.clone()
    }

    fn send(&self, from: &EmailAddress, to: &EmailAddress, raw: &[u8]) -> Result<(), SendError> {
        let mut state = self.state();
        if !state.failures.is_empty() {
            let (message, permanent) = state.failures.remove(0);
            return Err(SendError::Injected { message, permanent });
        }
        state.sent.push(SentMessage {
            envelope_from: from.to_string(),
            to: to.to_string(),
            raw: raw.to_vec(),
        });
        Ok(())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // A test that panicked while holding the lock leaves plain data behind: keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}
