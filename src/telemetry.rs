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
