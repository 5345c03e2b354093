//! Proves the mail-stack harness: real Postfix and Dovecot on loopback, as the other
//! integration tests use them. Timings are printed (run with `--nocapture` to see them).

mod support;

use std::time::{Duration, Instant};

use support::MailStack;
use support::mailstack::REJECTED_RECIPIENT;

const BOT: &str = "leads@leads.example.test";
const BOT_PASSWORD: &str = "bot-secret";
const CUSTOMER: &str = "carol@client.test";

/// A minimal RFC 5322 message with CRLF line ends, as a mail client would send it.
fn message(from: &str, to: &str, subject: &str, body: &str) -> Vec<u8> {
    let message_id = format!(
        "<{}.{}@client.test>",
        subject.replace(' ', "-"),
        std::process::id()
    );
    format!(
        "From: Carol <{from}>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n\
         Date: Sat, 22 Nov 2025 10:00:00 +0000\r\nX-Leadbot-Test: kept\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn has_subject(subject: &str) -> impl Fn(&[u8]) -> bool + '_ {
    move |raw| contains(raw, &format!("Subject: {subject}\r\n"))
}

async fn started_stack() -> MailStack {
    let started = Instant::now();
    let stack = MailStack::start().await;
    eprintln!(
        "mailstack timing: start-up (Dovecot + Postfix, ports accepting) {:?}",
        started.elapsed()
    );
    stack.add_user(BOT, BOT_PASSWORD);
    stack
}

#[tokio::test]
async fn smtp_mail_arrives_in_imap_inbox_with_headers_intact() {
    let stack = started_stack().await;
    stack
        .send(
            CUSTOMER,
            &[BOT],
            &message(CUSTOMER, BOT, "Need Azure help", "Hello"),
        )
        .await;

    let raw = stack
        .wait_for(
            BOT,
            BOT_PASSWORD,
            "INBOX",
            has_subject("Need Azure help"),
            MailStack::DEFAULT_TIMEOUT,
        )
        .await;

    for header in [
        "From: Carol <carol@client.test>\r\n",
        "To: leads@leads.example.test\r\n",
        "X-Leadbot-Test: kept\r\n",
        "Message-ID: <Need-Azure-help.",
    ] {
        assert!(
            contains(&raw, header),
            "header {header:?} missing from:\n{}",
            String::from_utf8_lossy(&raw)
        );
    }
    assert!(
        contains(&raw, "\r\n\r\nHello\r\n"),
        "body changed:\n{}",
        String::from_utf8_lossy(&raw)
    );
    assert_eq!(stack.fetch_all(BOT, BOT_PASSWORD, "INBOX").await.len(), 1);
}

#[tokio::test]
async fn plus_address_lands_in_base_inbox_with_recipient_visible() {
    let stack = started_stack().await;
    let plus_address = "leads+L1042.tok3n@leads.example.test";
    stack
        .send(
            CUSTOMER,
            &[plus_address],
            &message(CUSTOMER, plus_address, "ACCEPT", "ACCEPT"),
        )
        .await;

    let raw = stack
        .wait_for(
            BOT,
            BOT_PASSWORD,
            "INBOX",
            has_subject("ACCEPT"),
            MailStack::DEFAULT_TIMEOUT,
        )
        .await;

    assert!(
        contains(&raw, &format!("Delivered-To: {plus_address}\r\n")),
        "Delivered-To should name the plus address:\n{}",
        String::from_utf8_lossy(&raw)
    );
    let detail_folder = stack
        .dir()
        .join("mail/leads.example.test/leads/Maildir/.L1042.tok3n");
    assert!(
        !detail_folder.exists(),
        "Dovecot created a folder for the detail: {}",
        detail_folder.display()
    );
}

#[tokio::test]
async fn wait_for_wakes_on_idle_within_seconds_of_delivery() {
    let stack = started_stack().await;
    let send_later = async {
        // Let wait_for log in and enter IDLE on the empty INBOX first.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let sent = Instant::now();
        stack
            .send(
                CUSTOMER,
                &[BOT],
                &message(CUSTOMER, BOT, "Idle wake-up", "ping"),
            )
            .await;
        (sent, Instant::now())
    };
    let wait = async {
        stack
            .wait_for(
                BOT,
                BOT_PASSWORD,
                "INBOX",
                has_subject("Idle wake-up"),
                MailStack::DEFAULT_TIMEOUT,
            )
            .await;
        Instant::now()
    };

    let ((sent, accepted), seen) = tokio::join!(send_later, wait);

    eprintln!(
        "mailstack timing: SMTP send accepted in {:?}; accepted -> visible through IMAP IDLE {:?}",
        accepted - sent,
        seen - accepted
    );
    let latency = seen - sent;
    assert!(
        latency < Duration::from_secs(5),
        "IDLE took {latency:?}\n{}",
        stack.logs()
    );
}

#[tokio::test]
async fn rejected_recipient_is_refused_with_550_at_smtp_time() {
    let stack = started_stack().await;

    let refusal = stack
        .try_send(
            CUSTOMER,
            &[REJECTED_RECIPIENT],
            &message(CUSTOMER, REJECTED_RECIPIENT, "Bounce me", "x"),
        )
        .await
        .expect_err("Postfix should refuse the rejected recipient");

    assert_eq!(
        refusal.status().map(|code| code.to_string()).as_deref(),
        Some("550"),
        "{refusal}"
    );
    assert!(refusal.is_permanent(), "{refusal}");
}

#[tokio::test]
async fn stop_smtp_refuses_connections_and_start_smtp_brings_it_back() {
    let mut stack = started_stack().await;

    let stopped = Instant::now();
    stack.stop_smtp().await;
    eprintln!("mailstack timing: stop_smtp {:?}", stopped.elapsed());
    let refusal = stack
        .try_send(CUSTOMER, &[BOT], &message(CUSTOMER, BOT, "While down", "x"))
        .await
        .expect_err("no SMTP server should be listening");
    assert!(
        refusal.status().is_none(),
        "expected a connection error, got a reply: {refusal}"
    );

    let restarted = Instant::now();
    stack.start_smtp().await;
    eprintln!("mailstack timing: start_smtp {:?}", restarted.elapsed());
    stack
        .send(CUSTOMER, &[BOT], &message(CUSTOMER, BOT, "Back up", "x"))
        .await;
    stack
        .wait_for(
            BOT,
            BOT_PASSWORD,
            "INBOX",
            has_subject("Back up"),
            MailStack::DEFAULT_TIMEOUT,
        )
        .await;
}

#[tokio::test]
async fn two_stacks_at_once_do_not_collide() {
    let (first, second) = tokio::join!(started_stack(), started_stack());
    assert_ne!(first.imap_port(), second.imap_port());
    assert_ne!(first.smtp_port(), second.smtp_port());

    first
        .send(
            CUSTOMER,
            &[BOT],
            &message(CUSTOMER, BOT, "For the first", "1"),
        )
        .await;
    second
        .send(
            CUSTOMER,
            &[BOT],
            &message(CUSTOMER, BOT, "For the second", "2"),
        )
        .await;
    first
        .wait_for(
            BOT,
            BOT_PASSWORD,
            "INBOX",
            has_subject("For the first"),
            MailStack::DEFAULT_TIMEOUT,
        )
        .await;
    second
        .wait_for(
            BOT,
            BOT_PASSWORD,
            "INBOX",
            has_subject("For the second"),
            MailStack::DEFAULT_TIMEOUT,
        )
        .await;

    assert_eq!(first.fetch_all(BOT, BOT_PASSWORD, "INBOX").await.len(), 1);
    assert_eq!(second.fetch_all(BOT, BOT_PASSWORD, "INBOX").await.len(), 1);
}

#[tokio::test]
async fn a_panicking_test_still_stops_every_server_process() {
    let (report, observed) = tokio::sync::oneshot::channel();
    let failing_test = tokio::spawn(async move {
        let stack = MailStack::start().await;
        let _ = report.send((
            stack.server_pids(),
            stack.server_processes(),
            stack.dir().to_path_buf(),
        ));
        panic!("a test failing while its stack runs");
    });

    assert!(failing_test.await.expect_err("the task panics").is_panic());
    let (masters, processes, dir) = observed.await.expect("the stack started");
    assert_eq!(
        masters.len(),
        2,
        "Dovecot and Postfix master pids: {masters:?}"
    );
    assert!(
        processes.len() > masters.len(),
        "children expected besides the masters: {processes:?}"
    );
    let survivors = support::mailstack::processes_in_sessions(&masters);
    assert!(
        survivors.is_empty(),
        "processes survived the stack: {survivors:?}"
    );
    assert!(!dir.exists(), "stack folder {} survived", dir.display());
}
