//! Use cases: each one runs in one database transaction and knows nothing of transports,
//! except the outbox worker, which hands queued mail to one, and the IMAP listener,
//! which feeds ingest from a mailbox without looking inside the messages.

pub mod act;
mod answers;
mod bounce;
pub mod clock;
mod correlate;
pub mod digest;
pub mod explain;
pub mod handled;
pub mod ingest;
pub mod listener;
pub mod lookups;
pub mod loops;
pub mod notify;
pub mod outbox;
pub mod reply;
pub mod routing;
pub mod scheduler;
mod unmatched;
