//! The load benchmark's building blocks (benches/load), checked against the real parts so that
//! its figures measure what they say: the seeded history is due exactly where the scheduler
//! thinks so, the SMTP watch sees what Postfix accepted, and the percentiles are right.
//! Speed is not asserted here: that is the benchmark's job.

mod support;

#[allow(dead_code)]
#[path = "../benches/load/report.rs"]
mod report;
#[allow(dead_code)]
#[path = "../benches/load/seed.rs"]
mod seed;
#[path = "../benches/load/smtp_watch.rs"]
mod smtp_watch;

use std::time::SystemTime;

use chrono::{TimeZone, Utc};
use leadbot::config::Config;
use leadbot::workflow::scheduler::tick;
use support::MailStack;
use support::db::{SECRET, TestDb, seed_directory};

#[tokio::test]
async fn seeded_history_is_due_exactly_where_the_scheduler_sees_it() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    // Before the digests' time (08:00 UTC by default), so the tick's work is the leads'.
    let now = Utc.with_ymd_and_hms(2026, 11, 20, 7, 0, 0).unwrap();
    seed::leads(&db.pool, 500, 40, now).await;
    let config = Config::from_parts(
        None,
        &format!("[bot]\nsecret = \"{SECRET}\"\n"),
        &[("DATABASE_URL".to_string(), db.url.clone())],
    )
    .expect("config");

    let sweep = tick(&db.pool, &config, now).await.expect("the sweep");
    assert_eq!(sweep.expired, 40, "{sweep:?}");
    assert_eq!(
        (
            sweep.first_reminders,
            sweep.final_reminders,
            sweep.hot_windows_closed
        ),
        (0, 0, 0),
        "only expiry is due in the seeded history: {sweep:?}"
    );
    let idle = tick(&db.pool, &config, now).await.expect("an idle tick");
    assert!(
        idle.did_nothing(),
        "nothing is left after the sweep: {idle:?}"
    );

    let (leads, open, events): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM leads), (SELECT count(*) FROM leads WHERE state = 'received'),
                (SELECT count(*) FROM lead_events WHERE actor = 'seed')",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(leads, 500);
    // One history lead in a hundred is open with nothing due yet: an idle tick looks past it.
    assert_eq!(open, 4, "leads 100, 200, 300 and 400 stay open");
    // Each lead was received; most were also answered or closed.
    assert!(events > 500, "{events} events for 500 leads");
}

#[tokio::test]
async fn the_smtp_watch_sees_what_postfix_accepted_for_whom() {
    let stack = MailStack::start().await;
    let watch = smtp_watch::SmtpWatch::start(stack.smtp_port()).await;
    let since = SystemTime::now();
    let body = "x".repeat(500);
    let raw = format!(
        "From: a@client.test\r\nTo: alice@contoso.test\r\nSubject: watched\r\n\r\n{body}\r\n"
    );
    let envelope = lettre::address::Envelope::new(
        Some("a@client.test".parse().unwrap()),
        vec![
            "alice@contoso.test".parse().unwrap(),
            "paul@contoso.test".parse().unwrap(),
        ],
    )
    .unwrap();
    let transport =
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(watch.port())
            .build();
    lettre::AsyncTransport::send_raw(&transport, &envelope, raw.as_bytes())
        .await
        .expect("Postfix accepts the mail through the watch");

    let accepted = watch
        .accepted_for("paul@contoso.test", since)
        .expect("the watch saw Postfix accept the mail for Paul");
    assert!(accepted >= since && accepted <= SystemTime::now());
    assert_eq!(
        watch.last_accepted(),
        Some(accepted),
        "one mail, one acceptance"
    );
    assert!(watch.accepted_for("marc@contoso.test", since).is_none());
    assert!(
        watch
            .accepted_for("alice@contoso.test", SystemTime::now())
            .is_none(),
        "nothing accepted after now"
    );
    // The data as sent, line ends included: the message, then the CRLF that lettre puts
    // before the closing dot.
    assert_eq!(
        watch.bytes_for("alice@contoso.test", since),
        Some(raw.len() + 2)
    );
}

#[test]
fn percentiles_interpolate_between_ranks() {
    let values = [4.0, 1.0, 3.0, 2.0];
    assert_eq!(report::median(&values), Some(2.5));
    assert_eq!(report::percentile(&values, 0.0), Some(1.0));
    assert_eq!(report::percentile(&values, 100.0), Some(4.0));
    assert_eq!(report::percentile(&[7.0], 99.0), Some(7.0));
    assert_eq!(report::median(&[]), None);
}

#[test]
fn counts_read_with_thousands_separators() {
    assert_eq!(report::thousands(0), "0");
    assert_eq!(report::thousands(999), "999");
    assert_eq!(report::thousands(10_000), "10,000");
    assert_eq!(report::thousands(1_000_000), "1,000,000");
}
