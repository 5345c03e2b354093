//! leadbot: partner leads and referrals, driven by email.
//!
//! The layers, from the inside out: [`domain`] (pure rules), [`mail`] (understanding and
//! writing mail, no I/O), [`store`] (PostgreSQL), [`transport`] (IMAP, SMTP, MTA pipe),
//! [`workflow`] (one message → one transaction; the outbox worker; the scheduler) and
//! [`cli`] (the command line).

pub mod cli;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod domain;
pub mod mail;
pub mod store;
pub mod telemetry;
pub mod transport;
pub mod views;
pub mod workflow;
