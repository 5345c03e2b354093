//! Logging: `LEADBOT_LOG` (tracing's env-filter syntax) sets what is shown — `info` for the
//! daemon, `warn` for one-shot commands — as text or, with `--log-json`, JSON lines.
//! Mail addresses in logs go through [`mask`], so logs do not collect customers' addresses.

use tracing_subscriber::EnvFilter;

pub fn init(json: bool) {
    let filter =
        EnvFilter::try_from_env("LEADBOT_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// `alice.martin@contoso.test` → `a***@contoso.test`: enough to tell partners apart.
pub fn mask(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().map(String::from).unwrap_or_default();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// Upper bounds of [`LatencyHistogram`]'s buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 9] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// A Prometheus-style histogram of durations, shared between threads without locks.
#[derive(Debug, Default)]
pub struct LatencyHistogram {
    buckets: [std::sync::atomic::AtomicU64; LATENCY_BUCKETS.len()],
    count: std::sync::atomic::AtomicU64,
    micros: std::sync::atomic::AtomicU64,
}

impl LatencyHistogram {
    pub fn observe(&self, took: std::time::Duration) {
        use std::sync::atomic::Ordering::Relaxed;
        let seconds = took.as_secs_f64();
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
        self.count.fetch_add(1, Relaxed);
        self.micros
            .fetch_add(u64::try_from(took.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }

    /// (cumulative count per bucket, total count, sum in seconds)
    pub fn read(&self) -> (Vec<u64>, u64, f64) {
        use std::sync::atomic::Ordering::Relaxed;
        let buckets = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let sum = self.micros.load(Relaxed) as f64 / 1e6;
        (buckets, self.count.load(Relaxed), sum)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn latency_lands_in_every_bucket_at_or_above_it() {
        let histogram = super::LatencyHistogram::default();
        histogram.observe(std::time::Duration::from_millis(30));
        let (buckets, count, _) = histogram.read();
        assert_eq!(buckets, [0, 0, 0, 1, 1, 1, 1, 1, 1]);
        assert_eq!(count, 1);
    }

    #[test]
    fn addresses_are_masked() {
        assert_eq!(
            super::mask("alice.martin@contoso.test"),
            "a***@contoso.test"
        );
        assert_eq!(super::mask("nonsense"), "***");
    }
}
