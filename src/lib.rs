//! leadbot: partner leads and referrals, driven by email.
//!
//! The layers, from the inside out: [`domain`] (pure rules), `store` (PostgreSQL),
//! `mail` (understanding and writing mail), `transport` (IMAP, SMTP, MTA pipe),
//! `workflow` (one message → one transaction; the outbox worker; the scheduler) and
//! `cli` (the command line).

pub mod cli;
pub mod config;
pub mod domain;
pub mod mail;
pub mod store;
pub mod telemetry;
pub mod transport;
pub mod views;
pub mod workflow;
