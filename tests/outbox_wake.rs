//! `leadbot run` sends mail as soon as the transaction that queued it commits, whoever
//! queued it: the outbox trigger notifies, the daemon listens. Its poll (15 s) is only the
//! fallback, so every wait here is far shorter than the poll, yet generous for a loaded
//! machine.

mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use leadbot::domain::EmailAddress;
use leadbot::mail::outgoing::OutgoingMail;
use leadbot::store::outbox;
use support::MailStack;
use support::daemon::{BOT, BOT_PASSWORD, Daemon};
use support::db::{TestDb, seed_directory};

const BOB: &str = "bob@fabrikam.test";
/// Well under the daemon's 15 s poll: a mail sent within this was woken, not polled for.
const PROMPTLY: Duration = Duration::from_secs(6);

fn plain_mail(n: usize) -> OutgoingMail {
    OutgoingMail {
        to: EmailAddress::parse(BOB).unwrap(),
        subject: format!("wake {n}"),
        text: format!("body {n}\n"),
        html: None,
        message_id: format!(
            "wake.{n}.{}@leads.example.test",
            uuid::Uuid::now_v7().simple()
        ),
        reply_to: None,
        in_reply_to: None,
        references: Vec::new(),
        inline: Vec::new(),
    }
}

/// Queues one mail on a connection of the test's own, as another process would.
async fn queue(db: &TestDb, n: usize) -> i64 {
    let mut tx = db.pool.begin().await.unwrap();
    let id = outbox::insert(&mut tx, &plain_mail(n), None, "test", Utc::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

/// Waits until row `id` is sent; how long that took. Fails past `limit`.
async fn sent_within(db: &TestDb, id: i64, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let state: String = sqlx::query_scalar("SELECT state FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        if state == "sent" {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "mail {id} still {state} after {limit:?}: not woken on commit"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn mail_queued_by_another_connection_is_sent_at_once_even_after_the_listener_is_cut() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let stack = MailStack::start().await;
    stack.add_user(BOT, BOT_PASSWORD);
    stack.add_user(BOB, "bob");
    let mut daemon = Daemon::start(&db, &stack).await;

    // The first mail may be found by the start-up flush; once it is sent the worker rests.
    let first = queue(&db, 1).await;
    sent_within(&db, first, Duration::from_secs(20)).await;
    let second = queue(&db, 2).await;
    let took = sent_within(&db, second, PROMPTLY).await;
    eprintln!("queued → sent (marked): {took:?}");

    // Cut the daemon's LISTEN connection: it listens again, and flushes what it missed.
    let cut: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(cut, 1, "the daemon listens on one connection");
    let third = queue(&db, 3).await;
    sent_within(&db, third, PROMPTLY).await;
    let fourth = queue(&db, 4).await;
    let took = sent_within(&db, fourth, PROMPTLY).await;
    eprintln!("after the cut, queued → sent (marked): {took:?}");

    assert_eq!(daemon.stop(), Some(0));
    let states: Vec<(String, i32)> =
        sqlx::query_as("SELECT state, attempts FROM outbox WHERE template = 'test' ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    // (The scheduler's digests are not the test's.)
    assert_eq!(states, vec![("sent".to_string(), 1); 4], "each sent once");
}
