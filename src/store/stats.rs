//! Per-profile statistics from leads and their events: how fast, how often and how well a
//! profile answers. They feed the digests, `leadbot partner stats` and routing.

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgConnection;

use super::{Doing, StoreError};
use crate::domain::stats::ProfileStats;

#[derive(sqlx::FromRow)]
struct StatsRow {
    profile_id: String,
    partner_id: String,
    leads: i64,
    marketplace: i64,
    qualified: i64,
    answered: i64,
    accepted: i64,
    declined: i64,
    won: i64,
    lost: i64,
    expired: i64,
    median_seconds: Option<f64>,
}

/// Every profile (of `partner`, if given) with the leads it received in `since..until`
/// (all of them without `since`); profiles without leads have zeros.
///
/// Acceptance, wins and losses come from the events, so a lead counts as accepted even once
/// it is won or lost; the first response is the lead's `first_response_at`, which the life
/// cycle sets on the first action of a partner contact.
pub async fn profile_stats(
    conn: &mut PgConnection,
    partner: Option<&str>,
    since: Option<DateTime<Utc>>,
    until: DateTime<Utc>,
) -> Result<Vec<ProfileStats>, StoreError> {
    let rows: Vec<StatsRow> = sqlx::query_as(
        "SELECT p.id AS profile_id, p.partner_id,
             count(l.id) AS leads,
             count(l.id) FILTER (WHERE l.kind = 'customer_inquiry') AS marketplace,
             count(l.id) FILTER (WHERE l.kind <> 'customer_inquiry') AS qualified,
             count(l.id) FILTER (WHERE e.accepted OR e.declined) AS answered,
             count(l.id) FILTER (WHERE e.accepted) AS accepted,
             count(l.id) FILTER (WHERE e.declined) AS declined,
             count(l.id) FILTER (WHERE e.won) AS won,
             count(l.id) FILTER (WHERE e.lost) AS lost,
             count(l.id) FILTER (WHERE e.expired) AS expired,
             percentile_cont(0.5) WITHIN GROUP (
                 ORDER BY extract(epoch FROM l.first_response_at - l.received_at)::float8
             ) AS median_seconds
         FROM profiles p
         LEFT JOIN leads l ON l.profile_id = p.id
             AND ($2::timestamptz IS NULL OR l.received_at >= $2) AND l.received_at < $3
         LEFT JOIN LATERAL (
             SELECT bool_or(kind = 'accepted') AS accepted,
                    bool_or(kind = 'declined') AS declined,
                    bool_or(kind = 'won') AS won,
                    bool_or(kind = 'lost') AS lost,
                    bool_or(kind = 'expired') AS expired
             FROM lead_events WHERE lead_id = l.id
         ) e ON true
         WHERE $1::text IS NULL OR p.partner_id = $1
         GROUP BY p.id, p.partner_id
         ORDER BY p.partner_id, p.id",
    )
    .bind(partner)
    .bind(since)
    .bind(until)
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
            answered: row.answered,
            accepted: row.accepted,
            declined: row.declined,
            won: row.won,
            lost: row.lost,
            expired: row.expired,
            median_first_response: row
                .median_seconds
                .map(|s| TimeDelta::seconds(s.round() as i64)),
        })
        .collect())
}
