//! Does a message cost more as history grows? RFIs ingested one transaction each, in this
//! process (no IMAP, no SMTP: the database's share alone), on databases already holding
//! 0, 10,000 and 100,000 leads (set-based seed, see seed.rs). The floor of each size is the
//! cost at 0 leads in the same round.

use std::time::Instant;

use chrono::{NaiveTime, TimeDelta, Utc};
use leadbot::config::Config;
use leadbot::workflow::ingest::{Handled, ingest};

use crate::harness::{Bench, rfi};
use crate::report::{Table, Unit, thousands};
use crate::{Sizes, seed};

pub async fn run(bench: &Bench, sizes: &Sizes, round: usize, table: &mut Table) {
    let mut at_zero = None;
    for &leads in &sizes.history {
        let cost = cost_per_rfi(bench, leads, sizes.history_rfis, round).await;
        let figure = format!(
            "ingest cost per RFI, {} leads already in the database",
            thousands(leads)
        );
        match at_zero {
            None if leads == 0 => {
                at_zero = Some(cost);
                table.record(&figure, Unit::Millis, cost, None, "—");
            }
            _ => table.record(
                &figure,
                Unit::Millis,
                cost,
                at_zero.map(|zero| ("the same at 0 leads", zero)),
                "≤ 1.2× the cost at 0 (at 100,000)",
            ),
        }
    }
}

/// Milliseconds per RFI ingested on a database holding `leads` leads.
async fn cost_per_rfi(bench: &Bench, leads: usize, rfis: usize, round: usize) -> f64 {
    let db = bench
        .fresh_database(&format!("history_{leads}_{round}"))
        .await;
    let now = Utc::now().date_naive().and_time(NaiveTime::MIN).and_utc() + TimeDelta::hours(7);
    seed::leads(&db.pool, leads, 0, now).await;
    let config =
        Config::from_parts(None, "", &bench.env(&db, None)).expect("the bench's configuration");
    let started = Instant::now();
    for n in 0..rfis {
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
    let cost = started.elapsed().as_secs_f64() * 1e3 / rfis as f64;
    bench.release(db).await;
    cost
}
