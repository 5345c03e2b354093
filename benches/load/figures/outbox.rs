//! `leadbot outbox flush` sending N queued notifications into Postfix, beside Postfix's own
//! `smtp-source` sending as many mails of the same size over one session. Both go through the
//! SMTP watch, which also measures the size leadbot's mails have on the wire; each side waits
//! until Postfix has delivered its mail into the maildir before the other starts.

use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use crate::Sizes;
use crate::harness::{Bench, BenchDb, CONTACT, listing, rfi, run_bounded, wait_until};
use crate::report::{Table, Unit, thousands};

/// Debian's postfix package ships it.
const SMTP_SOURCE: &str = "/usr/sbin/smtp-source";
const DRAIN_LIMIT: Duration = Duration::from_secs(300);

pub async fn run(bench: &Bench, sizes: &Sizes, round: usize, floor_first: bool, table: &mut Table) {
    let mails = sizes.outbox;
    let db = bench.fresh_database(&format!("outbox_{round}")).await;
    let size = queue_notifications(bench, &db, mails).await;
    let (leadbot, floor) = if floor_first {
        let floor = smtp_source(bench, mails, size).await;
        (flush(bench, &db, mails).await, floor)
    } else {
        let leadbot = flush(bench, &db, mails).await;
        (leadbot, smtp_source(bench, mails, size).await)
    };
    bench.release(db).await;
    table.record(
        &format!("`outbox flush`, {} mails into Postfix", thousands(mails)),
        Unit::PerSecond,
        leadbot,
        Some((
            "Postfix's smtp-source, same count and size, 1 session",
            floor,
        )),
        "≥ 0.8 of smtp-source",
    );
}

/// Queues `mails` copies of a real new-lead notification to [`CONTACT`]; returns the size a
/// notification has on the wire, in bytes.
async fn queue_notifications(bench: &Bench, db: &BenchDb, mails: usize) -> usize {
    // One RFI through `deliver` queues the real thing; sending it measures its size.
    let env = bench.env(db, None);
    let filed = listing(&bench.maildir_new(CONTACT)).len();
    let delivered = bench.leadbot(&env, &["deliver"], &rfi(&format!("outbox-{}", db.name)));
    assert!(
        delivered.status.success(),
        "leadbot deliver failed: {delivered:?}"
    );
    let since = SystemTime::now();
    let flushed = bench.leadbot(&env, &["outbox", "flush"], b"");
    assert!(
        flushed.status.success(),
        "leadbot outbox flush failed: {flushed:?}"
    );
    let size = bench
        .watch
        .bytes_for(CONTACT, since)
        .expect("the notification to the contact went through the SMTP watch");
    drain(bench, filed + 1).await;
    println!("  a new-lead notification is {size} bytes on the wire");
    let copied = sqlx::query(
        "INSERT INTO outbox (lead_id, template, recipient, subject, message_id, reply_to,
             in_reply_to, refs, text_body, html_body)
         SELECT lead_id, template, recipient, subject, 'bench-' || g || '-' || message_id,
             reply_to, in_reply_to, refs, text_body, html_body
         FROM outbox CROSS JOIN generate_series(1, $2::bigint) AS g
         WHERE id = (SELECT min(id) FROM outbox WHERE recipient = $1)",
    )
    .bind(CONTACT)
    .bind(mails as i64)
    .execute(&db.pool)
    .await
    .expect("queue copies of the notification");
    assert_eq!(copied.rows_affected(), mails as u64);
    size
}

/// Mails per second of one `leadbot outbox flush` that sends all `mails`.
async fn flush(bench: &Bench, db: &BenchDb, mails: usize) -> f64 {
    let env = bench.env(db, None);
    let before = listing(&bench.maildir_new(CONTACT)).len();
    let started = Instant::now();
    let output = bench.leadbot(&env, &["outbox", "flush"], b"");
    let elapsed = started.elapsed();
    assert!(
        output.status.success(),
        "leadbot outbox flush failed: {output:?}"
    );
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE state <> 'sent'")
        .fetch_one(&db.pool)
        .await
        .expect("count unsent mail");
    assert_eq!(queued, 0, "outbox flush left {queued} mails unsent");
    drain(bench, before + mails).await;
    mails as f64 / elapsed.as_secs_f64()
}

/// Mails per second of `smtp-source` sending `mails` of `size` bytes to [`CONTACT`].
async fn smtp_source(bench: &Bench, mails: usize, size: usize) -> f64 {
    assert!(
        std::path::Path::new(SMTP_SOURCE).is_file(),
        "{SMTP_SOURCE} is missing; it comes with Debian's postfix package: apt-get install postfix"
    );
    let before = listing(&bench.maildir_new(CONTACT)).len();
    let started = Instant::now();
    let output = run_bounded(
        Command::new(SMTP_SOURCE)
            .args(["-s", "1", "-m", &mails.to_string(), "-l", &size.to_string()])
            .args(["-f", "floor@client.test", "-t", CONTACT])
            .arg(format!("127.0.0.1:{}", bench.watch.port())),
        b"",
    );
    let elapsed = started.elapsed();
    assert!(output.status.success(), "smtp-source failed: {output:?}");
    drain(bench, before + mails).await;
    mails as f64 / elapsed.as_secs_f64()
}

/// Waits until the contact's maildir holds `files`: Postfix has delivered everything.
async fn drain(bench: &Bench, files: usize) {
    let dir = bench.maildir_new(CONTACT);
    let drained = wait_until(DRAIN_LIMIT, Duration::from_millis(100), || async {
        (listing(&dir).len() >= files).then_some(())
    })
    .await;
    if drained.is_none() {
        eprintln!("outbox: Postfix did not deliver everything within {DRAIN_LIMIT:?}");
    }
}
