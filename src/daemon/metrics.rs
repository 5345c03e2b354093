//! Prometheus metrics, encoded by the `prometheus-client` crate (its conventions: counters
//! end in `_total`, histograms in `_bucket`/`_sum`/`_count`, every series under `leadbot_`).
//!
//! Counts that several processes share (messages by class, leads by state, the outbox)
//! are read from PostgreSQL when scraped (kept by triggers: `store::counts`), so every instance reports the same truth; what
//! only this process knows (sends, retries, reconnects, ingest latency) is counted in
//! memory. A scrape never waits more than [`DATABASE_BUDGET`] for PostgreSQL: when it is
//! away, the process's own series still come, with `leadbot_database_up 0`.

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sqlx::PgPool;

use crate::store::StoreError;
use crate::store::counts::{self, Counted};
use crate::telemetry::LatencyHistogram;
use crate::workflow::listener::ListenerStatsSnapshot;

/// How long a scrape may wait for PostgreSQL's counts.
pub const DATABASE_BUDGET: Duration = Duration::from_secs(1);

type Labels = Vec<(&'static str, String)>;

/// This process's own counters; cheap to clone (each one is shared).
#[derive(Default)]
pub struct Metrics {
    pub outbox_sent: Counter,
    pub outbox_retried: Counter,
    pub outbox_failed: Counter,
    pub scheduler_ticks: Counter,
}

/// What PostgreSQL says about everyone's work, read at scrape time.
struct DatabaseCounts {
    inbound: Vec<(String, String, i64)>,
    leads: Vec<(String, i64)>,
    outbox: Vec<(String, i64)>,
}

impl Metrics {
    pub fn add(counter: &Counter, n: usize) {
        counter.inc_by(n as u64);
    }

    /// The whole exposition: database-wide series (when PostgreSQL answers in time), then
    /// this process's own.
    pub async fn render(
        &self,
        pool: &PgPool,
        listener: &ListenerStatsSnapshot,
        ingest_latency: &LatencyHistogram,
    ) -> String {
        let counts = tokio::time::timeout(DATABASE_BUDGET, read_counts(pool)).await;
        let mut registry = Registry::with_prefix("leadbot");

        let database_up = Gauge::<i64>::default();
        registry.register(
            "database_up",
            "1 when PostgreSQL answered this scrape in time, else 0",
            database_up.clone(),
        );
        match counts {
            Ok(Ok(counts)) => {
                database_up.set(1);
                register_database_counts(&mut registry, counts);
            }
            Ok(Err(error)) => {
                tracing::warn!(error = %format!("{error:#}"), "metrics without the database's counts")
            }
            Err(_) => tracing::warn!(
                "metrics without the database's counts: no answer within {DATABASE_BUDGET:?}"
            ),
        }

        for (name, help, counter) in [
            ("outbox_sent", "Mail this process sent", &self.outbox_sent),
            (
                "outbox_retried",
                "Transient send failures this process will retry",
                &self.outbox_retried,
            ),
            (
                "outbox_failed",
                "Mail this process gave up on",
                &self.outbox_failed,
            ),
            (
                "scheduler_ticks",
                "Scheduler runs by this process",
                &self.scheduler_ticks,
            ),
        ] {
            registry.register(name, help, counter.clone());
        }
        for (name, help, value) in [
            (
                "imap_reconnects",
                "IMAP reconnections by this process",
                listener.reconnects,
            ),
            (
                "imap_ingested",
                "Messages this process's IMAP listener handled",
                listener.ingested,
            ),
            (
                "imap_quarantined",
                "Messages moved to the quarantine folder",
                listener.quarantined,
            ),
        ] {
            let counter = Counter::<u64>::default();
            counter.inc_by(value);
            registry.register(name, help, counter);
        }
        let holds_lock = Gauge::<i64>::default();
        holds_lock.set(i64::from(listener.holds_lock));
        registry.register(
            "imap_holds_lock",
            "1 while this process listens to the mailbox",
            holds_lock,
        );
        registry.register(
            "ingest_seconds",
            "Time to handle one inbound message",
            ingest_latency.histogram(),
        );

        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &registry);
        out
    }
}

async fn read_counts(pool: &PgPool) -> Result<DatabaseCounts, StoreError> {
    let (inbound, leads, outbox) = tokio::join!(
        counts::by_key(pool, Counted::InboundMessages),
        counts::by_key(pool, Counted::Leads),
        counts::by_key(pool, Counted::Outbox),
    );
    let pair = |(key, n): (Vec<String>, i64)| (key.into_iter().next().unwrap_or_default(), n);
    Ok(DatabaseCounts {
        inbound: inbound?
            .into_iter()
            .map(|(key, n)| {
                let mut key = key.into_iter();
                let class = key.next().unwrap_or_default();
                (class, key.next().unwrap_or_default(), n)
            })
            .collect(),
        leads: leads?.into_iter().map(pair).collect(),
        outbox: outbox?.into_iter().map(pair).collect(),
    })
}

fn register_database_counts(registry: &mut Registry, counts: DatabaseCounts) {
    let inbound = Family::<Labels, Counter>::default();
    for (class, outcome, n) in counts.inbound {
        inbound
            .get_or_create(&vec![("class", class), ("outcome", outcome)])
            .inc_by(n.max(0) as u64);
    }
    registry.register(
        "inbound_messages",
        "Inbound messages recorded, by class and outcome",
        inbound,
    );
    let leads = Family::<Labels, Gauge>::default();
    for (state, n) in counts.leads {
        leads.get_or_create(&vec![("state", state)]).set(n);
    }
    registry.register("leads", "Leads by state", leads);
    let outbox = Family::<Labels, Gauge>::default();
    for (state, n) in counts.outbox {
        outbox.get_or_create(&vec![("state", state)]).set(n);
    }
    registry.register("outbox_mail", "Outbox mail by state", outbox);
}
