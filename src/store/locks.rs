//! PostgreSQL session advisory locks: "only one process does this" across machines that
//! share one database. A session lock belongs to its connection, so it needs a dedicated
//! connection (never a pooled one) and is released by PostgreSQL the moment that connection
//! closes — also when the holding process dies.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

use super::{Doing, StoreError, describe_url};

/// A dedicated connection that tries to take one named advisory lock.
pub struct LockConnection {
    conn: PgConnection,
    /// The lock's name; PostgreSQL's `hashtext` turns it into the lock key.
    name: String,
}

impl LockConnection {
    pub async fn connect(database_url: &str, name: impl Into<String>) -> Result<Self, StoreError> {
        let target = describe_url(database_url);
        let options = PgConnectOptions::from_str(database_url)
            .map_err(|source| StoreError::Connect {
                target: target.clone(),
                source,
            })?
            .application_name("leadbot-lock")
            .log_statements(tracing::log::LevelFilter::Trace);
        let conn = options
            .connect()
            .await
            .map_err(|source| StoreError::Connect { target, source })?;
        Ok(Self {
            conn,
            name: name.into(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Takes the lock if nobody holds it; never waits. True when this connection holds it.
    pub async fn try_lock(&mut self) -> Result<bool, StoreError> {
        sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
            .bind(&self.name)
            .fetch_one(&mut self.conn)
            .await
            .doing("trying to take an advisory lock")
    }

    /// A round trip on the connection: while it succeeds, the lock is still held.
    pub async fn ping(&mut self) -> Result<(), StoreError> {
        self.conn
            .ping()
            .await
            .doing("checking the advisory lock's connection")
    }

    /// Gives the lock back and closes the connection (closing alone would release it too;
    /// unlocking first says so explicitly and keeps the server log clean).
    pub async fn unlock_and_close(mut self) -> Result<(), StoreError> {
        sqlx::query_scalar::<_, bool>("SELECT pg_advisory_unlock(hashtext($1))")
            .bind(&self.name)
            .fetch_one(&mut self.conn)
            .await
            .doing("releasing an advisory lock")?;
        self.conn
            .close()
            .await
            .doing("closing the advisory lock's connection")
    }
}
