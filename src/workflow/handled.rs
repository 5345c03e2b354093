//! What became of one inbound message, and why handling it can fail: shared by ingest and
//! the reply path it hands replies to, so that imports run one way (ingest → reply → here).

use crate::domain::LeadId;
use crate::mail::MailClass;
use crate::store::StoreError;
use crate::workflow::notify::NotifyError;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A template failed to render: a bug, but the message stays unprocessed, not lost.
    #[error(transparent)]
    Notify(#[from] NotifyError),
}

impl IngestError {
    /// The database is unreachable or restarting: try the same message again later. Any
    /// other failure would fail again, so the message is quarantined instead.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Store(error) | Self::Notify(NotifyError::Store(error)) => error.is_transient(),
            Self::Notify(NotifyError::Render(_)) => false,
        }
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Already recorded earlier (same Message-ID or same bytes): nothing was done again.
    Duplicate,
    LeadsCreated(Vec<LeadId>),
    /// A reply's command changed a lead.
    Applied(String),
    /// A reply changed nothing and its sender was told (why, or what they asked for).
    Answered(String),
    /// Bounce, auto-reply or list mail: recorded, never answered.
    Automated(MailClass),
    Quarantined(String),
    Ignored(String),
}

impl std::fmt::Display for Handled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Duplicate => f.write_str("already recorded earlier; nothing done again"),
            Self::LeadsCreated(ids) if ids.is_empty() => {
                f.write_str("no new lead (already created)")
            }
            Self::LeadsCreated(ids) => {
                let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
                write!(f, "created {}", ids.join(", "))
            }
            Self::Applied(what) => write!(f, "applied {what}"),
            Self::Answered(why) => write!(f, "answered: {why}"),
            Self::Automated(class) => write!(f, "recorded as automated mail ({class:?})"),
            Self::Quarantined(reason) => write!(f, "quarantined: {reason}"),
            Self::Ignored(reason) => write!(f, "recorded, not acted on: {reason}"),
        }
    }
}
