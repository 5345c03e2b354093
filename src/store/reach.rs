//! Can this installation use its database? Tells the operator's three usual faults apart —
//! no server, wrong credentials, database not created yet — instead of one "cannot reach".

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

/// How long a server may take to answer before it counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a connection attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// The server answered and the database is there.
    Ready,
    /// Nothing answers at that address (refused, unresolvable, or silent).
    Unreachable(String),
    /// The server answered and refused the user or password.
    AuthenticationFailed(String),
    /// The server accepted the login, but the database does not exist yet.
    DatabaseMissing,
    /// Anything else the server said, or an unusable URL.
    Failed(String),
}

impl Reach {
    /// One line for the operator, naming the fix where there is one.
    pub fn describe(&self, target: &str) -> String {
        match self {
            Self::Ready => format!("{target} reached"),
            Self::Unreachable(why) => format!("server unreachable at {target}: {why}"),
            Self::AuthenticationFailed(why) => {
                format!("authentication failed at {target}: {why}")
            }
            Self::DatabaseMissing => {
                format!("database missing at {target} (run `leadbot migrate` to create it)")
            }
            Self::Failed(why) => format!("cannot use {target}: {why}"),
        }
    }
}

/// Connects once to `url` and classifies what happened.
pub async fn reach(url: &str) -> Reach {
    let options = match PgConnectOptions::from_str(url) {
        Ok(options) => options,
        Err(error) => return Reach::Failed(format!("unusable database URL: {error}")),
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Err(_) => Reach::Unreachable(format!("no answer within {CONNECT_TIMEOUT:?}")),
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            Reach::Ready
        }
        Ok(Err(error)) => classify(&error),
    }
}

fn classify(error: &sqlx::Error) -> Reach {
    match error {
        sqlx::Error::Io(io) => Reach::Unreachable(io.to_string()),
        sqlx::Error::Tls(tls) => Reach::Failed(format!("TLS: {tls}")),
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // invalid_catalog_name
            Some("3D000") => Reach::DatabaseMissing,
            // invalid_password, invalid_authorization_specification (no such role, or
            // pg_hba.conf refuses this user)
            Some("28P01" | "28000") => Reach::AuthenticationFailed(db.message().to_owned()),
            // cannot_connect_now: starting up or shutting down; too_many_connections
            Some("57P03" | "53300") => Reach::Unreachable(db.message().to_owned()),
            _ => Reach::Failed(db.message().to_owned()),
        },
        other => Reach::Failed(other.to_string()),
    }
}
