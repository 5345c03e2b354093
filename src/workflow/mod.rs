//! Use cases: each one runs in one database transaction and knows nothing of transports.

pub mod act;
pub mod explain;
pub mod ingest;
