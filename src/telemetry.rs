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

/// A histogram of durations in seconds, shared between threads (a Prometheus histogram).
#[derive(Debug, Clone)]
pub struct LatencyHistogram(prometheus_client::metrics::histogram::Histogram);

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self(prometheus_client::metrics::histogram::Histogram::new(
            LATENCY_BUCKETS,
        ))
    }
}

impl LatencyHistogram {
    pub fn observe(&self, took: std::time::Duration) {
        self.0.observe(took.as_secs_f64());
    }

    /// The histogram itself, to register for a scrape.
    pub fn histogram(&self) -> prometheus_client::metrics::histogram::Histogram {
        self.0.clone()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_are_masked() {
        assert_eq!(
            super::mask("alice.martin@contoso.test"),
            "a***@contoso.test"
        );
        assert_eq!(super::mask("nonsense"), "***");
    }
}
