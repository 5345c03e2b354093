//! Prometheus metrics in the text exposition format, written by hand (a handful of series
//! does not need a metrics framework).
//!
//! Counts that several processes share (messages by class, leads by state, the outbox)
//! are read from PostgreSQL when scraped, so every instance reports the same truth; what
//! only this process knows (retries, reconnects, ingest latency) is counted in memory.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::PgPool;

use crate::store::{Doing, StoreError};

/// Upper bounds of the ingest-latency histogram, in seconds.
const LATENCY_BUCKETS: [f64; 9] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
pub struct Metrics {
    pub outbox_sent: AtomicU64,
    pub outbox_retried: AtomicU64,
    pub outbox_failed: AtomicU64,
    pub imap_reconnects: AtomicU64,
    pub scheduler_ticks: AtomicU64,
    ingest_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    ingest_count: AtomicU64,
    ingest_micros: AtomicU64,
}

impl Metrics {
    pub fn observe_ingest(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.ingest_buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.ingest_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.ingest_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The whole exposition: database-wide gauges, then this process's counters.
    pub async fn render(&self, pool: &PgPool) -> Result<String, StoreError> {
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
                "leadbot_imap_reconnects_total",
                "IMAP reconnections by this process.",
                &self.imap_reconnects,
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
        header(
            &mut out,
            "leadbot_ingest_seconds",
            "histogram",
            "Time to handle one inbound message.",
        );
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.ingest_buckets) {
            let _ = writeln!(
                out,
                "leadbot_ingest_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.ingest_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "leadbot_ingest_seconds_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.ingest_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "leadbot_ingest_seconds_sum {sum}");
        let _ = writeln!(out, "leadbot_ingest_seconds_count {count}");
        Ok(out)
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_lands_in_every_bucket_at_or_above_it() {
        let metrics = Metrics::default();
        metrics.observe_ingest(Duration::from_millis(30));
        let counts: Vec<u64> = metrics
            .ingest_buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        assert_eq!(counts, [0, 0, 0, 1, 1, 1, 1, 1, 1]);
        assert_eq!(metrics.ingest_count.load(Ordering::Relaxed), 1);
    }
}
