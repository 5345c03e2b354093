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

/// Records several raw messages in one statement (a batch's), in the order given, each
/// with its own time. For each message: its new row, or `None` when its key was taken —
/// by a message recorded before, or by an earlier one of these with the same key.
pub async fn record_many(
    conn: &mut PgConnection,
    source: &str,
    messages: &[NewInbound<'_>],
) -> Result<Vec<Option<i64>>, StoreError> {
    let keys: Vec<&str> = messages.iter().map(|m| m.key.as_str()).collect();
    let message_ids: Vec<Option<&str>> = messages.iter().map(|m| m.message_id).collect();
    let raws: Vec<&[u8]> = messages.iter().map(|m| m.raw).collect();
    let times: Vec<DateTime<Utc>> = messages.iter().map(|m| m.received_at).collect();
    let inserted: Vec<(String, i64)> = sqlx::query_as(
        "INSERT INTO inbound_messages (idempotency_key, message_id, source, raw, received_at)
         SELECT key, message_id, $3, raw, received_at
         FROM UNNEST($1::text[], $2::text[], $4::bytea[], $5::timestamptz[])
             WITH ORDINALITY AS m (key, message_id, raw, received_at, n)
         ORDER BY n
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key, id",
    )
    .bind(&keys)
    .bind(&message_ids)
    .bind(source)
    .bind(&raws)
    .bind(&times)
    .fetch_all(conn)
    .await
    .doing("recording a batch of inbound messages")?;
    let mut new: std::collections::HashMap<String, i64> = inserted.into_iter().collect();
    // The first message with a key is the one its row holds.
    Ok(keys.iter().map(|key| new.remove(*key)).collect())
}

/// A message for [`record_many`].
pub struct NewInbound<'a> {
    pub key: String,
    pub message_id: Option<&'a str>,
    pub raw: &'a [u8],
    pub received_at: DateTime<Utc>,
}

/// What processing found, written in the same transaction as its effects.
#[derive(Debug, Clone)]
pub struct Finding {
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub class: Option<String>,
    pub parsed: Option<serde_json::Value>,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub lead_id: Option<i64>,
}

/// A finding about one message, and when it was made.
#[derive(Debug, Clone)]
pub struct Finished {
    pub id: i64,
    pub finding: Finding,
    pub at: DateTime<Utc>,
}

/// Writes findings in one statement (all of a transaction's messages).
pub async fn finish_many(conn: &mut PgConnection, all: &[Finished]) -> Result<(), StoreError> {
    if all.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&Finding) -> Option<&str>| -> Vec<Option<&str>> {
        all.iter().map(|done| f(&done.finding)).collect()
    };
    let ids: Vec<i64> = all.iter().map(|done| done.id).collect();
    let parsed: Vec<Option<serde_json::Value>> =
        all.iter().map(|done| done.finding.parsed.clone()).collect();
    let outcomes: Vec<&str> = all
        .iter()
        .map(|done| done.finding.outcome.as_str())
        .collect();
    let lead_ids: Vec<Option<i64>> = all.iter().map(|done| done.finding.lead_id).collect();
    let times: Vec<DateTime<Utc>> = all.iter().map(|done| done.at).collect();
    sqlx::query(
        "UPDATE inbound_messages AS m SET sender = f.sender, subject = f.subject,
             class = f.class, parsed = f.parsed, outcome = f.outcome, reason = f.reason,
             lead_id = f.lead_id, processed_at = f.at
         FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::jsonb[],
                     $6::text[], $7::text[], $8::bigint[], $9::timestamptz[])
             AS f (id, sender, subject, class, parsed, outcome, reason, lead_id, at)
         WHERE m.id = f.id",
    )
    .bind(&ids)
    .bind(column(|f| f.sender.as_deref()))
    .bind(column(|f| f.subject.as_deref()))
    .bind(column(|f| f.class.as_deref()))
    .bind(&parsed)
    .bind(&outcomes)
    .bind(column(|f| f.reason.as_deref()))
    .bind(&lead_ids)
    .bind(&times)
    .execute(conn)
    .await
    .doing("recording how inbound messages ended")?;
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
