//! History made fast with set-based SQL, not through ingest: a year of leads with their
//! events, of which some are open and past their expiry (the scheduler's due work).
//!
//! The leads belong to the two profiles of examples/partners.toml, alternately. History
//! leads were received 15 to 365 days before `now` and are answered or closed (accepted, won,
//! lost, declined, expired) with the events that say so; one in a hundred is still open,
//! received 1 to 11 days ago and reminded once, so nothing is due on it yet (the leads an idle
//! tick must look past). Due leads were received 20 days before `now`, were reminded twice,
//! and expired 6 days ago unanswered; they come last, with the newest ids. Their inbound mail
//! and old outbox rows are not made: the figures that use this measure the leads' tables.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// Profiles and their partners, as in examples/partners.toml.
const PROFILES: &str = "ARRAY['contoso-fr', 'fabrikam-uk']";
const PARTNERS: &str = "ARRAY['contoso', 'fabrikam']";

/// Adds `total` leads, `due` of them open and past expiry at `now` (and 1 % of the rest open
/// with nothing due), then analyzes.
pub async fn leads(pool: &PgPool, total: usize, due: usize, now: DateTime<Utc>) {
    assert!(due <= total, "more due leads ({due}) than leads ({total})");
    let total = i64::try_from(total).expect("a lead count fits in i64");
    let due = i64::try_from(due).expect("a lead count fits in i64");
    let insert_leads = format!(
        "INSERT INTO leads (kind, state, partner_id, profile_id, customer_name, customer_email,
             customer_locale, need, received_at, expires_at, first_response_at, closed_at,
             first_reminder_at, final_reminder_at)
         SELECT 'customer_inquiry', s.state, ({PARTNERS})[1 + g % 2], ({PROFILES})[1 + g % 2],
             'Seeded customer ' || g, 'seed-' || g || '@client.test', 'fr',
             'Seeded need ' || g, t.received, t.received + interval '14 days',
             CASE WHEN s.state IN ('accepted', 'won', 'lost', 'declined')
                  THEN t.received + interval '5 hours' END,
             CASE WHEN s.state IN ('won', 'lost', 'declined') THEN t.received + interval '3 days'
                  WHEN s.state = 'expired' THEN t.received + interval '14 days' END,
             t.received + interval '1 day',
             CASE WHEN k.kind <> 'open' THEN t.received + interval '12 days' END
         FROM generate_series(1, $1::bigint) AS g
         CROSS JOIN LATERAL (SELECT CASE WHEN g > $1 - $2 THEN 'due'
             WHEN g % 100 = 0 THEN 'open'
             ELSE 'closed' END AS kind) AS k
         CROSS JOIN LATERAL (SELECT CASE WHEN k.kind = 'closed'
             THEN (ARRAY['accepted', 'won', 'lost', 'declined', 'expired'])[1 + g % 5]
             ELSE 'received'
             END AS state) AS s
         CROSS JOIN LATERAL (SELECT CASE k.kind
             WHEN 'due' THEN $3 - interval '20 days' - (g % 3600) * interval '1 second'
             WHEN 'open' THEN $3 - interval '1 day' - (g % 10) * interval '1 day'
                  - (g % 1440) * interval '1 minute'
             ELSE $3 - interval '15 days' - (g % 350) * interval '1 day'
                  - (g % 1440) * interval '1 minute'
             END AS received) AS t"
    );
    sqlx::query(sqlx::AssertSqlSafe(insert_leads))
        .bind(total)
        .bind(due)
        .bind(now)
        .execute(pool)
        .await
        .expect("seed leads");
    // Every lead was received; answered ones were accepted or declined first; won and lost
    // ones were accepted, then closed; expired ones say so.
    for events in [
        "SELECT id, received_at, 'received', 'seed' FROM leads",
        "SELECT id, first_response_at, 'accepted', 'seed' FROM leads
         WHERE state IN ('accepted', 'won', 'lost')",
        "SELECT id, first_response_at, 'declined', 'seed' FROM leads WHERE state = 'declined'",
        "SELECT id, closed_at, state, 'seed' FROM leads WHERE state IN ('won', 'lost', 'expired')",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO lead_events (lead_id, at, kind, actor) {events}"
        )))
        .execute(pool)
        .await
        .expect("seed lead events");
    }
    sqlx::query("ANALYZE")
        .execute(pool)
        .await
        .expect("analyze the seeded tables");
}

/// The floor's own tables: rows of ~1 KB and counters updated by key.
pub async fn floor_tables(pool: &PgPool) {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS bench_rows (id bigserial PRIMARY KEY, payload text NOT NULL);
         CREATE TABLE IF NOT EXISTS bench_counters (id int PRIMARY KEY, n bigint NOT NULL);
         INSERT INTO bench_counters SELECT g, 0 FROM generate_series(1, 100) AS g
         ON CONFLICT DO NOTHING;",
    )
    .execute(pool)
    .await
    .expect("create the floor's tables");
}

/// One INSERT of ~1 KB and one UPDATE by key, as one transaction: pgbench's script.
pub const PGBENCH_SCRIPT: &str = "\\set counter random(1, 100)
BEGIN;
INSERT INTO bench_rows (payload) VALUES (repeat('x', 1000));
UPDATE bench_counters SET n = n + 1 WHERE id = :counter;
END;
";

/// One INSERT of ~1 KB: what each `psql` process does beside `leadbot deliver`.
pub const PSQL_INSERT: &str = "INSERT INTO bench_rows (payload) VALUES (repeat('x', 1000))";
