//! `leadbot run` killed with SIGKILL at seeded random moments while it works through a
//! backlog of RFIs, then of replies, over real Dovecot and Postfix: every RFI makes one
//! lead, every reply one transition, every mail is sent, and a crash costs at most one
//! duplicate delivery per SMTP connection in flight (each outbox lane sends one mail at a
//! time, and the daemon runs `smtp.connections` lanes, 4 by default).
//!
//! CI size: 200 RFIs + 200 replies, 10 kills. `LEADBOT_CRASH_SCALE=large` runs 1,000 +
//! 1,000 with 20 kills; `LEADBOT_CRASH_SEED` picks other moments.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use support::MailStack;
use support::daemon::{BOT, BOT_PASSWORD, Daemon};
use support::db::{TestDb, seed_directory};

struct Scale {
    requests: usize,
    kills_per_phase: usize,
}

fn scale() -> Scale {
    match std::env::var("LEADBOT_CRASH_SCALE").as_deref() {
        Ok("large") => Scale {
            requests: 1000,
            kills_per_phase: 10,
        },
        _ => Scale {
            requests: 200,
            kills_per_phase: 5,
        },
    }
}

fn rfi(i: usize) -> Vec<u8> {
    format!(
        "From: Client {i} <client{i}@client.test>\r\nTo: contoso-fr@leads.example.test\r\n\
         Subject: Teams {i}\r\nMessage-ID: <crash-rfi-{i}@client.test>\r\n\r\n\
         Bonjour, nous voulons migrer {i} postes vers Teams.\r\n"
    )
    .into_bytes()
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Kills the running daemon `kills` times at random moments, starting a new one after each
/// kill, and returns the one left running.
async fn crash_repeatedly(
    db: &TestDb,
    stack: &MailStack,
    mut daemon: Daemon,
    kills: usize,
    rng: &mut rand::rngs::StdRng,
) -> Daemon {
    for _ in 0..kills {
        let after = Duration::from_millis(rng.gen_range(150..1200));
        tokio::time::sleep(after).await;
        daemon.kill();
        daemon = Daemon::start(db, stack).await;
    }
    daemon
}

async fn until(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Message-ID → how many copies were delivered, over every mailbox but the bot's.
fn delivered(mail_root: &Path) -> HashMap<String, usize> {
    let mut copies = HashMap::new();
    let mut folders = vec![mail_root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.ends_with("leads.example.test/leads") {
                continue;
            }
            if path.is_dir() {
                folders.push(path);
            } else if matches!(
                path.parent().and_then(|p| p.file_name()),
                Some(name) if name == "new" || name == "cur"
            ) {
                let raw = std::fs::read(&path).unwrap_or_default();
                if let Some(id) = leadbot::mail::identity::quick_message_id(&raw) {
                    *copies.entry(id).or_default() += 1;
                }
            }
        }
    }
    copies
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_at_random_moments_loses_nothing_and_duplicates_little() {
    let Scale {
        requests,
        kills_per_phase,
    } = scale();
    let seed = std::env::var("LEADBOT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let stack = MailStack::start().await;
    stack.add_user(BOT, BOT_PASSWORD);

    // The RFIs wait in the mailbox; the daemon is killed while it works through them.
    for i in 0..requests {
        stack
            .send(&format!("client{i}@client.test"), &[BOT], &rfi(i))
            .await;
    }
    let daemon = Daemon::start(&db, &stack).await;
    let daemon = crash_repeatedly(&db, &stack, daemon, kills_per_phase, &mut rng).await;
    let limit = Duration::from_secs(60 + requests as u64 / 4);
    until("every RFI to be a lead", limit, async || {
        count(&db, "SELECT count(*) FROM leads").await == requests as i64
    })
    .await;

    // A reply from Alice to each notification: ACCEPT.
    let notifications: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT lead_id, reply_to, message_id FROM outbox
         WHERE template = 'new_lead' AND recipient = 'alice@contoso.test' ORDER BY lead_id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(notifications.len(), requests);
    for (lead, reply_to, message_id) in &notifications {
        let reply = format!(
            "From: Alice Martin <alice@contoso.test>\r\nTo: {reply_to}\r\n\
             Subject: Re: [L-{lead}] Nouvelle demande\r\nMessage-ID: <crash-reply-{lead}@contoso.test>\r\n\
             In-Reply-To: <{message_id}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nACCEPTER\r\n"
        );
        stack
            .send("alice@contoso.test", &[BOT], reply.as_bytes())
            .await;
    }
    let daemon = crash_repeatedly(&db, &stack, daemon, kills_per_phase, &mut rng).await;
    until("every reply to be applied", limit, async || {
        count(&db, "SELECT count(*) FROM leads WHERE state = 'accepted'").await == requests as i64
    })
    .await;
    until("every mail to be sent", limit, async || {
        count(&db, "SELECT count(*) FROM outbox WHERE state <> 'sent'").await == 0
    })
    .await;
    let mut daemon = daemon;
    assert_eq!(daemon.stop(), Some(0));

    let kills = 2 * kills_per_phase;
    let n = requests as i64;
    assert_eq!(
        count(&db, "SELECT count(DISTINCT source_message_id) FROM leads").await,
        n,
        "every RFI made one lead"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM lead_events WHERE kind = 'accepted'"
        )
        .await,
        n,
        "every reply made one transition"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM inbound_messages").await,
        2 * n
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM inbound_messages WHERE outcome = 'quarantined'"
        )
        .await,
        0,
        "a crash quarantines nothing"
    );
    let queued: Vec<String> = sqlx::query_scalar("SELECT message_id FROM outbox")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    let mail_root = stack.dir().join("mail");
    let mut copies = HashMap::new();
    until("Postfix to deliver every mail", limit, async || {
        copies = delivered(&mail_root);
        queued.iter().all(|id| copies.contains_key(id))
    })
    .await;
    let duplicated: usize = copies.values().map(|c| c - 1).sum();
    eprintln!(
        "crash test (seed {seed}): {} messages in, {kills} SIGKILLs, {} mails out; \
         lost 0, duplicated {duplicated}; {:?}",
        2 * requests,
        queued.len(),
        started.elapsed()
    );
    let in_flight = leadbot::config::DEFAULT_SMTP_CONNECTIONS;
    assert!(
        duplicated <= kills * in_flight,
        "{duplicated} duplicate deliveries for {kills} crashes, {in_flight} connections"
    );
}
