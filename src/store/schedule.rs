//! The scheduler's tables: claiming leads with due timed work, the markers that make each
//! rule fire once, and the digests already sent.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;

use super::{Doing, StoreError};
use crate::config::ScheduleConfig;
use crate::domain::digest::DigestLead;
use crate::domain::{LeadId, Money};

/// A lead's clock: the timestamps and markers the timed rules read.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DueLead {
    pub id: i64,
    pub state: String,
    pub received_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub hot_until: Option<DateTime<Utc>>,
    pub first_reminder_at: Option<DateTime<Utc>>,
    pub final_reminder_at: Option<DateTime<Utc>>,
    pub hot_closed_at: Option<DateTime<Utc>>,
}

/// Locks up to `limit` leads with id above `after` that some timed rule may be due for,
/// skipping leads another transaction holds (another scheduler, or a reply being applied).
/// The WHERE clause is a cheap pre-filter; `scheduler::due_chores` decides.
pub async fn claim_due(
    conn: &mut PgConnection,
    after: i64,
    schedule: &ScheduleConfig,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<DueLead>, StoreError> {
    sqlx::query_as(
        "SELECT id, state, received_at, expires_at, hot_until, first_reminder_at,
             final_reminder_at, hot_closed_at
         FROM leads
         WHERE id > $1 AND (
             (state = 'received' AND (
                 expires_at <= $2
                 OR (first_reminder_at IS NULL AND received_at <= $3)
                 OR (final_reminder_at IS NULL AND expires_at <= $4)))
             OR (state IN ('received', 'accepted') AND hot_closed_at IS NULL
                 AND hot_until <= $2))
         ORDER BY id
         LIMIT $5
         FOR UPDATE SKIP LOCKED",
    )
    .bind(after)
    .bind(now)
    .bind(now - schedule.first_reminder)
    .bind(now + schedule.final_reminder)
    .bind(limit)
    .fetch_all(conn)
    .await
    .doing("claiming leads with due timed work")
}

/// Records the reminders sent; `first` and `last` say which markers to set (a final
/// reminder that catches up sets both, so the first one never follows it).
pub async fn mark_reminded(
    conn: &mut PgConnection,
    id: LeadId,
    first: bool,
    last: bool,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE leads SET
             first_reminder_at = CASE WHEN $2 THEN coalesce(first_reminder_at, $4)
                                      ELSE first_reminder_at END,
             final_reminder_at = CASE WHEN $3 THEN coalesce(final_reminder_at, $4)
                                      ELSE final_reminder_at END
         WHERE id = $1",
    )
    .bind(id.0)
    .bind(first)
    .bind(last)
    .bind(now)
    .execute(conn)
    .await
    .doing("recording a reminder")?;
    Ok(())
}

pub async fn mark_hot_window_closed(
    conn: &mut PgConnection,
    id: LeadId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE leads SET hot_closed_at = $2 WHERE id = $1 AND hot_closed_at IS NULL")
        .bind(id.0)
        .bind(now)
        .execute(conn)
        .await
        .doing("recording a closed contact window")?;
    Ok(())
}

/// A partner admin who receives digests.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DigestRecipient {
    pub contact_id: i64,
    pub email: String,
    pub locale: String,
    pub partner_id: String,
    pub partner_name: String,
}

/// Every partner admin (of `partner`, if given), by partner then contact.
pub async fn digest_recipients(
    conn: &mut PgConnection,
    partner: Option<&str>,
) -> Result<Vec<DigestRecipient>, StoreError> {
    sqlx::query_as(
        "SELECT c.id AS contact_id, c.email, c.locale, p.id AS partner_id, p.name AS partner_name
         FROM contacts c JOIN partners p ON p.id = c.partner_id
         WHERE c.role = 'partner_admin' AND ($1::text IS NULL OR p.id = $1)
         ORDER BY p.id, c.id",
    )
    .bind(partner)
    .fetch_all(conn)
    .await
    .doing("listing digest recipients")
}

/// When the contact's last digest before `now` went out.
pub async fn last_digest_before(
    conn: &mut PgConnection,
    contact_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    sqlx::query_scalar(
        "SELECT max(sent_at) FROM digests_sent WHERE contact_id = $1 AND sent_at < $2",
    )
    .bind(contact_id)
    .bind(now)
    .fetch_one(conn)
    .await
    .doing("reading the last digest sent")
}

/// Claims the contact's digest for `day`: true if this transaction is the one to send it.
/// A second scheduler inserting the same row waits for the first to commit, then gets false.
pub async fn claim_digest(
    conn: &mut PgConnection,
    contact_id: i64,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let claimed: Option<i64> = sqlx::query_scalar(
        "INSERT INTO digests_sent (contact_id, day, sent_at) VALUES ($1, $2, $3)
         ON CONFLICT (contact_id, day) DO NOTHING RETURNING contact_id",
    )
    .bind(contact_id)
    .bind(day)
    .bind(now)
    .fetch_optional(conn)
    .await
    .doing("claiming a digest")?;
    Ok(claimed.is_some())
}

/// Records a digest sent on demand, whether or not one went out earlier that day.
pub async fn record_digest(
    conn: &mut PgConnection,
    contact_id: i64,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO digests_sent (contact_id, day, sent_at) VALUES ($1, $2, $3)
         ON CONFLICT (contact_id, day) DO UPDATE SET sent_at = EXCLUDED.sent_at",
    )
    .bind(contact_id)
    .bind(day)
    .bind(now)
    .execute(conn)
    .await
    .doing("recording a digest")?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct DigestLeadRow {
    id: i64,
    kind: String,
    state: String,
    profile_id: String,
    customer_name: Option<String>,
    customer_company: Option<String>,
    customer_email: Option<String>,
    hot_until: Option<DateTime<Utc>>,
    deal_value: Option<Decimal>,
    deal_currency: Option<String>,
    received_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    first_response_at: Option<DateTime<Utc>>,
    accepted_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
}

/// The partner's leads a digest may show: the open ones, and those received or closed
/// since `since`.
pub async fn digest_leads(
    conn: &mut PgConnection,
    partner_id: &str,
    since: DateTime<Utc>,
) -> Result<Vec<DigestLead>, StoreError> {
    let rows: Vec<DigestLeadRow> = sqlx::query_as(
        "SELECT id, kind, state, profile_id, customer_name, customer_company, customer_email,
             hot_until, deal_value, deal_currency, received_at, expires_at, first_response_at,
             (SELECT min(at) FROM lead_events
              WHERE lead_id = leads.id AND kind = 'accepted') AS accepted_at,
             closed_at
         FROM leads
         WHERE partner_id = $1
             AND (state IN ('received', 'accepted') OR received_at >= $2 OR closed_at >= $2)
         ORDER BY received_at, id",
    )
    .bind(partner_id)
    .bind(since)
    .fetch_all(&mut *conn)
    .await
    .doing("reading a partner's leads for a digest")?;
    rows.into_iter()
        .map(|row| {
            let corrupt = |what: String| StoreError::Query {
                doing: "reading a partner's leads for a digest",
                source: sqlx::Error::Decode(what.into()),
            };
            let customer = match (row.customer_name, row.customer_company) {
                (Some(name), Some(company)) => format!("{name} ({company})"),
                (Some(one), None) | (None, Some(one)) => one,
                (None, None) => row
                    .customer_email
                    .unwrap_or_else(|| LeadId(row.id).to_string()),
            };
            Ok(DigestLead {
                id: LeadId(row.id),
                kind: row.kind.parse().map_err(corrupt)?,
                state: row.state.parse().map_err(corrupt)?,
                profile_id: row.profile_id,
                customer,
                hot_until: row.hot_until,
                deal_value: row
                    .deal_value
                    .zip(row.deal_currency)
                    .map(|(amount, currency)| Money { amount, currency }),
                received_at: row.received_at,
                expires_at: row.expires_at,
                first_response_at: row.first_response_at,
                accepted_at: row.accepted_at,
                closed_at: row.closed_at,
            })
        })
        .collect()
}
