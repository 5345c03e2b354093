//! Per-profile statistics from leads and their events, in one SQL aggregate: the definitions
//! live in [`crate::domain::stats`]; the digests, `leadbot partner stats` and routing all read
//! them from here.

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgConnection;

use super::{Doing, StoreError};
use crate::domain::stats::ProfileStats;

/// Whose statistics to compute.
#[derive(Debug, Clone, Copy)]
pub enum Profiles<'a> {
    All,
    OfPartner(&'a str),
    /// Only these profiles (routing asks for the few that match a request).
    Only(&'a [String]),
}

#[derive(sqlx::FromRow)]
struct StatsRow {
    profile_id: String,
    partner_id: String,
    leads: i64,
    marketplace: i64,
    qualified: i64,
    accepted: i64,
    declined: i64,
    expired: i64,
    won: i64,
    lost: i64,
    waiting: i64,
    response_due: i64,
    answered_in_time: i64,
    median_seconds: Option<f64>,
}

/// The chosen profiles with the leads they received in `since..until`; profiles without
/// leads have zeros. `response_target` is the recommended response time.
///
/// Acceptance, declines, wins, losses and expiries come from the events, so a lead counts as
/// accepted even once it is won or lost. A lead's response time is its `first_response_at`
/// (set on the first action of a partner contact) minus its receipt; a lead without one
/// counts the time it has waited — until it expired, or until `until` — once that exceeds
/// the response target.
pub async fn profile_stats(
    conn: &mut PgConnection,
    profiles: Profiles<'_>,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    response_target: TimeDelta,
) -> Result<Vec<ProfileStats>, StoreError> {
    let (partner, only) = match profiles {
        Profiles::All => (None, None),
        Profiles::OfPartner(partner) => (Some(partner), None),
        Profiles::Only(ids) => (None, Some(ids)),
    };
    let rows: Vec<StatsRow> = sqlx::query_as(
        "SELECT p.id AS profile_id, p.partner_id,
             count(l.id) AS leads,
             count(l.id) FILTER (WHERE l.kind = 'customer_inquiry') AS marketplace,
             count(l.id) FILTER (WHERE l.kind <> 'customer_inquiry') AS qualified,
             count(l.id) FILTER (WHERE e.accepted) AS accepted,
             count(l.id) FILTER (WHERE e.declined) AS declined,
             count(l.id) FILTER (WHERE e.expired) AS expired,
             count(l.id) FILTER (WHERE e.won) AS won,
             count(l.id) FILTER (WHERE e.lost) AS lost,
             count(l.id) FILTER (WHERE l.state = 'received') AS waiting,
             count(l.id) FILTER (WHERE w.due) AS response_due,
             count(l.id) FILTER (WHERE l.first_response_at IS NOT NULL
                 AND w.wait <= $5) AS answered_in_time,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM w.wait)::float8)
                 FILTER (WHERE w.due) AS median_seconds
         FROM profiles p
         LEFT JOIN leads l ON l.profile_id = p.id
             AND l.received_at >= $3 AND l.received_at < $4
         LEFT JOIN LATERAL (
             SELECT bool_or(kind = 'accepted') AS accepted,
                    bool_or(kind = 'declined') AS declined,
                    bool_or(kind = 'won') AS won,
                    bool_or(kind = 'lost') AS lost,
                    bool_or(kind = 'expired') AS expired
             FROM lead_events WHERE lead_id = l.id
         ) e ON true
         CROSS JOIN LATERAL (
             SELECT x.wait, l.first_response_at IS NOT NULL OR x.wait > $5 AS due
             FROM (SELECT coalesce(
                 l.first_response_at,
                 CASE WHEN l.state = 'expired' THEN coalesce(l.closed_at, l.expires_at) END,
                 $4) - l.received_at AS wait) x
         ) w
         WHERE ($1::text IS NULL OR p.partner_id = $1)
             AND ($2::text[] IS NULL OR p.id = ANY($2))
         GROUP BY p.id, p.partner_id
         ORDER BY p.partner_id, p.id",
    )
    .bind(partner)
    .bind(only)
    .bind(since)
    .bind(until)
    .bind(response_target)
    .fetch_all(conn)
    .await
    .doing("computing profile statistics")?;
    Ok(rows
        .into_iter()
        .map(|row| ProfileStats {
            profile_id: row.profile_id,
            partner_id: row.partner_id,
            leads: row.leads,
            marketplace: row.marketplace,
            qualified: row.qualified,
            accepted: row.accepted,
            declined: row.declined,
            expired: row.expired,
            won: row.won,
            lost: row.lost,
            waiting: row.waiting,
            response_due: row.response_due,
            answered_in_time: row.answered_in_time,
            median_response: row
                .median_seconds
                .map(|s| TimeDelta::seconds(s.round() as i64)),
        })
        .collect())
}
