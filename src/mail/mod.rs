//! Mail as leadbot writes it: reply tokens, outbound messages and their templates.

pub mod outgoing;
pub mod templates;
pub mod token;
