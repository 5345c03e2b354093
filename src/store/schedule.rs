//! The scheduler's tables: claiming leads with due timed work, the markers that make each
//! rule fire once, and the digests already sent.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::{AssertSqlSafe, PgConnection};

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

/// A timed rule, as the scheduler claims its leads: each has a partial index holding only
/// the leads it may still fire for (migration `scheduler_indexes`), walked in the order of
/// the rule's own clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Expire,
    FinalReminder,
    FirstReminder,
    CloseHotWindow,
}

impl Rule {
    /// Expiry first: a lead overdue after downtime is expired, not reminded.
    pub const ALL: [Rule; 4] = [
        Rule::Expire,
        Rule::FinalReminder,
        Rule::FirstReminder,
        Rule::CloseHotWindow,
    ];

    /// The clock column the rule's index is ordered by, and the predicate that index holds
    /// (repeated verbatim in the claim so the planner matches the partial index).
    fn index(self) -> (&'static str, &'static str) {
        match self {
            Rule::Expire => ("expires_at", "state = 'received'"),
            Rule::FinalReminder => (
                "expires_at",
                "state = 'received' AND final_reminder_at IS NULL",
            ),
            Rule::FirstReminder => (
                "received_at",
                "state = 'received' AND first_reminder_at IS NULL",
            ),
            Rule::CloseHotWindow => (
                "hot_until",
                "state IN ('received', 'accepted') AND hot_closed_at IS NULL \
                 AND hot_until IS NOT NULL",
            ),
        }
    }

    /// Leads whose clock column is at or before this instant are due for the rule.
    pub fn due_until(self, schedule: &ScheduleConfig, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Rule::Expire | Rule::CloseHotWindow => now,
            Rule::FinalReminder => now + schedule.final_reminder,
            Rule::FirstReminder => now - schedule.first_reminder,
        }
    }

    /// Where a claim that ended at `lead` resumes.
    pub fn cursor(self, lead: &DueLead) -> Cursor {
        let at = match self {
            Rule::Expire | Rule::FinalReminder => Some(lead.expires_at),
            Rule::FirstReminder => Some(lead.received_at),
            Rule::CloseHotWindow => lead.hot_until,
        };
        Cursor {
            at: at.unwrap_or(Cursor::start().at),
            id: lead.id,
        }
    }

    /// The claim query (also shown by the load bench's EXPLAIN).
    pub fn claim_sql(self) -> String {
        let (clock, holds) = self.index();
        format!(
            "SELECT id, state, received_at, expires_at, hot_until, first_reminder_at,
                 final_reminder_at, hot_closed_at
             FROM leads
             WHERE {holds} AND {clock} <= $1 AND ({clock}, id) > ($2, $3)
             ORDER BY {clock}, id
             LIMIT $4
             FOR UPDATE SKIP LOCKED"
        )
    }
}

/// A position in a rule's index: claims go on after it, so each lead is visited at most
/// once per tick, even one whose work failed or that another scheduler held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    at: DateTime<Utc>,
    id: i64,
}

impl Cursor {
    /// Before every lead: 0001-01-01, long before any lead and inside PostgreSQL's range.
    pub fn start() -> Cursor {
        Cursor {
            at: DateTime::from_timestamp(-62_135_596_800, 0).unwrap_or_default(),
            id: 0,
        }
    }
}

/// Locks up to `limit` leads the rule may be due for, after `after` in the rule's index
/// order, skipping leads another transaction holds (another scheduler, or a reply being
/// applied). The WHERE clause is a cheap pre-filter; `scheduler::due_chores` decides.
pub async fn claim_due(
    conn: &mut PgConnection,
    rule: Rule,
    after: Cursor,
    schedule: &ScheduleConfig,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<DueLead>, StoreError> {
    sqlx::query_as(AssertSqlSafe(rule.claim_sql()))
        .bind(rule.due_until(schedule, now))
        .bind(after.at)
        .bind(after.id)
        .bind(limit)
        .fetch_all(conn)
        .await
        .doing("claiming leads with due timed work")
}

/// Records reminders sent, one `(lead, first, last)` each: which markers to set (a final
/// reminder that catches up sets both, so the first one never follows it).
pub async fn mark_reminded(
    conn: &mut PgConnection,
    reminded: &[(LeadId, bool, bool)],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if reminded.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = reminded.iter().map(|(id, _, _)| id.0).collect();
    let first: Vec<bool> = reminded.iter().map(|(_, first, _)| *first).collect();
    let last: Vec<bool> = reminded.iter().map(|(_, _, last)| *last).collect();
    sqlx::query(
        "UPDATE leads SET
             first_reminder_at = CASE WHEN r.first THEN coalesce(first_reminder_at, $4)
                                      ELSE first_reminder_at END,
             final_reminder_at = CASE WHEN r.last THEN coalesce(final_reminder_at, $4)
                                      ELSE final_reminder_at END
         FROM unnest($1::bigint[], $2::boolean[], $3::boolean[]) AS r (id, first, last)
         WHERE leads.id = r.id",
    )
    .bind(ids)
    .bind(first)
    .bind(last)
    .bind(now)
    .execute(conn)
    .await
    .doing("recording reminders")?;
    Ok(())
}

/// Records that these leads' contact windows were said closed.
pub async fn mark_hot_windows_closed(
    conn: &mut PgConnection,
    leads: &[LeadId],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if leads.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = leads.iter().map(|id| id.0).collect();
    sqlx::query("UPDATE leads SET hot_closed_at = $2 WHERE id = ANY($1) AND hot_closed_at IS NULL")
        .bind(ids)
        .bind(now)
        .execute(conn)
        .await
        .doing("recording closed contact windows")?;
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
