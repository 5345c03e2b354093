//! `leadbot demo`, README's first command: it must run the whole life cycle on a fresh
//! machine with only PostgreSQL, and leave the mail it wrote where it says.

mod support;

use std::process::Command;

/// Runs `leadbot demo` in `dir` with only PATH and DATABASE_URL set; its standard output.
fn run_demo(dir: &std::path::Path, database_url: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_leadbot"))
        .arg("demo")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .output()
        .expect("run leadbot demo");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

#[test]
fn the_demo_runs_the_whole_life_cycle_and_keeps_the_mail() {
    let dir = tempfile::tempdir().unwrap();
    let server = std::env::var("LEADBOT_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let text = run_demo(dir.path(), &server);
    for expected in [
        "now won",
        "now declined",
        "now accepted",
        "now expired",
        "first reminder",
        "final reminder",
        "hot_window_closed",
        "Nouvelle demande",
    ] {
        assert!(
            text.contains(expected),
            "the demo output lacks {expected:?}:\n{text}"
        );
    }
    let mails = std::fs::read_dir(dir.path().join("leadbot-demo/outbox"))
        .unwrap()
        .count();
    assert!(mails >= 20, "only {mails} mails written");
    assert!(text.contains(&format!("{mails} messages in leadbot-demo/outbox/")));
}

/// With no PostgreSQL at the address it is given, the demo runs on a private cluster of its
/// own, says so, and leaves no server process and no folder behind.
#[test]
fn without_a_server_the_demo_runs_on_a_private_cluster_and_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let nothing_listens = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let text = run_demo(
        dir.path(),
        &format!("postgres://postgres@127.0.0.1:{nothing_listens}/postgres"),
    );
    assert!(
        text.contains("now won"),
        "the life cycle did not run:\n{text}"
    );
    let database_line = text
        .lines()
        .find(|line| line.starts_with("Database: "))
        .unwrap_or_else(|| panic!("the demo does not say which database it used:\n{text}"));
    let folder = database_line
        .split_once("a private PostgreSQL in ")
        .and_then(|(_, rest)| rest.split_once(" (removed"))
        .map(|(folder, _)| std::path::PathBuf::from(folder))
        .unwrap_or_else(|| panic!("not on a private cluster: {database_line}"));
    let port: u16 = database_line
        .split_once("127.0.0.1:")
        .and_then(|(_, rest)| rest.split_once('/'))
        .and_then(|(port, _)| port.parse().ok())
        .unwrap_or_else(|| panic!("no port in {database_line}"));
    assert!(text.contains("The private PostgreSQL was stopped and its folder removed."));
    assert!(!folder.exists(), "{} remains", folder.display());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "a server still listens on the private cluster's port {port}"
    );
    let needle = folder.to_string_lossy().into_owned();
    let remaining: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline.contains(&needle).then_some(cmdline)
        })
        .collect();
    assert!(remaining.is_empty(), "processes remain: {remaining:?}");
}
