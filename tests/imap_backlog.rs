//! A backlog in the bot's mailbox, caught up by the IMAP listener in batches (one FETCH, one
//! transaction, one STORE per batch): every message once, each all-or-nothing, all flagged.

mod support;

use std::time::Instant;

use support::db::{fail_leads_for, stop_failing_leads};
use support::listener::{
    BOT, BOT_PASSWORD, CUSTOMER, Running, UNREADABLE, checkpoint, config, count, lead_count, ready,
    rfi_from, send_rfi, uids_and_seen, until,
};

/// A backlog that arrived while no listener ran is caught up, every message once. It also
/// prints the catch-up rate (`LEADBOT_BACKLOG=200` for more; the load benchmark is the
/// measure).
#[tokio::test]
async fn a_backlog_is_caught_up_every_message_once() {
    let backlog: usize = std::env::var("LEADBOT_BACKLOG")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(25);
    let (db, stack) = ready().await;
    let config = config(&db, stack.imap_port());
    for n in 0..backlog {
        send_rfi(&stack, &format!("backlog-{n}")).await;
    }
    until("the backlog is in the mailbox", || async {
        stack.fetch_all(BOT, BOT_PASSWORD, "INBOX").await.len() == backlog
    })
    .await;

    let started = Instant::now();
    let listener = Running::start(&db, &config);
    listener.until_waiting_for_mail().await;
    let took = started.elapsed();
    assert_eq!(listener.stats().ingested, backlog as u64);
    assert_eq!(lead_count(&db.pool).await, backlog as i64);
    eprintln!(
        "imap listener timing: catch-up of {backlog} RFIs in {took:?}: {:.0} messages/s",
        backlog as f64 / took.as_secs_f64()
    );
    listener.stop().await;
}

/// Six messages waiting, so one batch: an unreadable one and one whose lead PostgreSQL
/// refuses sit among four good RFIs.
#[tokio::test]
async fn broken_messages_mid_batch_are_quarantined_and_every_other_one_becomes_a_lead() {
    const REFUSED: &str = "refused@client.test";
    let (db, stack) = ready().await;
    let config = config(&db, stack.imap_port());
    fail_leads_for(&db.pool, REFUSED, "23514").await;
    send_rfi(&stack, "before-1").await;
    send_rfi(&stack, "before-2").await;
    stack.send(CUSTOMER, &[BOT], UNREADABLE).await;
    stack
        .send(REFUSED, &[BOT], &rfi_from(REFUSED, "refused"))
        .await;
    send_rfi(&stack, "after-1").await;
    send_rfi(&stack, "after-2").await;
    until("the backlog is in the mailbox", || async {
        stack.fetch_all(BOT, BOT_PASSWORD, "INBOX").await.len() == 6
    })
    .await;

    let listener = Running::start(&db, &config);
    listener.until_waiting_for_mail().await;

    let stats = listener.stats();
    assert_eq!(
        (stats.ingested, stats.duplicates, stats.quarantined),
        (6, 0, 2)
    );
    assert_eq!(lead_count(&db.pool).await, 4);
    assert_eq!(
        count(
            &db.pool,
            "SELECT count(*) FROM inbound_messages WHERE outcome = 'quarantined'"
        )
        .await,
        2
    );
    let reason: String = sqlx::query_scalar(
        "SELECT reason FROM inbound_messages WHERE message_id = 'rfi-refused@client.test'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("the refused message is recorded");
    assert!(reason.starts_with("processing failed"), "{reason}");
    // Both moved to Quarantine; the four good ones stay in INBOX, seen.
    assert_eq!(
        stack.fetch_all(BOT, BOT_PASSWORD, "Quarantine").await.len(),
        2
    );
    let inbox = uids_and_seen(&stack, "INBOX").await;
    assert_eq!(inbox.len(), 4, "{inbox:?}");
    assert!(inbox.iter().all(|(_, seen)| *seen), "{inbox:?}");
    assert_eq!(checkpoint(&db.pool).await.map(|c| c.last_uid), Some(6));
    listener.stop().await;
}

/// A fault a later attempt does not meet, on the third of five waiting messages: the batch
/// fails whole — nothing recorded, flagged or quarantined — and once the fault is gone every
/// message is ingested exactly once.
#[tokio::test]
async fn a_transient_fault_mid_batch_leaves_it_unflagged_and_it_is_ingested_once_later() {
    const UNLUCKY: &str = "unlucky@client.test";
    let (db, stack) = ready().await;
    let config = config(&db, stack.imap_port());
    fail_leads_for(&db.pool, UNLUCKY, "40001").await;
    for n in 0..5 {
        let tag = format!("fault-{n}");
        match n {
            2 => stack.send(UNLUCKY, &[BOT], &rfi_from(UNLUCKY, &tag)).await,
            _ => send_rfi(&stack, &tag).await,
        }
    }
    until("the backlog is in the mailbox", || async {
        stack.fetch_all(BOT, BOT_PASSWORD, "INBOX").await.len() == 5
    })
    .await;

    let listener = Running::start(&db, &config);
    until("the listener meets the fault and retries", || async {
        listener.stats().reconnects >= 1
    })
    .await;
    assert_eq!(
        count(&db.pool, "SELECT count(*) FROM inbound_messages").await,
        0
    );
    let inbox = uids_and_seen(&stack, "INBOX").await;
    assert!(inbox.iter().all(|(_, seen)| !seen), "{inbox:?}");
    assert_eq!(checkpoint(&db.pool).await.map(|c| c.last_uid), None);

    stop_failing_leads(&db.pool).await;
    listener.until_waiting_for_mail().await;
    until("every message is flagged", || async {
        let inbox = uids_and_seen(&stack, "INBOX").await;
        inbox.len() == 5 && inbox.iter().all(|(_, seen)| *seen)
    })
    .await;
    let stats = listener.stats();
    assert_eq!(
        (stats.ingested, stats.duplicates, stats.quarantined),
        (5, 0, 0)
    );
    assert_eq!(lead_count(&db.pool).await, 5);
    assert_eq!(
        count(&db.pool, "SELECT count(*) FROM inbound_messages").await,
        5
    );
    listener.stop().await;
}
