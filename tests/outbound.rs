//! Outbound mail end to end: notifications queued in the transaction that causes them, and
//! the delivery worker sending them through a real Postfix into a real Dovecot, read back
//! over IMAP. Failures are real too: Postfix stopped, and a recipient it refuses with 550.

mod support;

use support::fixtures::{chloe_inquiry, insert_lead, queue_new_lead_mail};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use leadbot::config::{Config, Security, SmtpConfig};
use leadbot::domain::{Action, Actor, ContactRole, DeclineReason, EmailAddress, Lead};
use leadbot::mail::outgoing::OutgoingMail;
use leadbot::mail::templates::Reminder;
use leadbot::mail::token;
use leadbot::store::leads::NewLead;
use leadbot::store::outbox::{self, OutboxRow};
use leadbot::transport::smtp::SmtpTransport;
use leadbot::transport::{MailTransport, MemoryTransport};
use leadbot::workflow::act::act_in;
use leadbot::workflow::notify::{self, ContactNotice};
use leadbot::workflow::outbox::{Courier, Delivery, FlushReport, flush, try_deliver_one};
use mail_parser::{MessageParser, MimeHeaders};
use support::MailStack;
use support::db::{SECRET, TestDb, seed_directory};

const BOT: &str = "leads@leads.example.test";

fn received_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
}

fn config(smtp_port: Option<u16>) -> Config {
    let env = vec![("LEADBOT_BOT_SECRET".to_string(), SECRET.to_string())];
    let mut text = format!("[bot]\naddress = \"{BOT}\"\nreviewers = [\"rev@example.test\"]\n");
    if let Some(port) = smtp_port {
        text.push_str(&format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\nmax_attempts = 3\n"
        ));
    }
    Config::from_parts(None, &text, &env).expect("test config")
}

fn smtp_courier(stack: &MailStack) -> Courier {
    let config = config(Some(stack.smtp_port()));
    let smtp: &SmtpConfig = config.smtp.as_ref().unwrap();
    assert_eq!(smtp.security, Security::None);
    let transport = MailTransport::Smtp(SmtpTransport::new(smtp).unwrap());
    Courier::new(transport, &config)
}

fn memory_courier() -> (Courier, MemoryTransport) {
    let memory = MemoryTransport::new();
    let courier = Courier::new(MailTransport::Memory(memory.clone()), &config(None));
    (courier, memory)
}

/// A French customer's inquiry to Contoso's French profile (three contacts, all French).
async fn new_lead(db: &TestDb, need: &str) -> Lead {
    let new = NewLead {
        need: need.into(),
        ..chloe_inquiry(received_at())
    };
    insert_lead(&db.pool, &new).await
}

async fn queue_new_lead(db: &TestDb, lead: &Lead) -> Vec<i64> {
    let mut tx = db.pool.begin().await.unwrap();
    let ids = queue_new_lead_mail(&mut tx, &config(None).bot, lead, received_at()).await;
    tx.commit().await.unwrap();
    ids
}

async fn outbox_rows(db: &TestDb) -> Vec<OutboxRow> {
    let mut conn = db.pool.acquire().await.unwrap();
    outbox::list(&mut conn).await.unwrap()
}

async fn contact_id(db: &TestDb, email: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM contacts WHERE email = $1")
        .bind(email)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

fn plain_mail(to: &str, n: usize) -> OutgoingMail {
    OutgoingMail {
        to: EmailAddress::parse(to).unwrap(),
        subject: format!("message {n}"),
        text: format!("body {n}\n"),
        html: None,
        message_id: format!(
            "test.{n}.{}@leads.example.test",
            uuid::Uuid::now_v7().simple()
        ),
        reply_to: None,
        in_reply_to: None,
        references: Vec::new(),
        inline: Vec::new(),
    }
}

async fn enqueue_plain(db: &TestDb, to: &str, n: usize, now: DateTime<Utc>) -> i64 {
    let mut tx = db.pool.begin().await.unwrap();
    let id = notify::enqueue(&mut tx, &plain_mail(to, n), None, "test", now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

// ─────────────────────────── queueing ───────────────────────────

#[tokio::test]
async fn a_new_lead_notifies_each_contact_in_their_language_and_acknowledges_the_customer() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let lead = new_lead(&db, "Migrer 200 boîtes mail vers Teams").await;
    queue_new_lead(&db, &lead).await;

    let rows = outbox_rows(&db).await;
    let recipients: Vec<&str> = rows.iter().map(|r| r.recipient.as_str()).collect();
    assert_eq!(
        recipients,
        [
            "alice@contoso.test",
            "paul@contoso.test",
            "marc@contoso.test",
            "chloe@client.test"
        ]
    );
    for row in &rows[..3] {
        assert_eq!(row.template, "new_lead");
        assert_eq!(row.state, "queued");
        assert!(
            row.subject
                .starts_with(&format!("[L-{}] Nouvelle demande", lead.id.0))
        );
        // The Reply-To token names this lead and this contact, and leads the Message-ID.
        let reply_to = row.reply_to.as_deref().expect("a token address");
        let token_text = reply_to
            .strip_prefix("leads+")
            .and_then(|rest| rest.strip_suffix("@leads.example.test"))
            .expect("leads+TOKEN@domain");
        let verified = token::verify(SECRET, token_text).expect("a valid token");
        assert_eq!(verified.lead, lead.id);
        assert_eq!(verified.contact_id, contact_id(&db, &row.recipient).await);
        assert!(row.message_id.starts_with(&format!("{token_text}.")));
        assert!(row.text_body.contains("ACCEPTER"));
    }
    let acknowledgement = &rows[3];
    assert_eq!(acknowledgement.template, "acknowledgement");
    assert!(acknowledgement.reply_to.is_none(), "customers get no token");
    assert!(
        acknowledgement
            .text_body
            .contains("Nous avons bien reçu votre demande")
    );
}

#[tokio::test]
async fn later_mail_about_a_lead_threads_under_the_earlier_mail_to_that_person() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let lead = new_lead(&db, "Teams").await;
    queue_new_lead(&db, &lead).await;
    let mut tx = db.pool.begin().await.unwrap();
    notify::to_contacts(
        &mut tx,
        &config(None).bot,
        &lead,
        ContactNotice::Reminder(Reminder::First),
        received_at() + Duration::hours(24),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let rows = outbox_rows(&db).await;
    let to_alice: Vec<&OutboxRow> = rows
        .iter()
        .filter(|r| r.recipient == "alice@contoso.test")
        .collect();
    assert_eq!(to_alice.len(), 2);
    let (first, reminder) = (to_alice[0], to_alice[1]);
    assert_eq!(reminder.template, "reminder");
    assert_eq!(reminder.in_reply_to.as_ref(), Some(&first.message_id));
    assert_eq!(reminder.refs, std::slice::from_ref(&first.message_id));
    assert!(first.in_reply_to.is_none());
}

#[tokio::test]
async fn a_rolled_back_transaction_queues_nothing() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let lead = new_lead(&db, "Teams").await;
    let mut tx = db.pool.begin().await.unwrap();
    queue_new_lead_mail(&mut tx, &config(None).bot, &lead, received_at()).await;
    tx.rollback().await.unwrap();
    assert!(outbox_rows(&db).await.is_empty());
}

#[tokio::test]
async fn a_decline_asks_the_customer_to_choose_another_partner_in_their_language() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let lead = new_lead(&db, "Teams").await;
    let alice = Actor::Contact {
        name: "Alice Martin".into(),
        email: "alice@contoso.test".into(),
        role: ContactRole::ReferralsAdmin,
    };
    let now = received_at() + Duration::hours(3);
    let mut tx = db.pool.begin().await.unwrap();
    let outcome = act_in(
        &mut tx,
        lead.id,
        &alice,
        Action::Decline {
            reason: DeclineReason::NoCapacity,
            notes: None,
        },
        now,
    )
    .await
    .unwrap();
    notify::notices(&mut tx, &config(None).bot, &outcome, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let rows = outbox_rows(&db).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].recipient, "chloe@client.test");
    assert_eq!(rows[0].template, "customer_declined");
    assert!(
        rows[0]
            .subject
            .contains("Merci de choisir un autre partenaire")
    );
}

// ─────────────────────────── the worker, without a server ───────────────────────────

#[tokio::test]
async fn a_transient_failure_is_retried_later_and_then_sent() {
    let db = TestDb::new().await;
    let (courier, memory) = memory_courier();
    let now = received_at();
    let id = enqueue_plain(&db, "bob@fabrikam.test", 1, now).await;

    memory.fail_next("421 try again later", false);
    let Some(Delivery::Retrying { next_at, .. }) =
        try_deliver_one(&db.pool, &courier, now).await.unwrap()
    else {
        panic!("expected a retry");
    };
    assert!(next_at >= now + Duration::seconds(24) && next_at <= now + Duration::seconds(36));
    // Not due again yet.
    assert_eq!(
        try_deliver_one(&db.pool, &courier, now).await.unwrap(),
        None
    );

    let report = flush(&db.pool, &courier, next_at).await.unwrap();
    assert_eq!(
        report,
        FlushReport {
            sent: 1,
            retried: 0,
            failed: 0
        }
    );
    let row = &outbox_rows(&db).await[0];
    assert_eq!((row.id, row.state.as_str(), row.attempts), (id, "sent", 2));
    assert_eq!(row.sent_at, Some(next_at));
    assert_eq!(memory.sent().len(), 1);
}

#[tokio::test]
async fn after_max_attempts_a_mail_is_failed_with_the_last_error() {
    let db = TestDb::new().await;
    let (courier, memory) = memory_courier();
    let mut now = received_at();
    enqueue_plain(&db, "bob@fabrikam.test", 1, now).await;
    for _ in 0..courier.max_attempts {
        memory.fail_next("connection refused", false);
    }
    let mut report = FlushReport::default();
    for _ in 0..courier.max_attempts {
        let step = flush(&db.pool, &courier, now).await.unwrap();
        report.retried += step.retried;
        report.failed += step.failed;
        now += Duration::hours(2);
    }
    assert_eq!(report.retried as u32, courier.max_attempts - 1);
    assert_eq!(report.failed, 1);
    let row = &outbox_rows(&db).await[0];
    assert_eq!(row.state, "failed");
    assert!(
        row.last_error
            .as_deref()
            .unwrap()
            .contains("connection refused"),
        "{row:?}"
    );
    assert!(memory.sent().is_empty());
}

#[tokio::test]
async fn while_told_to_yield_the_worker_sends_nothing_then_sends_everything() {
    let db = TestDb::new().await;
    let (mut courier, memory) = memory_courier();
    let now = received_at();
    for n in 0..3 {
        enqueue_plain(&db, "bob@fabrikam.test", n, now).await;
    }
    // The daemon's IMAP listener reading a backlog: asked five times, then done.
    let asked = Arc::new(AtomicUsize::new(0));
    let sent_while_yielding = Arc::new(AtomicUsize::new(0));
    let (watched, seen) = (memory.clone(), sent_while_yielding.clone());
    let count = asked.clone();
    courier.yield_to = Some(Arc::new(move || {
        let yielding = count.fetch_add(1, Ordering::SeqCst) < 5;
        if yielding {
            seen.fetch_max(watched.sent().len(), Ordering::SeqCst);
        }
        yielding
    }));

    let report = flush(&db.pool, &courier, now).await.unwrap();

    assert!(asked.load(Ordering::SeqCst) > 5, "the worker never asked");
    assert_eq!(sent_while_yielding.load(Ordering::SeqCst), 0);
    assert_eq!(report.sent, 3);
    assert_eq!(memory.sent().len(), 3);
}

// ─────────────────────────── over real SMTP and IMAP ───────────────────────────

#[tokio::test]
async fn notifications_arrive_through_postfix_and_dovecot_threaded_and_answerable() {
    let stack = MailStack::start().await;
    stack.add_user("alice@contoso.test", "alice");
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let lead = new_lead(&db, "Migrer <script>alert(1)</script> vers Teams").await;
    queue_new_lead(&db, &lead).await;
    let mut tx = db.pool.begin().await.unwrap();
    let reminder_at = received_at() + Duration::hours(24);
    notify::to_contacts(
        &mut tx,
        &config(None).bot,
        &lead,
        ContactNotice::Reminder(Reminder::First),
        reminder_at,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let courier = smtp_courier(&stack);
    let report = flush(&db.pool, &courier, reminder_at).await.unwrap();
    assert_eq!(
        report,
        FlushReport {
            sent: 7,
            retried: 0,
            failed: 0
        }
    );

    let tag = format!("[L-{}]", lead.id.0);
    // The lanes send in parallel: the two may arrive in either order.
    let text_of = |raw: &[u8]| String::from_utf8_lossy(raw).into_owned();
    let first = stack
        .wait_for(
            "alice@contoso.test",
            "alice",
            "INBOX",
            |raw| text_of(raw).contains("Nouvelle demande"),
            MailStack::DEFAULT_TIMEOUT,
        )
        .await;
    let reminder = stack
        .wait_for(
            "alice@contoso.test",
            "alice",
            "INBOX",
            |raw| text_of(raw).contains("Rappel"),
            MailStack::DEFAULT_TIMEOUT,
        )
        .await;
    let inbox = stack
        .fetch_all("alice@contoso.test", "alice", "INBOX")
        .await;
    assert_eq!(inbox.len(), 2, "the notification and the reminder");
    let parser = MessageParser::default();
    let first = parser.parse(&first).unwrap();
    let reminder = parser.parse(&reminder).unwrap();

    let subject = first.subject().unwrap();
    assert!(
        subject.starts_with(&tag) && subject.contains("Nouvelle demande"),
        "{subject}"
    );
    assert_eq!(
        first.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-generated")
    );
    assert_eq!(
        first.header_raw("X-Auto-Response-Suppress").map(str::trim),
        Some("All")
    );
    let reply_to = first
        .reply_to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap();
    let token_text = reply_to
        .strip_prefix("leads+")
        .and_then(|r| r.strip_suffix("@leads.example.test"))
        .unwrap();
    let verified = token::verify(SECRET, token_text).unwrap();
    assert_eq!(verified.lead, lead.id);
    assert_eq!(
        verified.contact_id,
        contact_id(&db, "alice@contoso.test").await
    );
    let first_id = first.message_id().unwrap();
    assert!(first_id.starts_with(token_text), "{first_id}");

    let text = first.body_text(0).unwrap();
    let html = first.body_html(0).unwrap();
    assert!(text.contains("Migrer <script>alert(1)</script> vers Teams"));
    assert!(text.contains("ACCEPTER"));
    assert!(!html.contains("<script>"), "customer text must be escaped");
    assert!(html.contains("mailto:leads%2B"));

    assert_eq!(reminder.in_reply_to().as_text(), Some(first_id));
    let references = reminder.references();
    let references: Vec<&str> = match references.as_text_list() {
        Some(list) => list.iter().map(|r| r.as_ref()).collect(),
        None => references.as_text().into_iter().collect(),
    };
    assert_eq!(references, [first_id]);

    let rows = outbox_rows(&db).await;
    assert!(
        rows.iter()
            .all(|r| r.state == "sent" && r.sent_at == Some(reminder_at))
    );
}

#[tokio::test]
async fn mail_queued_while_smtp_is_down_is_delivered_once_it_is_back() {
    let mut stack = MailStack::start().await;
    stack.add_user("bob@fabrikam.test", "bob");
    let db = TestDb::new().await;
    let courier = smtp_courier(&stack);
    let now = received_at();
    enqueue_plain(&db, "bob@fabrikam.test", 1, now).await;

    stack.stop_smtp().await;
    let report = flush(&db.pool, &courier, now).await.unwrap();
    assert_eq!(
        report,
        FlushReport {
            sent: 0,
            retried: 1,
            failed: 0
        }
    );
    let row = &outbox_rows(&db).await[0];
    assert_eq!((row.state.as_str(), row.attempts), ("queued", 1));
    assert!(row.last_error.is_some() && row.run_at > now);

    stack.start_smtp().await;
    // Nothing is due before the backoff ends; time is advanced rather than slept through.
    assert_eq!(
        flush(&db.pool, &courier, now).await.unwrap(),
        FlushReport::default()
    );
    let later = now + Duration::minutes(2);
    let report = flush(&db.pool, &courier, later).await.unwrap();
    assert_eq!(
        report,
        FlushReport {
            sent: 1,
            retried: 0,
            failed: 0
        }
    );

    let raw = stack
        .wait_for(
            "bob@fabrikam.test",
            "bob",
            "INBOX",
            |_| true,
            MailStack::DEFAULT_TIMEOUT,
        )
        .await;
    assert!(String::from_utf8_lossy(&raw).contains("message 1"));
    let row = &outbox_rows(&db).await[0];
    assert_eq!((row.state.as_str(), row.attempts), ("sent", 2));
}

#[tokio::test]
async fn a_recipient_refused_with_550_fails_at_once_with_the_reason() {
    let stack = MailStack::start().await;
    let db = TestDb::new().await;
    let courier = smtp_courier(&stack);
    let now = received_at();
    enqueue_plain(&db, support::mailstack::REJECTED_RECIPIENT, 1, now).await;

    let report = flush(&db.pool, &courier, now).await.unwrap();
    assert_eq!(
        report,
        FlushReport {
            sent: 0,
            retried: 0,
            failed: 1
        }
    );
    let row = &outbox_rows(&db).await[0];
    assert_eq!((row.state.as_str(), row.attempts), ("failed", 1));
    let error = row.last_error.as_deref().unwrap();
    assert!(
        error.contains("550"),
        "the server's answer is kept: {error}"
    );
    // Failed is final: a later flush does not try again.
    let later = now + Duration::days(1);
    assert_eq!(
        flush(&db.pool, &courier, later).await.unwrap(),
        FlushReport::default()
    );
}

#[tokio::test]
async fn two_workers_of_four_lanes_each_send_each_of_twenty_mails_exactly_once() {
    let stack = MailStack::start().await;
    stack.add_user("bob@fabrikam.test", "bob");
    let db = TestDb::new().await;
    let now = received_at();
    for n in 0..20 {
        enqueue_plain(&db, "bob@fabrikam.test", n, now).await;
    }
    let (a, b) = (smtp_courier(&stack), smtp_courier(&stack));
    assert_eq!((a.lanes, b.lanes), (4, 4), "smtp.connections defaults to 4");
    let (pool_a, pool_b) = (db.pool.clone(), db.pool.clone());
    let worker_a = tokio::spawn(async move { flush(&pool_a, &a, now).await.unwrap() });
    let worker_b = tokio::spawn(async move { flush(&pool_b, &b, now).await.unwrap() });
    let (report_a, report_b) = (worker_a.await.unwrap(), worker_b.await.unwrap());
    assert_eq!(
        report_a.sent + report_b.sent,
        20,
        "{report_a:?} {report_b:?}"
    );
    assert_eq!(
        report_a.retried + report_b.retried + report_a.failed + report_b.failed,
        0
    );

    // Poll until all twenty are in, then a little longer: a duplicate would show up too.
    let deadline = std::time::Instant::now() + MailStack::DEFAULT_TIMEOUT;
    while stack
        .fetch_all("bob@fabrikam.test", "bob", "INBOX")
        .await
        .len()
        < 20
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let inbox = stack.fetch_all("bob@fabrikam.test", "bob", "INBOX").await;
    let parser = MessageParser::default();
    let mut ids: Vec<String> = inbox
        .iter()
        .map(|raw| parser.parse(raw).unwrap().message_id().unwrap().to_string())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(inbox.len(), 20, "every mail delivered exactly once");
    assert_eq!(ids.len(), 20);
    assert!(
        outbox_rows(&db)
            .await
            .iter()
            .all(|r| r.state == "sent" && r.attempts == 1)
    );
}

#[tokio::test]
async fn lanes_send_a_batch_once_each_and_a_refusal_fails_only_its_own_mail() {
    let db = TestDb::new().await;
    let now = received_at();
    for n in 0..30 {
        enqueue_plain(&db, "bob@fabrikam.test", n, now).await;
    }
    let (mut courier, memory) = memory_courier();
    courier.lanes = 4;
    memory.fail_next("550 5.1.1 no such user", true);
    let report = flush(&db.pool, &courier, now).await.unwrap();
    assert_eq!(
        report,
        FlushReport {
            sent: 29,
            retried: 0,
            failed: 1
        }
    );
    let mut subjects: Vec<String> = memory
        .sent()
        .iter()
        .map(|m| {
            let raw = MessageParser::default().parse(&m.raw).unwrap();
            raw.subject().unwrap().to_string()
        })
        .collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), 29, "no mail sent twice");
    let rows = outbox_rows(&db).await;
    let failed: Vec<&OutboxRow> = rows.iter().filter(|r| r.state == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].last_error.as_deref().unwrap().contains("550"));
    assert!(
        !subjects.contains(&failed[0].subject),
        "the refused one was not sent"
    );
    assert_eq!(rows.iter().filter(|r| r.state == "sent").count(), 29);
}

// ─────────────────────────── the command line ───────────────────────────

#[tokio::test]
async fn outbox_flush_writes_eml_files_without_smtp_and_outbox_list_shows_the_result() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let lead = new_lead(&db, "Teams").await;
    queue_new_lead(&db, &lead).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = db.env();
    env.push((
        "LEADBOT_BOT_OUTBOX_DIR".into(),
        dir.path().join("outbox").display().to_string(),
    ));
    let leadbot = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_leadbot"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("run leadbot");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {stderr}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };

    let table = leadbot(&["outbox", "list"]);
    assert!(
        table.starts_with("ID") && table.contains("queued"),
        "{table}"
    );

    let flushed = leadbot(&["outbox", "flush"]);
    assert!(flushed.contains("sent 4"), "{flushed}");
    let first = std::fs::read_to_string(dir.path().join("outbox/001.eml")).unwrap();
    assert!(first.contains("Auto-Submitted: auto-generated"));
    assert!(dir.path().join("outbox/004.eml").exists());

    let listed: serde_json::Value =
        serde_json::from_str(&leadbot(&["outbox", "list", "--json"])).unwrap();
    let entries = listed.as_array().unwrap();
    assert_eq!(entries.len(), 4);
    let alice = &entries[0];
    assert_eq!(alice["lead_id"], lead.id.0);
    assert_eq!(alice["to"], "alice@contoso.test");
    assert_eq!(alice["state"], "sent");
    assert_eq!(alice["attempts"], 1);
    assert!(
        alice["subject"]
            .as_str()
            .unwrap()
            .starts_with(&format!("[L-{}]", lead.id.0))
    );
    assert!(alice["reply_to"].as_str().unwrap().starts_with("leads+l"));
    assert!(
        alice["message_id"]
            .as_str()
            .unwrap()
            .ends_with("@leads.example.test")
    );
    assert!(alice["text"].as_str().unwrap().contains("ACCEPTER"));
}

/// The digest's chart survives Postfix and Dovecot: the admin's mailbox holds the HTML with
/// `cid:` and, related to it, the PNG under that Content-ID.
#[tokio::test]
async fn a_digest_arrives_through_postfix_with_its_inline_chart() {
    let stack = MailStack::start().await;
    stack.add_user("paul@contoso.test", "paul");
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    new_lead(&db, "Migrer vers Teams").await;
    let config = config(Some(stack.smtp_port()));
    let at = received_at() + Duration::hours(1);
    let sent = leadbot::workflow::digest::send_now(&db.pool, &config, Some("contoso"), at)
        .await
        .unwrap();
    assert_eq!(sent.sent, 1);
    let report = flush(&db.pool, &smtp_courier(&stack), at).await.unwrap();
    assert_eq!(report.sent, 1);

    let is_digest = |raw: &[u8]| String::from_utf8_lossy(raw).contains("image/png");
    stack
        .wait_for(
            "paul@contoso.test",
            "paul",
            "INBOX",
            is_digest,
            MailStack::DEFAULT_TIMEOUT,
        )
        .await;
    let inbox = stack.fetch_all("paul@contoso.test", "paul", "INBOX").await;
    let digest = MessageParser::default().parse(&inbox[0]).unwrap();
    assert!(
        digest
            .subject()
            .unwrap()
            .starts_with("Synthèse quotidienne")
    );
    let chart = digest
        .parts
        .iter()
        .find(|p| p.content_type().is_some_and(|ct| ct.ctype() == "image"))
        .expect("the chart part");
    let content_id = chart.content_id().expect("a Content-ID");
    assert!(chart.contents().starts_with(b"\x89PNG\r\n\x1a\n"));
    let html = digest.body_html(0).unwrap();
    assert!(html.contains(&format!("cid:{content_id}")), "{html}");
    assert!(inbox[0].len() < 100_000);
}
