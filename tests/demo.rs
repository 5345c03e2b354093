//! `leadbot demo`, README's first command: it must run the whole life cycle on a fresh
//! machine with only PostgreSQL, and leave the mail it wrote where it says.

mod support;

use std::process::Command;

#[test]
fn the_demo_runs_the_whole_life_cycle_and_keeps_the_mail() {
    let dir = tempfile::tempdir().unwrap();
    let server = std::env::var("LEADBOT_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let output = Command::new(env!("CARGO_BIN_EXE_leadbot"))
        .arg("demo")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", server)
        .output()
        .expect("run leadbot demo");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
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
