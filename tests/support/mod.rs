//! Shared test support: each integration test binary includes it with `mod support;` and
//! uses what it needs.
// Each test binary compiles this module on its own and uses only part of it.
#![allow(dead_code)]

pub mod db;
pub mod mailstack;

// Not every test binary uses the mail stack.
#[allow(unused_imports)]
pub use mailstack::MailStack;
