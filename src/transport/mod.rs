//! Transports move mail in and out; they know nothing of leads.

pub mod imap;
