//! Inbound messages: recorded whole before anything else happens, unique on their
//! idempotency key, with what the parser made of them and how they ended.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, PgConnection};

use super::{Doing, StoreError};

/// How an inbound message ended (the `outcome` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It changed leads (an RFI made leads, a reply applied a command).
    Applied,
    /// It changed nothing and its sender was told why.
    Answered,
    /// Bounce, auto-reply or list mail: recorded, never answered.
    Automated,
    /// It could not be understood; kept for an operator to inspect and re-process.
    Quarantined,
    /// Understood, but not for leadbot (recorded with the reason).
    Ignored,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Answered => "answered",
            Self::Automated => "automated",
            Self::Quarantined => "quarantined",
            Self::Ignored => "ignored",
        }
    }
}

/// Records the raw message. `None` when a message with the same key is already recorded.
/// `note` tells the operator something about how it was recorded (a reused Message-ID).
pub async fn record(
    conn: &mut PgConnection,
    key: &str,
    message_id: Option<&str>,
    source: &str,
    raw: &[u8],
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<i64>, StoreError> {
    sqlx::query_scalar(
        "INSERT INTO inbound_messages (idempotency_key, message_id, source, raw, note, received_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
    )
    .bind(key)
    .bind(message_id)
    .bind(source)
    .bind(raw)
    .bind(note)
    .bind(now)
    .fetch_optional(conn)
    .await
    .doing("recording an inbound message")
}

/// The id and raw bytes of the message recorded under `key`.
pub async fn by_key(
    conn: &mut PgConnection,
    key: &str,
) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
    sqlx::query_as("SELECT id, raw FROM inbound_messages WHERE idempotency_key = $1")
        .bind(key)
        .fetch_optional(conn)
        .await
        .doing("reading an earlier inbound message")
}

/// What processing found, written in the same transaction as its effects.
pub struct Finding<'a> {
    pub sender: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub class: Option<&'a str>,
    pub parsed: Option<serde_json::Value>,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub lead_id: Option<i64>,
}

pub async fn finish(
    conn: &mut PgConnection,
    id: i64,
    finding: Finding<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE inbound_messages SET sender = $2, subject = $3, class = $4, parsed = $5,
             outcome = $6, reason = $7, lead_id = $8, processed_at = $9
         WHERE id = $1",
    )
    .bind(id)
    .bind(finding.sender)
    .bind(finding.subject)
    .bind(finding.class)
    .bind(finding.parsed)
    .bind(finding.outcome.as_str())
    .bind(finding.reason)
    .bind(finding.lead_id)
    .bind(now)
    .execute(conn)
    .await
    .doing("recording how an inbound message ended")?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct InboundRow {
    pub id: i64,
    pub message_id: Option<String>,
    pub source: String,
    pub received_at: DateTime<Utc>,
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub class: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
    pub lead_id: Option<i64>,
    /// How it was recorded, when that needs saying (a reused Message-ID).
    pub note: Option<String>,
}

const INBOUND_COLUMNS: &str =
    "id, message_id, source, received_at, sender, subject, class, outcome, reason, lead_id, note";

pub async fn list(
    conn: &mut PgConnection,
    quarantined_only: bool,
) -> Result<Vec<InboundRow>, StoreError> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {INBOUND_COLUMNS} FROM inbound_messages
             WHERE NOT $1 OR outcome = 'quarantined' ORDER BY id DESC"
    )))
    .bind(quarantined_only)
    .fetch_all(conn)
    .await
    .doing("listing inbound messages")
}

/// The messages that made or acted on one lead, oldest first.
pub async fn list_for_lead(
    conn: &mut PgConnection,
    lead: i64,
) -> Result<Vec<InboundRow>, StoreError> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {INBOUND_COLUMNS} FROM inbound_messages WHERE lead_id = $1 ORDER BY id"
    )))
    .bind(lead)
    .fetch_all(conn)
    .await
    .doing("listing a lead's messages")
}

/// A recorded message, locked for re-processing: its raw bytes and how it ended.
pub async fn for_reprocessing(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<(Vec<u8>, String, Option<String>)>, StoreError> {
    sqlx::query_as("SELECT raw, outcome, reason FROM inbound_messages WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(conn)
        .await
        .doing("reading an inbound message")
}

/// How message `id` ended (`applied`, `quarantined`, ...), if it exists.
pub async fn outcome(conn: &mut PgConnection, id: i64) -> Result<Option<String>, StoreError> {
    sqlx::query_scalar("SELECT outcome FROM inbound_messages WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
        .doing("reading how an inbound message ended")
}
