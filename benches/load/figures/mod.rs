//! Each figure of issue 14's table, measured beside its floor. A figure's `run` does one
//! round and records it in the table.

pub mod backlog;
pub mod deliver;
pub mod history;
pub mod latency;
pub mod outbox;
pub mod sweep;
