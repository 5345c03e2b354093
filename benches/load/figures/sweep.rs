//! The scheduler on a year of leads. Sweep: `leadbot tick` expiring every due lead (with its
//! events and mail), beside the same writes as a few set-based SQL statements. Idle tick:
//! one scheduler tick with nothing due, beside one probe of the partial index on open leads'
//! expiry (both timed from this process, round trips included, after a VACUUM ANALYZE).
//! /metrics: the scrape's text rendered in process from the swept database, beside the same
//! on an empty one. `--plans` prints the plans of the scheduler's queries (see [`plans`]).
//!
//! The seeded database is made once per run and copied (file by file) for each side of each
//! round, so both start from the same bytes.

use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use leadbot::config::Config;
use sqlx::PgPool;

use crate::harness::{Bench, BenchDb};
use crate::report::{Table, Unit, median, thousands};
use crate::{Sizes, seed};

const IDLE_TICKS: usize = 5;
const PROBES: usize = 20;
const SCRAPES: usize = 20;

/// The seeded database the rounds copy.
pub struct SweepSeed {
    pub template: String,
    leads: usize,
    due: usize,
    plans: bool,
    /// The instant every tick runs at: before the day's digests are due (08:00 UTC).
    now: DateTime<Utc>,
    /// What the last tick wrote, so that the set-based floor writes as much.
    written: Mutex<Option<Written>>,
}

/// What a sweep wrote.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Written {
    expired: i64,
    events: i64,
    mails: i64,
    text_bytes: i64,
    html_bytes: i64,
}

pub async fn seed(bench: &Bench, sizes: &Sizes) -> SweepSeed {
    let started = Instant::now();
    let db = bench.fresh_database("sweep_seed").await;
    let now = Utc::now().date_naive().and_time(NaiveTime::MIN).and_utc() + TimeDelta::hours(7);
    seed::leads(&db.pool, sizes.sweep_leads, sizes.sweep_due, now).await;
    db.pool.close().await;
    println!(
        "  seeded {} leads ({} due) in {:.1} s",
        sizes.sweep_leads,
        sizes.sweep_due,
        started.elapsed().as_secs_f64()
    );
    SweepSeed {
        template: db.name,
        leads: sizes.sweep_leads,
        due: sizes.sweep_due,
        plans: sizes.plans,
        now,
        written: Mutex::new(None),
    }
}

pub async fn run(
    bench: &Bench,
    seed: &SweepSeed,
    round: usize,
    floor_first: bool,
    table: &mut Table,
) {
    // The floor copies the tick's writes: the first round always runs the tick first.
    let floor_first = floor_first && seed.written.lock().expect("lock").is_some();
    let ((sweep, written), floor) = if floor_first {
        let floor = set_based(bench, seed, round).await;
        (tick_sweep(bench, seed, round, table).await, floor)
    } else {
        let sweep = tick_sweep(bench, seed, round, table).await;
        (sweep, set_based(bench, seed, round).await)
    };
    let figure = format!(
        "scheduler sweep, {} leads, {} due (`leadbot tick`)",
        thousands(seed.leads),
        thousands(seed.due)
    );
    table.record(
        &figure,
        Unit::Seconds,
        sweep,
        Some(("the same writes as set-based SQL", floor)),
        "< 20 s",
    );
    println!(
        "  the tick expired {} leads, appended {} events, queued {} mails",
        written.expired, written.events, written.mails
    );
    if written.expired != seed.due as i64 {
        table.note(
            &figure,
            format!(
                "round {}: {} of {} due leads expired",
                round + 1,
                written.expired,
                seed.due
            ),
        );
    }
}

/// Seconds of one `leadbot tick` that expires every due lead, and what it wrote; then the
/// idle tick after it.
async fn tick_sweep(
    bench: &Bench,
    seed: &SweepSeed,
    round: usize,
    table: &mut Table,
) -> (f64, Written) {
    let db = copy(bench, seed, &format!("sweep_tick_{round}")).await;
    let env = bench.env(&db, None);
    let config = Config::from_parts(None, "", &env).expect("the bench's configuration");
    if seed.plans && round == 0 {
        plans::print(
            &db.pool,
            &config,
            seed.now,
            "before the sweep: due leads, the outbox empty and analyzed",
        )
        .await;
    }
    let now = seed.now.to_rfc3339();
    let started = Instant::now();
    let output = bench.leadbot(&env, &["tick", "--now", &now], b"");
    let elapsed = started.elapsed().as_secs_f64();
    assert!(output.status.success(), "leadbot tick failed: {output:?}");
    let written = written(&db.pool, seed.now).await;
    *seed.written.lock().expect("lock") = Some(written);
    if seed.plans && round == 0 {
        plans::print(
            &db.pool,
            &config,
            seed.now,
            "after the sweep, before any ANALYZE: the outbox filled since it was analyzed empty",
        )
        .await;
    }
    idle_tick(&db, &config, seed, table).await;
    if seed.plans && round == 0 {
        plans::print(
            &db.pool,
            &config,
            seed.now,
            "after the sweep and VACUUM ANALYZE: nothing due",
        )
        .await;
    }
    metrics_scrape(bench, &db, seed, table).await;
    bench.release(db).await;
    (elapsed, written)
}

/// Seconds of the set-based statements that write what the tick wrote.
async fn set_based(bench: &Bench, seed: &SweepSeed, round: usize) -> f64 {
    let db = copy(bench, seed, &format!("sweep_sql_{round}")).await;
    let sizes = seed
        .written
        .lock()
        .expect("lock")
        .expect("a tick ran before its floor");
    let per_mail = |bytes: i64| i32::try_from(bytes / sizes.mails.max(1)).unwrap_or(i32::MAX);
    let started = Instant::now();
    sqlx::query(
        "WITH due AS (
             UPDATE leads SET state = 'expired', closed_at = $1, version = version + 1
             WHERE state = 'received' AND expires_at <= $1
             RETURNING id, profile_id, customer_email),
         events AS (
             INSERT INTO lead_events (lead_id, at, kind, actor)
             SELECT id, $1, 'expired', 'scheduler' FROM due),
         recipients AS (
             SELECT due.id, due.customer_email AS recipient FROM due
             UNION ALL
             SELECT due.id, contacts.email FROM due
             JOIN profile_contacts ON profile_contacts.profile_id = due.profile_id
             JOIN contacts ON contacts.id = profile_contacts.contact_id)
         INSERT INTO outbox (lead_id, template, recipient, subject, message_id, text_body,
             html_body)
         SELECT id, 'expired', recipient, 'L-' || id || ' expired',
             'expired-' || id || '-' || md5(recipient) || '@leads.example.test',
             repeat('t', $2), repeat('h', $3)
         FROM recipients",
    )
    .bind(seed.now)
    .bind(per_mail(sizes.text_bytes))
    .bind(per_mail(sizes.html_bytes))
    .execute(&db.pool)
    .await
    .expect("the set-based sweep");
    let elapsed = started.elapsed().as_secs_f64();
    let floor_wrote = written(&db.pool, seed.now).await;
    if (floor_wrote.expired, floor_wrote.mails) != (sizes.expired, sizes.mails) {
        println!(
            "  note: the tick expired {} leads and queued {} mails; the SQL {} and {}",
            sizes.expired, sizes.mails, floor_wrote.expired, floor_wrote.mails
        );
    }
    bench.release(db).await;
    elapsed
}

/// Milliseconds of a scheduler tick with nothing due, beside a partial-index probe.
async fn idle_tick(db: &BenchDb, config: &Config, seed: &SweepSeed, table: &mut Table) {
    // The steady state autovacuum reaches after a sweep: the dead index entries of the leads
    // just expired would otherwise weigh on the first idle ticks and probes.
    sqlx::query("VACUUM ANALYZE leads, lead_events, outbox")
        .execute(&db.pool)
        .await
        .expect("vacuum after the sweep");
    let mut ticks = Vec::new();
    for _ in 0..IDLE_TICKS {
        let started = Instant::now();
        let report = leadbot::workflow::scheduler::tick(&db.pool, config, seed.now)
            .await
            .expect("an idle tick");
        ticks.push(started.elapsed().as_secs_f64() * 1e3);
        assert!(report.did_nothing(), "an idle tick found work: {report:?}");
    }
    let mut probes = Vec::new();
    for _ in 0..PROBES {
        let started = Instant::now();
        let _: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM leads WHERE state = 'received' AND expires_at <= $1
             ORDER BY expires_at LIMIT 50",
        )
        .bind(seed.now)
        .fetch_all(&db.pool)
        .await
        .expect("the partial-index probe");
        probes.push(started.elapsed().as_secs_f64() * 1e3);
    }
    table.record(
        &format!(
            "idle tick at {} leads (wall time, in process)",
            thousands(seed.leads)
        ),
        Unit::Millis,
        median(&ticks).unwrap_or(f64::NAN),
        Some((
            "a partial-index probe, same connection pool",
            median(&probes).unwrap_or(f64::NAN),
        )),
        "< 10 ms",
    );
}

/// Milliseconds of a /metrics scrape's text (database counts and all), rendered in process
/// as the HTTP handler does, on the swept database beside an empty one.
async fn metrics_scrape(bench: &Bench, db: &BenchDb, seed: &SweepSeed, table: &mut Table) {
    let empty = bench.fresh_database("metrics_empty").await;
    let mut full = Vec::new();
    let mut floor = Vec::new();
    for _ in 0..SCRAPES {
        full.push(scrape_millis(&db.pool).await);
        floor.push(scrape_millis(&empty.pool).await);
    }
    bench.release(empty).await;
    table.record(
        &format!(
            "/metrics scrape at {} leads (in process)",
            thousands(seed.leads)
        ),
        Unit::Millis,
        median(&full).unwrap_or(f64::NAN),
        Some((
            "the same scrape on an empty database",
            median(&floor).unwrap_or(f64::NAN),
        )),
        "< 50 ms",
    );
}

async fn scrape_millis(pool: &PgPool) -> f64 {
    let metrics = leadbot::daemon::metrics::Metrics::default();
    let listener = leadbot::workflow::listener::ListenerStatsSnapshot::default();
    let latency = leadbot::telemetry::LatencyHistogram::default();
    let started = Instant::now();
    let text = metrics.render(pool, &listener, &latency).await;
    let elapsed = started.elapsed().as_secs_f64() * 1e3;
    assert!(
        text.contains("leadbot_database_up 1"),
        "the scrape had no database counts:\n{text}"
    );
    elapsed
}

async fn copy(bench: &Bench, seed: &SweepSeed, name: &str) -> BenchDb {
    let (url, pool) = bench.create_database(name, Some(&seed.template)).await;
    BenchDb {
        name: name.to_owned(),
        url,
        pool,
    }
}

async fn written(pool: &PgPool, now: DateTime<Utc>) -> Written {
    let (expired, events, mails, text_bytes, html_bytes): (i64, i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT (SELECT count(*) FROM leads WHERE state = 'expired' AND closed_at = $1),
                    (SELECT count(*) FROM lead_events WHERE at = $1),
                    (SELECT count(*) FROM outbox),
                    (SELECT coalesce(sum(length(text_body)), 0)::bigint FROM outbox),
                    (SELECT coalesce(sum(length(html_body)), 0)::bigint FROM outbox)",
        )
        .bind(now)
        .fetch_one(pool)
        .await
        .expect("count what the sweep wrote");
    Written {
        expired,
        events,
        mails,
        text_bytes,
        html_bytes,
    }
}

/// `--plans`: EXPLAIN (ANALYZE, BUFFERS) of each scheduler claim query, of the batched thread
/// lookup for a chunk of leads, and of the /metrics counts, each in a transaction rolled
/// back (the claims lock what they find).
mod plans {
    use chrono::{DateTime, Utc};
    use leadbot::config::Config;
    use leadbot::store::counts::COUNTS_SQL;
    use leadbot::store::outbox::THREADS_SQL;
    use leadbot::store::schedule::Rule;
    use leadbot::workflow::scheduler::CHUNK;
    use sqlx::PgPool;

    pub async fn print(pool: &PgPool, config: &Config, now: DateTime<Utc>, when: &str) {
        println!("\n  plans, {when}:");
        let schedule = &config.schedule;
        for rule in Rule::ALL {
            let until = rule.due_until(schedule, now);
            let sql = rule.claim_sql();
            let plan = explain(pool, &sql, |q| {
                q.bind(until)
                    .bind(DateTime::<Utc>::from_timestamp(-62_135_596_800, 0))
                    .bind(0_i64)
                    .bind(CHUNK)
            })
            .await;
            println!("\n  claim, {rule:?}:\n{plan}");
        }
        // The chunk of leads the sweep expires last: those with the newest ids, whose mail
        // (if any) is the newest in the outbox.
        let leads: Vec<i64> = sqlx::query_scalar("SELECT id FROM leads ORDER BY id DESC LIMIT $1")
            .bind(CHUNK)
            .fetch_all(pool)
            .await
            .expect("a chunk of lead ids");
        let no_seqscan = "SET LOCAL enable_seqscan = off";
        let plan = explain_with(pool, no_seqscan, THREADS_SQL, |q| q.bind(leads.clone())).await;
        println!(
            "\n  thread lookup, {CHUNK} leads, as lead_threads plans it (no seqscan):\n{plan}"
        );
        let plan = explain_with(pool, "", THREADS_SQL, |q| q.bind(leads.clone())).await;
        println!("\n  the same query left to the planner (what lead_threads prevents):\n{plan}");
        let plan = explain(pool, COUNTS_SQL, |q| q.bind("leads")).await;
        println!("\n  /metrics, leads by state:\n{plan}");
    }

    type Query<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

    async fn explain(
        pool: &PgPool,
        sql: &str,
        bind: impl FnOnce(Query<'_>) -> Query<'_>,
    ) -> String {
        explain_with(pool, "", sql, bind).await
    }

    /// EXPLAIN after `setting` (a SET LOCAL, or nothing) in a transaction rolled back.
    async fn explain_with(
        pool: &PgPool,
        setting: &str,
        sql: &str,
        bind: impl FnOnce(Query<'_>) -> Query<'_>,
    ) -> String {
        let mut tx = pool.begin().await.expect("a transaction");
        if !setting.is_empty() {
            sqlx::raw_sql(sqlx::AssertSqlSafe(setting.to_owned()))
                .execute(&mut *tx)
                .await
                .expect("a setting");
        }
        let text = format!("EXPLAIN (ANALYZE, BUFFERS) {sql}");
        let rows = bind(sqlx::query(sqlx::AssertSqlSafe(text)))
            .persistent(false)
            .fetch_all(&mut *tx)
            .await
            .expect("EXPLAIN");
        tx.rollback().await.expect("roll back");
        rows.iter()
            .map(|row| format!("    {}", sqlx::Row::get::<String, _>(row, 0)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
