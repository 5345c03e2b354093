//! Use cases: each one runs in one database transaction and knows nothing of transports
//! (the IMAP listener only feeds ingest; it never looks inside the messages).

pub mod act;
pub mod explain;
pub mod ingest;
pub mod listener;
