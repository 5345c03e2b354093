//! Prometheus metrics in the text exposition format, written by hand (a handful of series
//! does not need a metrics framework).
//!
//! Counts that several processes share (messages by class, leads by state, the outbox)
//! are read from PostgreSQL when scraped, so every instance reports the same truth; what
//! only this process knows (retries, reconnects, ingest latency) is counted in memory.
//! Ingest latency is measured by the IMAP listener, around each message's transaction.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::PgPool;

use crate::store::{Doing, StoreError};
use crate::telemetry::{LATENCY_BUCKETS, LatencyHistogram};
use crate::workflow::listener::ListenerStatsSnapshot;

#[derive(Default)]
pub struct Metrics {
    pub outbox_sent: AtomicU64,
    pub outbox_retried: AtomicU64,
    pub outbox_failed: AtomicU64,
    pub scheduler_ticks: AtomicU64,
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The whole exposition: database-wide gauges, then this process's counters.
    pub async fn render(
        &self,
        pool: &PgPool,
        listener: &ListenerStatsSnapshot,
        ingest_latency: &LatencyHistogram,
    ) -> Result<String, StoreError> {
        let mut out = String::new();
        let inbound: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT coalesce(class, 'unreadable'), outcome, count(*) FROM inbound_messages
             GROUP BY 1, 2 ORDER BY 1, 2",
        )
        .fetch_all(pool)
        .await
        .doing("counting inbound messages")?;
        header(
            &mut out,
            "leadbot_inbound_messages",
            "counter",
            "Inbound messages recorded, by class and outcome.",
        );
        for (class, outcome, n) in inbound {
            let _ = writeln!(
                out,
                "leadbot_inbound_messages{{class=\"{class}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        let leads: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, count(*) FROM leads GROUP BY 1 ORDER BY 1")
                .fetch_all(pool)
                .await
                .doing("counting leads")?;
        header(&mut out, "leadbot_leads", "gauge", "Leads by state.");
        for (state, n) in leads {
            let _ = writeln!(out, "leadbot_leads{{state=\"{state}\"}} {n}");
        }
        let outbox: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, count(*) FROM outbox GROUP BY 1 ORDER BY 1")
                .fetch_all(pool)
                .await
                .doing("counting outbox mail")?;
        header(
            &mut out,
            "leadbot_outbox_mail",
            "gauge",
            "Outbox mail by state.",
        );
        for (state, n) in outbox {
            let _ = writeln!(out, "leadbot_outbox_mail{{state=\"{state}\"}} {n}");
        }
        let counters = [
            (
                "leadbot_outbox_sent_total",
                "Mail this process sent.",
                &self.outbox_sent,
            ),
            (
                "leadbot_outbox_retried_total",
                "Transient send failures this process will retry.",
                &self.outbox_retried,
            ),
            (
                "leadbot_outbox_failed_total",
                "Mail this process gave up on.",
                &self.outbox_failed,
            ),
            (
                "leadbot_scheduler_ticks_total",
                "Scheduler runs by this process.",
                &self.scheduler_ticks,
            ),
        ];
        for (name, help, counter) in counters {
            header(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {}", counter.load(Ordering::Relaxed));
        }
        let imap = [
            (
                "leadbot_imap_reconnects_total",
                "IMAP reconnections by this process.",
                listener.reconnects,
            ),
            (
                "leadbot_imap_ingested_total",
                "Messages this process's IMAP listener handled.",
                listener.ingested,
            ),
            (
                "leadbot_imap_quarantined_total",
                "Messages moved to the quarantine folder.",
                listener.quarantined,
            ),
        ];
        for (name, help, value) in imap {
            header(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {value}");
        }
        header(
            &mut out,
            "leadbot_imap_holds_lock",
            "gauge",
            "1 while this process listens to the mailbox.",
        );
        let _ = writeln!(
            out,
            "leadbot_imap_holds_lock {}",
            u8::from(listener.holds_lock)
        );
        header(
            &mut out,
            "leadbot_ingest_seconds",
            "histogram",
            "Time to handle one inbound message.",
        );
        let (buckets, count, sum) = ingest_latency.read();
        for (bound, cumulative) in LATENCY_BUCKETS.iter().zip(buckets) {
            let _ = writeln!(
                out,
                "leadbot_ingest_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(out, "leadbot_ingest_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "leadbot_ingest_seconds_sum {sum}");
        let _ = writeln!(out, "leadbot_ingest_seconds_count {count}");
        Ok(out)
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}
