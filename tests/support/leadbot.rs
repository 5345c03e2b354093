//! Running the `leadbot` binary the way an operator or an MTA does, against a test database.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// `leadbot ARGS` with exactly `env` (plus PATH), like a fresh shell would.
pub fn run(env: &[(String, String)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leadbot"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("run leadbot")
}

/// `leadbot deliver` with `raw` on standard input (the MTA-pipe path).
pub fn deliver(env: &[(String, String)], raw: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_leadbot"))
        .arg("deliver")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run leadbot deliver");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(raw)
        .expect("write message");
    child.wait_with_output().expect("leadbot deliver finishes")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}
