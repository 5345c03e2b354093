//! Shared test support: each integration test binary includes it with `mod support;` and
//! uses what it needs.
#![allow(dead_code)]

pub mod db;
