//! PostgreSQL: the only place that knows SQL. Queries are checked at run time (no build-time
//! database needed) and every one of them is exercised by the tests in `tests/`.

pub mod checkpoints;
pub mod counts;
pub mod directory;
pub mod inbound;
pub mod leads;
pub mod limits;
pub mod locks;
pub mod outbox;
pub mod private_cluster;
pub mod reach;
pub mod schedule;
pub mod stats;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot reach PostgreSQL at {target}")]
    Connect { target: String, source: sqlx::Error },
    #[error("migrating the database failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error while {doing}")]
    Query {
        doing: &'static str,
        source: sqlx::Error,
    },
}

impl StoreError {
    /// Worth retrying later (e.g. EX_TEMPFAIL): PostgreSQL unreachable, restarting or
    /// overloaded, or a transaction that lost a serialization race. Anything else would
    /// fail the same way again.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect { source, .. } | Self::Query { source, .. } => is_transient(source),
            Self::Migrate(_) => false,
        }
    }
}

/// The sqlx errors that a later attempt may not meet: lost connections, and the SQLSTATEs
/// of a server going away or too busy — class 08 (connection exception), class 53
/// (insufficient resources: too many connections, out of memory or disk), 57P01 admin
/// shutdown, 57P02 crash shutdown, 57P03 cannot connect now (starting up, recovering),
/// 40001 serialization failure and 40P01 deadlock.
pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(database) => database
            .code()
            .is_some_and(|code| is_transient_sqlstate(&code)),
        _ => false,
    }
}

fn is_transient_sqlstate(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(code, "57P01" | "57P02" | "57P03" | "40001" | "40P01")
}

/// Adds what was being done to a sqlx error.
pub(crate) trait Doing<T> {
    fn doing(self, doing: &'static str) -> Result<T, StoreError>;
}

impl<T> Doing<T> for Result<T, sqlx::Error> {
    fn doing(self, doing: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Query { doing, source })
    }
}

/// Where a database URL points, without its password, for messages.
pub fn describe_url(url: &str) -> String {
    match PgConnectOptions::from_str(url) {
        Ok(options) => format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("")
        ),
        Err(_) => "an unparseable database URL".into(),
    }
}

pub async fn connect(url: &str) -> Result<PgPool, StoreError> {
    let target = describe_url(url);
    let options = PgConnectOptions::from_str(url)
        .map_err(|source| StoreError::Connect {
            target: target.clone(),
            source,
        })?
        .log_statements(tracing::log::LevelFilter::Trace);
    PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(|source| StoreError::Connect { target, source })
}

pub async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::migrate!("./migrations").run(pool).await?;
    Ok(())
}

/// Creates the database named in `url` if the server does not have it yet, so a new
/// installation needs nothing but a reachable PostgreSQL. Returns true if it was created.
pub async fn create_database_if_missing(url: &str) -> Result<bool, StoreError> {
    use sqlx::migrate::MigrateDatabase;
    let connect_error = |source| StoreError::Connect {
        target: describe_url(url),
        source,
    };
    if sqlx::Postgres::database_exists(url)
        .await
        .map_err(connect_error)?
    {
        return Ok(false);
    }
    sqlx::Postgres::create_database(url)
        .await
        .map_err(connect_error)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::is_transient_sqlstate;

    #[test]
    fn server_going_away_or_busy_is_transient_bad_data_is_not() {
        for code in [
            "08006", "08001", "08P01", "53300", "53100", "57P01", "57P02", "57P03", "40001",
            "40P01",
        ] {
            assert!(is_transient_sqlstate(code), "{code}");
        }
        // Unique violation, bad text encoding, query canceled, undefined table.
        for code in ["23505", "22021", "57014", "42P01"] {
            assert!(!is_transient_sqlstate(code), "{code}");
        }
    }
}
