//! The IMAP listener over real servers: mail sent by SMTP to Postfix, delivered by LMTP into
//! Dovecot, picked up by the listener over IMAP IDLE and ingested into PostgreSQL.
//! Timings are printed (run with `--nocapture` to see them).

mod support;

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use leadbot::config::Config;
use leadbot::workflow::listener::{ListenerStats, run_listener_with};
use support::db::{SECRET, TestDb};
use support::listener::{
    BOT, BOT_PASSWORD, CUSTOMER, DEADLINE, Running, UNREADABLE, checkpoint, config, count,
    lead_count, ready, rfi, send_rfi, test_options, uids_and_seen, until,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[tokio::test]
async fn an_rfi_sent_by_smtp_becomes_a_lead_through_idle() {
    let (db, stack) = ready().await;
    let config = config(&db, stack.imap_port());
    let listener = Running::start(&db, &config);
    listener.until_waiting_for_mail().await;
    assert_eq!(listener.stats().idle_wakeups, 0);

    let sent = Instant::now();
    send_rfi(&stack, "idle").await;
    let smtp = sent.elapsed();
    let woken = until("IDLE reports the new mail", || async {
        listener.stats().idle_wakeups > 0
    })
    .await;
    let committed = until("the lead is in the database", || async {
        lead_count(&db.pool).await == 1
    })
    .await;
    eprintln!(
        "imap listener timing: SMTP send {smtp:?}; accepted → IDLE wake-up {:?}; \
         wake-up → lead committed {:?}; send → lead {:?}",
        woken,
        committed,
        sent.elapsed()
    );
    // The IDLE renewal is 10 minutes away: only the IDLE notification explains this.
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "took {:?}",
        sent.elapsed()
    );

    let (profile, source): (String, String) = sqlx::query_as(
        "SELECT l.profile_id, m.source FROM leads l JOIN inbound_messages m ON m.id = l.source_message_id",
    )
    .fetch_one(&db.pool)
    .await
    .expect("the lead and its message");
    assert_eq!(profile, "contoso-fr");
    assert_eq!(source, "imap:INBOX");
    until("the message is marked seen", || async {
        uids_and_seen(&stack, "INBOX").await == [(1, true)]
    })
    .await;
    // The checkpoint advances just after the \Seen flag is stored: wait for it, not race it.
    until("the checkpoint names the message", || async {
        checkpoint(&db.pool).await.map(|c| c.last_uid) == Some(1)
    })
    .await;
    let stats = listener.stats();
    assert_eq!(
        (stats.ingested, stats.duplicates, stats.reconnects),
        (1, 0, 0)
    );
    listener.stop().await;
}

#[tokio::test]
async fn a_listener_stopped_mid_stream_catches_up_on_restart_without_duplicates() {
    let (db, stack) = ready().await;
    let config = config(&db, stack.imap_port());
    let first = Running::start(&db, &config);
    first.until_waiting_for_mail().await;

    for n in 1..=5 {
        send_rfi(&stack, &format!("stream-{n}")).await;
    }
    // Stop while the five are still coming in: the message in flight is finished.
    until("the first message is ingested", || async {
        first.stats().ingested > 0
    })
    .await;
    let first_stats = first.stats.clone();
    first.stop().await;
    let handled_before_stop = first_stats.snapshot().ingested;
    eprintln!("imap listener: {handled_before_stop} of 5 ingested before the stop");

    for n in 6..=10 {
        send_rfi(&stack, &format!("stream-{n}")).await;
    }
    until("all ten are in the mailbox", || async {
        stack.fetch_all(BOT, BOT_PASSWORD, "INBOX").await.len() == 10
    })
    .await;
    assert_eq!(
        lead_count(&db.pool).await as u64,
        handled_before_stop,
        "nothing is ingested while no listener runs"
    );

    let restarted = Instant::now();
    let second = Running::start(&db, &config);
    until("ten leads", || async { lead_count(&db.pool).await == 10 }).await;
    second.until_waiting_for_mail().await;
    eprintln!(
        "imap listener timing: restart → {} messages caught up and idling in {:?}",
        10 - handled_before_stop,
        restarted.elapsed()
    );

    assert_eq!(lead_count(&db.pool).await, 10);
    assert_eq!(
        count(&db.pool, "SELECT count(*) FROM inbound_messages").await,
        10
    );
    let flags = uids_and_seen(&stack, "INBOX").await;
    assert_eq!(flags.len(), 10);
    assert!(
        flags.iter().all(|(_, seen)| *seen),
        "every message is seen: {flags:?}"
    );
    let last_uid = flags.iter().map(|(uid, _)| *uid).max();
    assert_eq!(checkpoint(&db.pool).await.map(|c| c.last_uid), last_uid);
    let second_stats = second.stats();
    assert_eq!(
        handled_before_stop + second_stats.ingested,
        10,
        "each message ingested by exactly one of the two runs"
    );
    assert_eq!(
        first_stats.snapshot().duplicates + second_stats.duplicates,
        0
    );
    second.stop().await;
}

#[tokio::test]
async fn an_unreadable_message_moves_to_the_quarantine_folder_and_is_listed_quarantined() {
    let (db, stack) = ready().await;
    let config = config(&db, stack.imap_port());
    let listener = Running::start(&db, &config);
    listener.until_waiting_for_mail().await;

    stack.send(CUSTOMER, &[BOT], UNREADABLE).await;
    send_rfi(&stack, "after-the-broken-one").await;

    // The folder does not exist until the listener needs it.
    until("the broken message is moved", || async {
        listener.stats().quarantined == 1
    })
    .await;
    let quarantine = stack.fetch_all(BOT, BOT_PASSWORD, "Quarantine").await;
    assert_eq!(quarantine.len(), 1);
    assert!(
        quarantine[0]
            .windows(b"broken-1@client.test".len())
            .any(|w| w == b"broken-1@client.test"),
        "{}",
        String::from_utf8_lossy(&quarantine[0])
    );
    until("the good one became a lead", || async {
        lead_count(&db.pool).await == 1
    })
    .await;
    until("only the good one is left in INBOX, seen", || async {
        let inbox = uids_and_seen(&stack, "INBOX").await;
        inbox.len() == 1 && inbox[0].1
    })
    .await;

    let (outcome, reason): (String, String) = sqlx::query_as(
        "SELECT outcome, reason FROM inbound_messages WHERE message_id = 'broken-1@client.test'",
    )
    .fetch_one(&db.pool)
    .await
    .expect("the broken message is recorded");
    assert_eq!(outcome, "quarantined");
    assert!(reason.starts_with("unreadable"), "{reason}");
    let listed =
        leadbot::store::inbound::list(&mut db.pool.acquire().await.expect("a connection"), true)
            .await
            .expect("list quarantined");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].message_id.as_deref(),
        Some("broken-1@client.test")
    );
    listener.stop().await;
}

/// Two listeners on one mailbox, once one of them listens: (the lock holder, the standby).
async fn two_listeners(db: &TestDb, config: &Arc<Config>) -> (Running, Running) {
    let a = Running::start(db, config);
    let b = Running::start(db, config);
    until("one of them listens", || async {
        a.stats().waiting_for_mail || b.stats().waiting_for_mail
    })
    .await;
    if a.stats().holds_lock { (a, b) } else { (b, a) }
}

#[tokio::test]
async fn of_two_listeners_one_holds_the_lock_and_the_other_takes_over_when_it_stops() {
    let (db, stack) = ready().await;
    let config = config(&db, stack.imap_port());
    let (holder, standby) = two_listeners(&db, &config).await;
    assert!(holder.stats().holds_lock);
    assert!(!standby.stats().holds_lock);
    assert_eq!(
        count(
            &db.pool,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        .await,
        1,
        "one advisory lock is held"
    );

    send_rfi(&stack, "to-the-holder").await;
    until("the holder ingests it", || async {
        holder.stats().ingested == 1
    })
    .await;
    assert_eq!(standby.stats().ingested, 0, "the standby does nothing");
    assert!(!standby.stats().holds_lock);

    let stopped = Instant::now();
    holder.stop().await;
    let took_over = until("the standby takes over", || async {
        standby.stats().waiting_for_mail
    })
    .await;
    eprintln!(
        "imap listener timing: holder stopped in {:?}; standby listening {:?} later \
         (retrying every 200 ms)",
        stopped.elapsed() - took_over,
        took_over
    );
    assert!(took_over < Duration::from_secs(5));

    send_rfi(&stack, "to-the-new-holder").await;
    until("the new holder ingests it", || async {
        standby.stats().ingested == 1
    })
    .await;
    assert_eq!(lead_count(&db.pool).await, 2);
    assert_eq!(standby.stats().duplicates, 0);
    standby.stop().await;
}

#[tokio::test]
async fn a_holder_whose_lock_connection_dies_stops_listening_and_the_mailbox_stays_covered() {
    let (db, stack) = ready().await;
    let config = config(&db, stack.imap_port());
    let (holder, standby) = two_listeners(&db, &config).await;

    // What PostgreSQL sees when a holder's process dies: its lock connection goes away.
    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = 'leadbot-lock' AND datname = current_database() \
         AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)",
    )
    .fetch_all(&db.pool)
    .await
    .expect("terminate the lock holder's connection");
    assert_eq!(terminated, [true]);

    // The holder notices, stops listening and stands by; whichever of the two is quicker
    // takes the lock next (the old holder often wins: it retries at once).
    until("the lock is taken again", || async {
        holder.stats().locks_taken + standby.stats().locks_taken == 2
    })
    .await;
    until("one of them listens again", || async {
        holder.stats().waiting_for_mail || standby.stats().waiting_for_mail
    })
    .await;
    assert!(
        !(holder.stats().holds_lock && standby.stats().holds_lock),
        "never both"
    );

    send_rfi(&stack, "after-the-take-over").await;
    until("the message is ingested", || async {
        holder.stats().ingested + standby.stats().ingested == 1
    })
    .await;
    assert_eq!(lead_count(&db.pool).await, 1);
    holder.stop().await;
    standby.stop().await;
}

#[tokio::test]
async fn a_cut_connection_is_reconnected_with_backoff_and_mail_sent_meanwhile_is_caught_up() {
    let (db, stack) = ready().await;
    let proxy = CuttableProxy::start(stack.imap_port()).await;
    let config = config(&db, proxy.port);
    let listener = Running::start(&db, &config);
    listener.until_waiting_for_mail().await;

    // The network goes away: open connections drop, new ones are refused for a while.
    proxy.cut_and_refuse(true);
    until("the listener notices and retries", || async {
        listener.stats().reconnects >= 2
    })
    .await;
    send_rfi(&stack, "during-the-outage").await;
    until("the message is in the mailbox", || async {
        stack.fetch_all(BOT, BOT_PASSWORD, "INBOX").await.len() == 1
    })
    .await;
    assert_eq!(lead_count(&db.pool).await, 0);

    let restored = Instant::now();
    proxy.cut_and_refuse(false);
    until("the message sent during the outage is ingested", || async {
        lead_count(&db.pool).await == 1
    })
    .await;
    eprintln!(
        "imap listener timing: network back → lead committed {:?} ({} reconnect attempts, \
         backoff 200 ms doubling to 1 s)",
        restored.elapsed(),
        listener.stats().reconnects
    );
    until("the message is marked seen", || async {
        uids_and_seen(&stack, "INBOX").await == [(1, true)]
    })
    .await;
    listener.stop().await;
}

#[tokio::test]
async fn a_database_error_leaves_the_message_unflagged_and_it_is_ingested_once_the_database_is_back()
 {
    let (db, stack) = ready().await;
    let config = config(&db, stack.imap_port());
    let listener = Running::start(&db, &config);
    listener.until_waiting_for_mail().await;

    // A database fault the listener cannot see coming: the table it writes to is gone.
    sqlx::query("ALTER TABLE inbound_messages RENAME TO inbound_messages_away")
        .execute(&db.pool)
        .await
        .expect("hide the table");
    send_rfi(&stack, "while-the-database-fails").await;
    until("the listener meets the error and retries", || async {
        listener.stats().reconnects >= 1
    })
    .await;
    assert_eq!(
        uids_and_seen(&stack, "INBOX").await,
        [(1, false)],
        "not flagged"
    );
    assert_eq!(checkpoint(&db.pool).await.map(|c| c.last_uid), None);

    sqlx::query("ALTER TABLE inbound_messages_away RENAME TO inbound_messages")
        .execute(&db.pool)
        .await
        .expect("restore the table");
    until("the message is ingested", || async {
        lead_count(&db.pool).await == 1
    })
    .await;
    until("and then marked seen", || async {
        uids_and_seen(&stack, "INBOX").await == [(1, true)]
    })
    .await;
    assert_eq!(listener.stats().ingested, 1);
    listener.stop().await;
}

#[tokio::test]
async fn mail_recorded_earlier_is_not_recorded_again_and_still_ends_where_it_belongs() {
    let (db, stack) = ready().await;
    let config = config(&db, stack.imap_port());
    // Recorded before the listener saw them: by `leadbot deliver`, or by a listener that
    // stopped between its commit and flagging the message.
    for raw in [UNREADABLE, &rfi("seen-before")[..]] {
        leadbot::workflow::ingest::ingest(&db.pool, &config, "deliver", raw, chrono::Utc::now())
            .await
            .expect("ingest directly");
    }
    stack.send(CUSTOMER, &[BOT], UNREADABLE).await;
    send_rfi(&stack, "seen-before").await;
    until("both are in the mailbox", || async {
        stack.fetch_all(BOT, BOT_PASSWORD, "INBOX").await.len() == 2
    })
    .await;

    let listener = Running::start(&db, &config);
    listener.until_waiting_for_mail().await;
    let stats = listener.stats();
    assert_eq!((stats.duplicates, stats.ingested), (2, 0));
    assert_eq!(
        stats.quarantined, 1,
        "the quarantined one still goes to Quarantine"
    );
    assert_eq!(
        stack.fetch_all(BOT, BOT_PASSWORD, "Quarantine").await.len(),
        1
    );
    let inbox = uids_and_seen(&stack, "INBOX").await;
    assert_eq!(inbox.len(), 1);
    assert!(inbox[0].1, "the other one is marked seen");
    assert_eq!(lead_count(&db.pool).await, 1);
    assert_eq!(
        count(&db.pool, "SELECT count(*) FROM inbound_messages").await,
        2
    );
    listener.stop().await;
}

#[tokio::test]
async fn a_changed_uidvalidity_reads_the_mailbox_again_without_duplicates() {
    let (db, stack) = ready().await;
    let config = config(&db, stack.imap_port());
    let first = Running::start(&db, &config);
    first.until_waiting_for_mail().await;
    send_rfi(&stack, "v1").await;
    send_rfi(&stack, "v2").await;
    until("two ingested", || async { first.stats().ingested == 2 }).await;
    first.stop().await;
    let real = checkpoint(&db.pool).await.expect("a checkpoint");
    assert_eq!(real.last_uid, 2);

    // As if the server had renumbered the mailbox since: the stored UIDs are void.
    sqlx::query("UPDATE imap_checkpoints SET uid_validity = uid_validity + 1, last_uid = 99")
        .execute(&db.pool)
        .await
        .expect("change the stored UIDVALIDITY");
    let second = Running::start(&db, &config);
    second.until_waiting_for_mail().await;
    let stats = second.stats();
    assert_eq!(
        (stats.duplicates, stats.ingested),
        (2, 0),
        "read again from UID 1, recognized"
    );
    assert_eq!(checkpoint(&db.pool).await, Some(real));
    assert_eq!(lead_count(&db.pool).await, 2);
    second.stop().await;
}

#[tokio::test]
async fn a_misconfigured_listener_ends_with_an_error_that_says_what_is_wrong() {
    let (db, stack) = ready().await;
    let port = stack.imap_port();
    // (security, password, mailbox) → what the error must say. The wrong password comes
    // last: Dovecot slows down later logins from an address that failed one.
    let cases = [
        (
            ("none", BOT_PASSWORD, "Nowhere"),
            "cannot open the IMAP mailbox \"Nowhere\"",
        ),
        // The test Dovecot has no TLS at all.
        (
            ("starttls", BOT_PASSWORD, "INBOX"),
            "did not start TLS (STARTTLS)",
        ),
        (
            ("tls", BOT_PASSWORD, "INBOX"),
            "TLS handshake with the IMAP server 127.0.0.1 failed",
        ),
        (
            ("none", "wrong", "INBOX"),
            "refused the login of leads@leads.example.test",
        ),
    ];
    for ((security, password, mailbox), expected) in cases {
        let setting = format!("security {security}, password {password}, mailbox {mailbox}");
        let text = format!(
            "[bot]\nsecret = \"{SECRET}\"\n[imap]\nhost = \"127.0.0.1\"\nport = {port}\n\
             username = \"{BOT}\"\nsecurity = \"{security}\"\npassword = \"{password}\"\n\
             mailbox = \"{mailbox}\"\n"
        );
        let env = [("DATABASE_URL".to_string(), db.url.clone())];
        let config = Arc::new(Config::from_parts(None, &text, &env).expect("configuration"));
        let (_stop, shutdown) = watch::channel(false);
        let stats = Arc::new(ListenerStats::default());
        let started = Instant::now();
        let ended = tokio::time::timeout(
            DEADLINE,
            run_listener_with(db.pool.clone(), config, test_options(), shutdown, stats),
        )
        .await
        .unwrap_or_else(|_| panic!("{setting}: the listener kept retrying"));
        let error = ended.expect_err(&setting);
        assert!(!error.is_transient(), "{setting}: {error:?}");
        let message = error_chain(&error);
        assert!(message.contains(expected), "{setting}: {message}");
        eprintln!(
            "imap listener: {setting} → in {:?}: {message}",
            started.elapsed()
        );
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text = format!("{text}: {inner}");
        cause = inner.source();
    }
    text
}

/// A TCP relay in front of the real Dovecot that can drop every connection and refuse new
/// ones: the fault a real server cannot be asked for (a network outage).
struct CuttableProxy {
    port: u16,
    refusing: Arc<AtomicBool>,
    relays: Arc<Mutex<Vec<JoinHandle<()>>>>,
    acceptor: JoinHandle<()>,
}

impl CuttableProxy {
    async fn start(target_port: u16) -> CuttableProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let refusing = Arc::new(AtomicBool::new(false));
        let relays = Arc::new(Mutex::new(Vec::new()));
        let acceptor = tokio::spawn({
            let (refusing, relays) = (Arc::clone(&refusing), Arc::clone(&relays));
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if refusing.load(Ordering::SeqCst) {
                        continue; // dropped: the client sees the connection close
                    }
                    let relay = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(("127.0.0.1", target_port)).await
                        {
                            let _: io::Result<_> =
                                tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    if let Ok(mut relays) = relays.lock() {
                        relays.push(relay);
                    }
                }
            }
        });
        CuttableProxy {
            port,
            refusing,
            relays,
            acceptor,
        }
    }

    /// With `true`: drops every open connection and refuses new ones; `false` lets them in.
    fn cut_and_refuse(&self, refuse: bool) {
        self.refusing.store(refuse, Ordering::SeqCst);
        if refuse && let Ok(mut relays) = self.relays.lock() {
            for relay in relays.drain(..) {
                relay.abort();
            }
        }
    }
}

impl Drop for CuttableProxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        if let Ok(mut relays) = self.relays.lock() {
            for relay in relays.drain(..) {
                relay.abort();
            }
        }
    }
}
