//! PostgreSQL: the only place that knows SQL. Queries are checked at run time (no build-time
//! database needed) and every one of them is exercised by the tests in `tests/`.

pub mod checkpoints;
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
    /// PostgreSQL unreachable (or restarting): worth retrying later, e.g. EX_TEMPFAIL.
    pub fn is_transient(&self) -> bool {
        let inner = match self {
            Self::Connect { source, .. } | Self::Query { source, .. } => source,
            Self::Migrate(_) => return false,
        };
        matches!(
            inner,
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed
        )
    }
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
