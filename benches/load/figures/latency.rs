//! One RFI at a time through the whole loop, over real protocols:
//!
//! ```text
//! SMTP send ─▶ Postfix accepts ─▶ Dovecot ─IDLE notice─▶ leadbot ─▶ Postfix accepts the
//!   notification (seen by the SMTP watch) ─▶ Dovecot ─▶ file in the contact's maildir
//! ```
//!
//! A plain IMAP client IDLEs on the same mailbox as the daemon and notes Dovecot's EXISTS:
//! that instant minus Postfix's acceptance is Dovecot's own delay, and what follows until
//! the notification is accepted is what the bot adds. The end-to-end floor is that delay
//! plus one Postfix hop (a plain mail sent to a mailbox nobody reads, into its maildir).
//! The daemon's RSS is read once it is up and idle.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

use async_imap::extensions::idle::{Handle, IdleResponse};
use async_imap::imap_proto::{MailboxDatum, Response};
use tokio::net::TcpStream;

use crate::Sizes;
use crate::harness::{Bench, CONTACT, STEP_TIMEOUT, listing, rfi, wait_until};
use crate::report::{Table, Unit, percentile};

const HOP_RECIPIENT: &str = "hop@partner.test";
const POLL: Duration = Duration::from_millis(2);

/// One RFI's instants.
struct Sample {
    /// Dovecot's delay: Postfix accepted the RFI → the plain client's EXISTS.
    idle_delay: f64,
    /// EXISTS → Postfix accepted the contact's notification.
    bot_added: f64,
    /// Postfix accepted the RFI → the notification's file in the contact's maildir.
    end_to_end: f64,
    /// Postfix accepted a plain mail → its file in the maildir.
    hop: f64,
}

pub async fn run(bench: &Bench, sizes: &Sizes, round: usize, table: &mut Table) {
    let db = bench.fresh_database(&format!("latency_{round}")).await;
    let user = bench.mailbox(&format!("latency{round}"));
    let mut daemon = bench.daemon(&bench.env(&db, Some(&user))).await;
    table.record(
        "RSS of `run` idle (VmRSS)",
        Unit::Megabytes,
        daemon.memory_mb("VmRSS"),
        None,
        "≤ 30 MB",
    );

    let contact_dir = bench.maildir_new(CONTACT);
    let hop_dir = bench.maildir_new(HOP_RECIPIENT);
    let mut observer = bench.imap(&user).await;
    let mut samples = Vec::new();
    for n in 0..sizes.latency_samples {
        let seen_by_contact = listing(&contact_dir);
        let mut idle = observer.idle();
        tokio::time::timeout(STEP_TIMEOUT, idle.init())
            .await
            .expect("IMAP IDLE start timed out")
            .expect("IMAP IDLE start");
        let tag = format!("latency{round}-{n}");
        bench
            .stack
            .send(&format!("c-{tag}@client.test"), &[&user], &rfi(&tag))
            .await;
        let rfi_accepted = SystemTime::now();
        let noticed = wait_for_exists(&mut idle).await;
        observer = tokio::time::timeout(STEP_TIMEOUT, idle.done())
            .await
            .expect("IMAP DONE timed out")
            .expect("IMAP DONE");
        // Looked for from the RFI's acceptance, not from the observer's notice: Dovecot tells
        // its IDLE clients one after the other, so a bot that now answers in ~20 ms can have
        // its notification accepted before the observer hears of the RFI (that sample then
        // counts as negative bot-added time, as measured).
        let notification_accepted = wait_until(STEP_TIMEOUT, POLL, || async {
            bench.watch.accepted_for(CONTACT, rfi_accepted)
        })
        .await
        .unwrap_or_else(|| panic!("no notification to {CONTACT} accepted within {STEP_TIMEOUT:?}"));
        let notification_filed = wait_until(STEP_TIMEOUT, POLL, || async {
            new_file_time(&contact_dir, &seen_by_contact)
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "no notification in {} within {STEP_TIMEOUT:?}",
                contact_dir.display()
            )
        });

        let hop = one_hop(bench, &hop_dir).await;
        // The next RFI starts on an idle bot: this one's lead is committed, its mail sent.
        let pool = &db.pool;
        let settled = wait_until(STEP_TIMEOUT, Duration::from_millis(20), || async move {
            let (leads, queued): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM leads),
                        (SELECT count(*) FROM outbox WHERE state = 'queued')",
            )
            .fetch_one(pool)
            .await
            .ok()?;
            (leads as usize > n && queued == 0).then_some(())
        })
        .await;
        assert!(
            settled.is_some(),
            "RFI {tag} not settled within {STEP_TIMEOUT:?}"
        );
        samples.push(Sample {
            idle_delay: millis_between(rfi_accepted, noticed),
            bot_added: millis_between(noticed, notification_accepted),
            end_to_end: millis_between(rfi_accepted, notification_filed),
            hop,
        });
    }
    let _ = observer.logout().await;
    let _ = daemon.stop();
    bench.release(db).await;

    let of = |pick: fn(&Sample) -> f64| samples.iter().map(pick).collect::<Vec<f64>>();
    let idle_delays = of(|s| s.idle_delay);
    let bot_added = of(|s| s.bot_added);
    let floors: Vec<f64> = samples.iter().map(|s| s.idle_delay + s.hop).collect();
    let p = |values: &[f64], p: f64| percentile(values, p).unwrap_or(f64::NAN);
    let idle_floor = "Dovecot's own IDLE delay, plain IMAP client";
    table.record(
        "bot-added latency p50 (IDLE notice → notification accepted by SMTP)",
        Unit::Millis,
        p(&bot_added, 50.0),
        Some((&format!("{idle_floor}, p50"), p(&idle_delays, 50.0))),
        "< 30 ms",
    );
    table.record(
        "bot-added latency p99",
        Unit::Millis,
        p(&bot_added, 99.0),
        Some((&format!("{idle_floor}, p99"), p(&idle_delays, 99.0))),
        "< 150 ms",
    );
    table.record(
        "end to end p50 (Postfix accepts the RFI → notification in the contact's maildir)",
        Unit::Millis,
        p(&of(|s| s.end_to_end), 50.0),
        Some(("IDLE delay + one Postfix hop, p50", p(&floors, 50.0))),
        "< 700 ms",
    );
}

/// Waits in IDLE until Dovecot reports EXISTS (flag changes from the daemon's `\Seen` are
/// skipped); the instant it arrived.
async fn wait_for_exists(idle: &mut Handle<TcpStream>) -> SystemTime {
    for _ in 0..1_000 {
        let (wait, _stop) = idle.wait_with_timeout(STEP_TIMEOUT);
        match wait.await.expect("IMAP IDLE wait") {
            IdleResponse::NewData(data) => {
                if matches!(
                    data.parsed(),
                    Response::MailboxData(MailboxDatum::Exists(_))
                ) {
                    return SystemTime::now();
                }
            }
            IdleResponse::Timeout | IdleResponse::ManualInterrupt => {
                panic!("Dovecot reported no new mail within {STEP_TIMEOUT:?}")
            }
        }
    }
    panic!("1,000 IDLE responses and no EXISTS")
}

/// Sends a plain ~1 KB mail to [`HOP_RECIPIENT`]: milliseconds from Postfix's acceptance to
/// its file in the maildir.
async fn one_hop(bench: &Bench, dir: &Path) -> f64 {
    let seen = listing(dir);
    let raw = format!(
        "From: floor@client.test\r\nTo: {HOP_RECIPIENT}\r\nSubject: one hop\r\n\
         Message-ID: <hop-{}@client.test>\r\n\r\n{}\r\n",
        uuid::Uuid::now_v7().simple(),
        "x".repeat(1000)
    );
    bench
        .stack
        .send("floor@client.test", &[HOP_RECIPIENT], raw.as_bytes())
        .await;
    let accepted = SystemTime::now();
    let filed = wait_until(STEP_TIMEOUT, POLL, || async { new_file_time(dir, &seen) })
        .await
        .unwrap_or_else(|| {
            panic!(
                "the hop mail did not reach {} within {STEP_TIMEOUT:?}",
                dir.display()
            )
        });
    millis_between(accepted, filed)
}

/// When the first file not in `seen` was written (Dovecot writes it in tmp/, then moves it).
fn new_file_time(dir: &Path, seen: &HashSet<std::ffi::OsString>) -> Option<SystemTime> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|entry| !seen.contains(&entry.file_name()))
        .filter_map(|entry| entry.metadata().ok()?.modified().ok())
        .min()
}

/// Milliseconds from `earlier` to `later` (negative if the clock says otherwise).
fn millis_between(earlier: SystemTime, later: SystemTime) -> f64 {
    match later.duration_since(earlier) {
        Ok(forward) => forward.as_secs_f64() * 1e3,
        Err(backward) => -backward.duration().as_secs_f64() * 1e3,
    }
}
