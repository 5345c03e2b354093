//! Shared helpers for integration tests. Include with `mod support;` in a test file.
// Each test binary compiles this module on its own and uses only part of it.
#![allow(dead_code)]

pub mod cluster;
pub mod daemon;
pub mod db;
pub mod fixtures;
pub mod leadbot;
pub mod listener;
pub mod mailstack;

#[allow(unused_imports)]
pub use mailstack::MailStack;
