//! Mail, with no I/O. Inbound: parse raw bytes into an
//! [`InboundMail`], classify it (reply, request, bounce, auto-reply, list),
//! and extract the new text of a reply so that a contact's command is read
//! from what they typed and never from the quoted history.
//!
//! ```text
//! raw bytes ──parse──▶ InboundMail ──classify──▶ MailClass
//!                          │ text
//!                          └──reply_text──▶ new text (no quotes, no signature)
//! ```
//!
//! Outbound: signed reply tokens, messages with threading headers, and their templates.

pub mod bounce;
pub mod chart;
pub mod classify;
pub mod digest;
pub mod html;
pub mod identity;
mod lowercase;
pub mod one_line;
pub mod outgoing;
pub mod parse;
mod patterns;
pub mod quote;
pub mod reply;
pub mod rfi;
pub mod templates;
pub mod token;
mod typography;

pub use classify::{ClassifyContext, MailClass, classify, lead_tag, plus_token};
pub use html::html_to_text;
pub use parse::{
    Attachment, InboundMail, MAX_MESSAGE_BYTES, Mailbox, ParseError, RawHeader, parse,
};
pub use reply::{reply_text, strip_signature};
