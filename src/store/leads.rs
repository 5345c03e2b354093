//! Leads, their contacts and their events. A change is saved only if the lead's version is
//! still the one it was decided on, so two concurrent actions end with exactly one winner.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{AssertSqlSafe, PgConnection};

use super::{Doing, StoreError};
use crate::domain::{
    Customer, Deal, Decline, EventKind, Lead, LeadContact, LeadContext, LeadEvent, LeadId,
    LeadKind, LeadState, Money, Outcome, Referrer, Registration,
};

/// A lead about to be created from an inbound message (or by the demo).
#[derive(Debug, Clone)]
pub struct NewLead {
    pub kind: LeadKind,
    pub partner_id: String,
    pub profile_id: String,
    pub customer: Customer,
    pub context: LeadContext,
    pub customer_locale: Option<String>,
    pub need: String,
    pub hot_until: Option<DateTime<Utc>>,
    pub referrer: Option<Referrer>,
    pub source_message_id: Option<i64>,
    pub received_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// One line of a lead's history as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct EventRow {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub actor: String,
    pub data: serde_json::Value,
}

#[derive(sqlx::FromRow)]
struct LeadRow {
    id: i64,
    kind: String,
    state: String,
    partner_id: String,
    profile_id: String,
    customer_name: Option<String>,
    customer_email: Option<String>,
    customer_company: Option<String>,
    customer_phone: Option<String>,
    customer_region: Option<String>,
    customer_city: Option<String>,
    customer_company_size: Option<String>,
    referrer_note: Option<String>,
    customer_email_failure: Option<String>,
    need: String,
    hot_until: Option<DateTime<Utc>>,
    favorite: bool,
    deal_name: Option<String>,
    deal_value: Option<Decimal>,
    deal_currency: Option<String>,
    deal_timeframe: Option<String>,
    deal_notes: Option<String>,
    deal_crm_id: Option<String>,
    deal_campaign_id: Option<String>,
    decline_reason: Option<String>,
    decline_notes: Option<String>,
    referrer_kind: Option<String>,
    referrer_email: Option<String>,
    referrer_name: Option<String>,
    registration: Option<serde_json::Value>,
    received_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    first_response_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    version: i32,
}

const LEAD_COLUMNS: &str = "id, kind, state, partner_id, profile_id, customer_name, \
    customer_email, customer_company, customer_phone, customer_region, customer_city, \
    customer_company_size, referrer_note, customer_email_failure, need, hot_until, favorite, deal_name, \
    deal_value, deal_currency, deal_timeframe, deal_notes, deal_crm_id, deal_campaign_id, \
    decline_reason, decline_notes, referrer_kind, referrer_email, referrer_name, registration, \
    received_at, expires_at, first_response_at, closed_at, version";

impl LeadRow {
    /// Columns are kept to known spellings by CHECK constraints; a value that still fails to
    /// parse means the schema and the code disagree, which is worth an error, not a guess.
    fn into_lead(self, contacts: Vec<LeadContact>) -> Result<Lead, StoreError> {
        let corrupt = |what: String| StoreError::Query {
            doing: "reading a lead",
            source: sqlx::Error::Decode(what.into()),
        };
        let registration = match self.registration {
            Some(json) => Some(registration_from_json(&json).ok_or_else(|| {
                corrupt(format!("lead {}: unreadable registration {json}", self.id))
            })?),
            None => None,
        };
        Ok(Lead {
            id: LeadId(self.id),
            kind: self.kind.parse().map_err(corrupt)?,
            state: self.state.parse().map_err(corrupt)?,
            partner_id: self.partner_id,
            profile_id: self.profile_id,
            customer: Customer {
                name: self.customer_name,
                email: self.customer_email,
                company: self.customer_company,
                phone: self.customer_phone,
            },
            context: LeadContext {
                region: self.customer_region,
                city: self.customer_city,
                company_size: self.customer_company_size,
                referrer_note: self.referrer_note,
                customer_email_failure: self.customer_email_failure,
            },
            need: self.need,
            hot_until: self.hot_until,
            favorite: self.favorite,
            deal: Deal {
                name: self.deal_name,
                value: self
                    .deal_value
                    .zip(self.deal_currency)
                    .map(|(amount, currency)| Money { amount, currency }),
                timeframe: self.deal_timeframe,
                notes: self.deal_notes,
                crm_id: self.deal_crm_id,
                campaign_id: self.deal_campaign_id,
            },
            decline: match self.decline_reason {
                Some(reason) => Some(Decline {
                    reason: reason.parse().map_err(corrupt)?,
                    notes: self.decline_notes,
                }),
                None => None,
            },
            contacts,
            referrer: match (self.referrer_kind, self.referrer_email) {
                (Some(kind), Some(email)) => Some(Referrer {
                    kind: kind.parse().map_err(corrupt)?,
                    email,
                    name: self.referrer_name,
                }),
                _ => None,
            },
            registration,
            received_at: self.received_at,
            expires_at: self.expires_at,
            first_response_at: self.first_response_at,
            closed_at: self.closed_at,
            version: self.version,
        })
    }
}

fn registration_to_json(registration: &Registration) -> serde_json::Value {
    serde_json::json!({
        "status": registration.status.as_str(),
        "fields": registration.fields,
        "review_note": registration.review_note,
    })
}

fn registration_from_json(json: &serde_json::Value) -> Option<Registration> {
    Some(Registration {
        status: json.get("status")?.as_str()?.parse().ok()?,
        fields: serde_json::from_value(json.get("fields")?.clone()).ok()?,
        review_note: json
            .get("review_note")
            .and_then(|n| n.as_str())
            .map(String::from),
    })
}

/// Records that mail to the customer's address bounces, with the report's reason, and the
/// event that says so. Returns false if it was recorded before (re-processing a bounce).
pub async fn mark_customer_email_failed(
    conn: &mut PgConnection,
    id: LeadId,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let changed = sqlx::query(
        "UPDATE leads SET customer_email_failure = $2
         WHERE id = $1 AND customer_email_failure IS DISTINCT FROM $2",
    )
    .bind(id.0)
    .bind(reason)
    .execute(&mut *conn)
    .await
    .doing("marking a customer's address as failing")?
    .rows_affected()
        > 0;
    if changed {
        let event = LeadEvent {
            kind: EventKind::MailBounced,
            actor: "mailer-daemon".into(),
            data: serde_json::json!({ "address": "customer", "reason": reason }),
        };
        append_event(conn, id, at, &event).await?;
    }
    Ok(changed)
}

/// Creates a lead and its `received` event. Returns `None` if this message already made a
/// lead for this profile (re-processing is a no-op). One statement, one round trip: an RFI
/// makes leads in a backlog, where each round trip counts.
pub async fn insert(
    conn: &mut PgConnection,
    new: &NewLead,
    actor: &str,
) -> Result<Option<Lead>, StoreError> {
    let received = LeadEvent {
        kind: crate::domain::EventKind::Received,
        actor: actor.into(),
        data: serde_json::json!({"profile": new.profile_id, "kind": new.kind.as_str()}),
    };
    let row: Option<LeadRow> = sqlx::query_as(AssertSqlSafe(format!(
        "WITH created AS (
             INSERT INTO leads (kind, state, partner_id, profile_id, customer_name,
                 customer_email, customer_company, customer_phone, customer_region,
                 customer_company_size, customer_locale, need, hot_until, referrer_kind,
                 referrer_email, referrer_name, source_message_id, received_at, expires_at,
                 customer_city, referrer_note)
             VALUES ($1, 'received', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                 $15, $16, $17, $18, $19, $20)
             ON CONFLICT (source_message_id, profile_id) DO NOTHING
             RETURNING {LEAD_COLUMNS}
         ), event AS (
             INSERT INTO lead_events (lead_id, at, kind, actor, data)
             SELECT id, $17, $21, $22, $23 FROM created
         )
         SELECT {LEAD_COLUMNS} FROM created"
    )))
    .bind(new.kind.as_str())
    .bind(&new.partner_id)
    .bind(&new.profile_id)
    .bind(&new.customer.name)
    .bind(&new.customer.email)
    .bind(&new.customer.company)
    .bind(&new.customer.phone)
    .bind(&new.context.region)
    .bind(&new.context.company_size)
    .bind(&new.customer_locale)
    .bind(&new.need)
    .bind(new.hot_until)
    .bind(new.referrer.as_ref().map(|r| r.kind.as_str()))
    .bind(new.referrer.as_ref().map(|r| r.email.as_str()))
    .bind(new.referrer.as_ref().and_then(|r| r.name.as_deref()))
    .bind(new.source_message_id)
    .bind(new.received_at)
    .bind(new.expires_at)
    .bind(&new.context.city)
    .bind(&new.context.referrer_note)
    .bind(received.kind.as_str())
    .bind(&received.actor)
    .bind(&received.data)
    .fetch_optional(&mut *conn)
    .await
    .doing("creating a lead")?;
    // A lead just created has no contacts of its own yet.
    row.map(|row| row.into_lead(Vec::new())).transpose()
}

pub async fn load(conn: &mut PgConnection, id: LeadId) -> Result<Option<Lead>, StoreError> {
    Ok(load_many(conn, &[id]).await?.pop())
}

/// The leads with these ids (those that exist), in id order, each with its contacts: two
/// queries whatever their number.
pub async fn load_many(conn: &mut PgConnection, ids: &[LeadId]) -> Result<Vec<Lead>, StoreError> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    let rows: Vec<LeadRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {LEAD_COLUMNS} FROM leads WHERE id = ANY($1) ORDER BY id"
    )))
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .doing("reading a lead")?;
    let mut contacts: std::collections::HashMap<i64, Vec<LeadContact>> =
        sqlx::query_as::<_, (i64, String, Option<String>, Option<String>)>(
            "SELECT lead_id, name, phone, email FROM lead_contacts WHERE lead_id = ANY($1)
             ORDER BY id",
        )
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await
        .doing("reading a lead's contacts")?
        .into_iter()
        .fold(
            Default::default(),
            |mut by_lead, (lead, name, phone, email)| {
                by_lead
                    .entry(lead)
                    .or_default()
                    .push(LeadContact { name, phone, email });
                by_lead
            },
        );
    rows.into_iter()
        .map(|row| {
            let own = contacts.remove(&row.id).unwrap_or_default();
            row.into_lead(own)
        })
        .collect()
}

async fn contacts(conn: &mut PgConnection, id: LeadId) -> Result<Vec<LeadContact>, StoreError> {
    let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT name, phone, email FROM lead_contacts WHERE lead_id = $1 ORDER BY id",
    )
    .bind(id.0)
    .fetch_all(conn)
    .await
    .doing("reading a lead's contacts")?;
    Ok(rows
        .into_iter()
        .map(|(name, phone, email)| LeadContact { name, phone, email })
        .collect())
}

/// Leads, newest first, optionally in one state.
pub async fn list(
    conn: &mut PgConnection,
    state: Option<LeadState>,
) -> Result<Vec<Lead>, StoreError> {
    list_where(conn, state, None).await
}

/// A partner's leads, newest first (the LIST command).
pub async fn list_of_partner(
    conn: &mut PgConnection,
    partner_id: &str,
) -> Result<Vec<Lead>, StoreError> {
    list_where(conn, None, Some(partner_id)).await
}

async fn list_where(
    conn: &mut PgConnection,
    state: Option<LeadState>,
    partner_id: Option<&str>,
) -> Result<Vec<Lead>, StoreError> {
    let rows: Vec<LeadRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {LEAD_COLUMNS} FROM leads
         WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR partner_id = $2)
         ORDER BY id DESC"
    )))
    .bind(state.map(LeadState::as_str))
    .bind(partner_id)
    .fetch_all(&mut *conn)
    .await
    .doing("listing leads")?;
    let mut leads = Vec::with_capacity(rows.len());
    for row in rows {
        let contacts = contacts(conn, LeadId(row.id)).await?;
        leads.push(row.into_lead(contacts)?);
    }
    Ok(leads)
}

/// Writes a decided transition. `Ok(false)` when the lead changed since `before` was read:
/// somebody else's action committed first, and this one must not overwrite it.
pub async fn save(
    conn: &mut PgConnection,
    before: &Lead,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(save_many(conn, &[(before, outcome)], now).await?.is_empty())
}

/// Writes decided transitions, each guarded by the version its decision read, in a few
/// statements whatever their number; returns the leads that changed meanwhile (not written:
/// neither their row, nor their contacts, nor their events).
pub async fn save_many(
    conn: &mut PgConnection,
    changes: &[(&Lead, &Outcome)],
    now: DateTime<Utc>,
) -> Result<Vec<LeadId>, StoreError> {
    let changes: Vec<_> = changes
        .iter()
        .filter(|(_, outcome)| !outcome.changed_nothing())
        .collect();
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let column = |f: &dyn Fn(&Lead) -> Option<String>| -> Vec<Option<String>> {
        changes.iter().map(|(_, o)| f(&o.lead)).collect()
    };
    let leads = || changes.iter().map(|(_, o)| &o.lead);
    let saved: Vec<i64> = sqlx::query_scalar(
        "UPDATE leads SET state = c.state, favorite = c.favorite, deal_name = c.deal_name,
             deal_value = c.deal_value, deal_currency = c.deal_currency,
             deal_timeframe = c.deal_timeframe, deal_notes = c.deal_notes,
             deal_crm_id = c.deal_crm_id, deal_campaign_id = c.deal_campaign_id,
             decline_reason = c.decline_reason, decline_notes = c.decline_notes,
             registration = c.registration, first_response_at = c.first_response_at,
             closed_at = c.closed_at, version = c.version
         FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::boolean[], $5::text[],
                 $6::numeric[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                 $12::text[], $13::text[], $14::jsonb[], $15::timestamptz[],
                 $16::timestamptz[], $17::integer[])
             AS c (id, before_version, state, favorite, deal_name, deal_value, deal_currency,
                   deal_timeframe, deal_notes, deal_crm_id, deal_campaign_id, decline_reason,
                   decline_notes, registration, first_response_at, closed_at, version)
         WHERE leads.id = c.id AND leads.version = c.before_version
         RETURNING leads.id",
    )
    .bind(leads().map(|l| l.id.0).collect::<Vec<_>>())
    .bind(changes.iter().map(|(b, _)| b.version).collect::<Vec<_>>())
    .bind(leads().map(|l| l.state.as_str()).collect::<Vec<_>>())
    .bind(leads().map(|l| l.favorite).collect::<Vec<_>>())
    .bind(column(&|l| l.deal.name.clone()))
    .bind(
        leads()
            .map(|l| l.deal.value.as_ref().map(|m| m.amount))
            .collect::<Vec<_>>(),
    )
    .bind(column(&|l| {
        l.deal.value.as_ref().map(|m| m.currency.clone())
    }))
    .bind(column(&|l| l.deal.timeframe.clone()))
    .bind(column(&|l| l.deal.notes.clone()))
    .bind(column(&|l| l.deal.crm_id.clone()))
    .bind(column(&|l| l.deal.campaign_id.clone()))
    .bind(column(&|l| {
        l.decline.as_ref().map(|d| d.reason.as_str().to_owned())
    }))
    .bind(column(&|l| {
        l.decline.as_ref().and_then(|d| d.notes.clone())
    }))
    .bind(
        leads()
            .map(|l| l.registration.as_ref().map(registration_to_json))
            .collect::<Vec<_>>(),
    )
    .bind(leads().map(|l| l.first_response_at).collect::<Vec<_>>())
    .bind(leads().map(|l| l.closed_at).collect::<Vec<_>>())
    .bind(leads().map(|l| l.version).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await
    .doing("saving a lead")?;
    let saved: std::collections::HashSet<i64> = saved.into_iter().collect();
    let (written, stale): (Vec<_>, Vec<_>) = changes
        .into_iter()
        .partition(|(_, outcome)| saved.contains(&outcome.lead.id.0));
    for (before, outcome) in &written {
        let lead = &outcome.lead;
        for contact in lead.contacts.iter().skip(before.contacts.len()) {
            sqlx::query(
                "INSERT INTO lead_contacts (lead_id, name, phone, email, added_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(lead.id.0)
            .bind(&contact.name)
            .bind(&contact.phone)
            .bind(&contact.email)
            .bind(now)
            .execute(&mut *conn)
            .await
            .doing("adding a lead contact")?;
        }
    }
    let events: Vec<(LeadId, &LeadEvent)> = written
        .iter()
        .flat_map(|(_, outcome)| outcome.events.iter().map(|e| (outcome.lead.id, e)))
        .collect();
    append_events(conn, &events, now).await?;
    Ok(stale.iter().map(|(_, outcome)| outcome.lead.id).collect())
}

pub async fn append_event(
    conn: &mut PgConnection,
    id: LeadId,
    at: DateTime<Utc>,
    event: &LeadEvent,
) -> Result<(), StoreError> {
    append_events(conn, &[(id, event)], at).await
}

/// Appends events to leads' histories, all at `at`, in order, with one statement.
pub async fn append_events(
    conn: &mut PgConnection,
    events: &[(LeadId, &LeadEvent)],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO lead_events (lead_id, at, kind, actor, data)
         SELECT e.lead_id, $2, e.kind, e.actor, e.data
         FROM unnest($1::bigint[], $3::text[], $4::text[], $5::jsonb[])
             WITH ORDINALITY AS e (lead_id, kind, actor, data, n)
         ORDER BY e.n",
    )
    .bind(events.iter().map(|(id, _)| id.0).collect::<Vec<_>>())
    .bind(at)
    .bind(
        events
            .iter()
            .map(|(_, e)| e.kind.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        events
            .iter()
            .map(|(_, e)| e.actor.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(events.iter().map(|(_, e)| &e.data).collect::<Vec<_>>())
    .execute(conn)
    .await
    .doing("appending a lead event")?;
    Ok(())
}

pub async fn events(conn: &mut PgConnection, id: LeadId) -> Result<Vec<EventRow>, StoreError> {
    sqlx::query_as("SELECT at, kind, actor, data FROM lead_events WHERE lead_id = $1 ORDER BY id")
        .bind(id.0)
        .fetch_all(conn)
        .await
        .doing("reading a lead's events")
}

/// The event that last moved the lead to its current state (for "already accepted by …").
pub async fn last_state_change(
    conn: &mut PgConnection,
    id: LeadId,
) -> Result<Option<EventRow>, StoreError> {
    sqlx::query_as(
        "SELECT e.at, e.kind, e.actor, e.data FROM lead_events e JOIN leads l ON l.id = e.lead_id
         WHERE e.lead_id = $1 AND e.kind = l.state ORDER BY e.id DESC LIMIT 1",
    )
    .bind(id.0)
    .fetch_optional(conn)
    .await
    .doing("reading a lead's last change")
}

/// The languages the customers of these leads wrote in, where the RFIs showed it (not
/// part of the domain lead: only mail to the customer needs it).
pub async fn customer_locales(
    conn: &mut PgConnection,
    ids: &[LeadId],
) -> Result<std::collections::HashMap<LeadId, String>, StoreError> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, customer_locale FROM leads
         WHERE id = ANY($1) AND customer_locale IS NOT NULL",
    )
    .bind(ids)
    .fetch_all(conn)
    .await
    .doing("reading customers' languages")?;
    Ok(rows
        .into_iter()
        .map(|(id, locale)| (LeadId(id), locale))
        .collect())
}
