//! `leadbot check`: is this installation ready to run? One pass/fail line per part.

use std::path::Path;

use crate::config::Config;
use crate::store;
use crate::store::reach::Reach;
use crate::transport::smtp::SmtpTransport;

/// One line of the report.
pub struct CheckLine {
    pub part: &'static str,
    pub passed: bool,
    pub detail: String,
}

impl std::fmt::Display for CheckLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = if self.passed { "pass" } else { "FAIL" };
        write!(f, "{verdict}  {:<14} {}", self.part, self.detail)
    }
}

/// Runs every check, even after a failure, so the operator sees everything at once.
pub async fn check(config_path: Option<&Path>) -> Vec<CheckLine> {
    let config = match Config::load(config_path) {
        Ok(config) => config,
        Err(error) => {
            return vec![CheckLine {
                part: "configuration",
                passed: false,
                detail: error.to_string(),
            }];
        }
    };
    let mut lines = vec![CheckLine {
        part: "configuration",
        passed: true,
        detail: match &config.source {
            Some(path) => format!("{} is valid", path.display()),
            None => "the environment is valid".into(),
        },
    }];
    lines.push(check_database(&config).await);
    lines.push(check_imap(&config).await);
    lines.push(check_smtp(&config).await);
    lines
}

async fn check_database(config: &Config) -> CheckLine {
    let url = config.database_url.expose();
    let target = store::describe_url(url);
    let reach = store::reach::reach(url).await;
    if reach != Reach::Ready {
        return CheckLine {
            part: "postgresql",
            passed: false,
            detail: reach.describe(&target),
        };
    }
    let applied = async {
        let pool = store::connect(url).await?;
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM _sqlx_migrations")
            .fetch_one(&pool)
            .await
            .map_err(|source| store::StoreError::Query {
                doing: "reading the schema version",
                source,
            })
    }
    .await;
    match applied {
        Ok(applied) => CheckLine {
            part: "postgresql",
            passed: true,
            detail: format!("{target} reached, {applied} migration(s) applied"),
        },
        Err(_) => CheckLine {
            part: "postgresql",
            passed: false,
            detail: format!("{target} reached, but its schema is missing (run `leadbot migrate`)"),
        },
    }
}

async fn check_imap(config: &Config) -> CheckLine {
    let Some(imap) = &config.imap else {
        return CheckLine {
            part: "imap",
            passed: true,
            detail: "not configured (mail arrives through `leadbot deliver`)".into(),
        };
    };
    let target = format!("{}:{} mailbox {}", imap.host, imap.port, imap.mailbox);
    match crate::transport::imap::check(imap).await {
        Ok(()) => CheckLine {
            part: "imap",
            passed: true,
            detail: format!("{target}: logged in and opened the mailbox"),
        },
        Err(error) => CheckLine {
            part: "imap",
            passed: false,
            detail: format!("{target}: {error}"),
        },
    }
}

async fn check_smtp(config: &Config) -> CheckLine {
    let Some(smtp) = &config.smtp else {
        return CheckLine {
            part: "smtp",
            passed: true,
            detail: "not configured (mail is written as .eml files)".into(),
        };
    };
    let target = format!("{}:{}", smtp.host, smtp.port);
    let result = match SmtpTransport::new(smtp) {
        Ok(transport) => transport.check().await,
        Err(error) => Err(format!("{error:#}")),
    };
    match result {
        Ok(()) => CheckLine {
            part: "smtp",
            passed: true,
            detail: format!("{target} answered"),
        },
        Err(error) => CheckLine {
            part: "smtp",
            passed: false,
            detail: format!("{target}: {error}"),
        },
    }
}
