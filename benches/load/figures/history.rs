//! Does a message cost more as history grows? Messages ingested one transaction each, in this
//! process (no IMAP, no SMTP: the database's share alone), on databases already holding
//! 0, 10,000 and 100,000 leads (set-based seed, see seed.rs): first M RFIs, each a lead with
//! its notifications queued, then M replies accepting those leads (token checked, command
//! read, lead saved, transcript queued). The floor of each size is the cost at 0 leads in the
//! same round.

use std::time::Instant;

use chrono::{NaiveTime, TimeDelta, Utc};
use leadbot::config::Config;
use leadbot::workflow::ingest::{Handled, ingest};
use sqlx::PgPool;

use crate::harness::{Bench, CONTACT, rfi};
use crate::report::{Table, Unit, thousands};
use crate::{Sizes, seed};

const GOAL: &str = "≤ 1.2× the cost at 0 (at 100,000)";

/// Milliseconds per message at one history size.
struct Costs {
    rfi: f64,
    reply: f64,
}

pub async fn run(bench: &Bench, sizes: &Sizes, round: usize, table: &mut Table) {
    let mut at_zero: Option<Costs> = None;
    for &leads in &sizes.history {
        let costs = costs(bench, leads, sizes.history_rfis, round).await;
        let rfi_figure = format!(
            "ingest cost per RFI, {} leads already in the database",
            thousands(leads)
        );
        let reply_figure = format!(
            "ingest cost per reply (ACCEPT), {} leads already in the database",
            thousands(leads)
        );
        match &at_zero {
            None if leads == 0 => {
                table.record(&rfi_figure, Unit::Millis, costs.rfi, None, "—");
                table.record(&reply_figure, Unit::Millis, costs.reply, None, "—");
                at_zero = Some(costs);
            }
            zero => {
                let floor = "the same at 0 leads";
                table.record(
                    &rfi_figure,
                    Unit::Millis,
                    costs.rfi,
                    zero.as_ref().map(|zero| (floor, zero.rfi)),
                    GOAL,
                );
                table.record(
                    &reply_figure,
                    Unit::Millis,
                    costs.reply,
                    zero.as_ref().map(|zero| (floor, zero.reply)),
                    GOAL,
                );
            }
        }
    }
}

/// Milliseconds per RFI and per reply ingested on a database holding `leads` leads.
async fn costs(bench: &Bench, leads: usize, messages: usize, round: usize) -> Costs {
    let db = bench
        .fresh_database(&format!("history_{leads}_{round}"))
        .await;
    let now = Utc::now().date_naive().and_time(NaiveTime::MIN).and_utc() + TimeDelta::hours(7);
    seed::leads(&db.pool, leads, 0, now).await;
    let config =
        Config::from_parts(None, "", &bench.env(&db, None)).expect("the bench's configuration");

    let started = Instant::now();
    for n in 0..messages {
        let raw = rfi(&format!("history{leads}-{round}-{n}"));
        let report = ingest(&db.pool, &config, "bench", &raw, Utc::now())
            .await
            .expect("ingest an RFI");
        assert!(
            matches!(report.handled, Handled::LeadsCreated(_)),
            "an RFI made no lead: {:?}",
            report.handled
        );
    }
    let rfi = started.elapsed().as_secs_f64() * 1e3 / messages as f64;

    let replies = accept_replies(&db.pool).await;
    assert_eq!(
        replies.len(),
        messages,
        "one notification to {CONTACT} per RFI"
    );
    let started = Instant::now();
    for raw in &replies {
        let report = ingest(&db.pool, &config, "bench", raw, Utc::now())
            .await
            .expect("ingest a reply");
        assert!(
            matches!(report.handled, Handled::Applied(_)),
            "a reply was not applied: {:?}",
            report.handled
        );
    }
    let reply = started.elapsed().as_secs_f64() * 1e3 / messages as f64;

    bench.release(db).await;
    Costs { rfi, reply }
}

/// ACCEPT from [`CONTACT`] to each new-lead notification queued for her, replying to its
/// Reply-To token address, threaded on its Message-ID, with quoted history below.
async fn accept_replies(pool: &PgPool) -> Vec<Vec<u8>> {
    let notifications: Vec<(Option<String>, String)> = sqlx::query_as(
        "SELECT reply_to, message_id FROM outbox WHERE template = 'new_lead' AND recipient = $1
         ORDER BY id",
    )
    .bind(CONTACT)
    .fetch_all(pool)
    .await
    .expect("the notifications to reply to");
    notifications
        .iter()
        .enumerate()
        .map(|(n, (reply_to, message_id))| {
            format!(
                "From: {CONTACT}\r\nTo: {}\r\nSubject: Re: lead\r\n\
                 Message-ID: <history-reply-{n}-{}@contoso.test>\r\nIn-Reply-To: <{message_id}>\r\n\
                 \r\nACCEPT\r\nValue: 25k EUR\r\n\r\nOn Mon, leadbot wrote:\r\n> DECLINE\r\n",
                reply_to.as_deref().unwrap_or_default(),
                uuid::Uuid::now_v7().simple()
            )
            .into_bytes()
        })
        .collect()
}
