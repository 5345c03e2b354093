//! SIGTERM: `leadbot run` stops claiming work, finishes the send in flight, and exits 0
//! within 5 s whatever is queued; a send still unanswered by then is abandoned and its row
//! stays queued, to be sent again.

mod support;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::MailStack;
use support::db::{TestDb, seed_directory};

/// The bound README promises, inside systemd's TimeoutStopSec of 30 s.
const STOP_WITHIN: Duration = Duration::from_secs(5);

/// `count` queued mails to alice, as a backlog the outbox worker has to work through.
async fn queue_backlog(db: &TestDb, count: i32) {
    sqlx::query(
        "INSERT INTO outbox (template, recipient, subject, message_id, text_body)
         SELECT 'information', 'alice@contoso.test', 'Backlog ' || g,
                'backlog-' || g || '@leads.example.test', 'Mail number ' || g
         FROM generate_series(1, $1) g",
    )
    .bind(count)
    .execute(&db.pool)
    .await
    .unwrap();
}

/// (queued, sent, failed) among the backlog's mails — not the digests the scheduler may
/// queue meanwhile.
async fn outbox_states(db: &TestDb) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE state = 'sent'),
                count(*) FILTER (WHERE state = 'failed') FROM outbox
         WHERE message_id LIKE 'backlog-%'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

/// `leadbot run` without IMAP, sending through SMTP at `smtp_port`.
fn start_daemon(db: &TestDb, smtp_port: u16) -> Child {
    let http_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_leadbot"))
        .arg("run")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LEADBOT_LOG", "info")
        .envs(db.env())
        .env("LEADBOT_SMTP_HOST", "127.0.0.1")
        .env("LEADBOT_SMTP_PORT", smtp_port.to_string())
        .env("LEADBOT_SMTP_SECURITY", "none")
        .env("LEADBOT_HTTP_LISTEN", format!("127.0.0.1:{http_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start leadbot run")
}

/// SIGTERM, then how long the process took to exit and its exit code.
fn terminate(mut child: Child) -> (Duration, Option<i32>) {
    let asked = Instant::now();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return (asked.elapsed(), status.code());
        }
        if asked.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("leadbot run still running 30 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_with_a_backlog_stops_within_seconds_and_loses_nothing() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let stack = MailStack::start().await;
    queue_backlog(&db, 2000).await;
    let daemon = start_daemon(&db, stack.smtp_port());
    until("the first mails to be sent", async || {
        outbox_states(&db).await.1 > 0
    })
    .await;
    let (took, code) = tokio::task::block_in_place(|| terminate(daemon));
    eprintln!("SIGTERM with a backlog: exited in {took:?}");
    assert_eq!(code, Some(0));
    assert!(took < STOP_WITHIN, "took {took:?}");
    let (queued, sent, failed) = outbox_states(&db).await;
    assert_eq!(queued + sent, 2000, "every mail is sent or still queued");
    assert_eq!(failed, 0);
    assert!(
        queued > 0,
        "it stopped claiming instead of sending the whole backlog"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_unanswered_at_the_deadline_is_abandoned_and_stays_queued() {
    let db = TestDb::new().await;
    queue_backlog(&db, 3).await;
    // An SMTP server that accepts the connection and then never says a word: the one
    // fault a real server will not produce on demand.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = silent.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(connection);
        }
    });
    let daemon = start_daemon(&db, port);
    until("a send in flight", async || {
        accepted.load(Ordering::SeqCst) > 0
    })
    .await;
    let (took, code) = tokio::task::block_in_place(|| terminate(daemon));
    eprintln!("SIGTERM with a send hanging: exited in {took:?}");
    assert_eq!(code, Some(0));
    assert!(took < STOP_WITHIN, "took {took:?}");
    let attempts: Vec<(String, i32)> =
        sqlx::query_as("SELECT state, attempts FROM outbox ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        attempts,
        vec![("queued".to_string(), 0); 3],
        "the abandoned send rolled back: its row is due again, untouched"
    );
    server.abort();
}
