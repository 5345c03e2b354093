//! The scheduler on PostgreSQL: each timed rule at its boundary, catch-up after downtime,
//! two schedulers racing, sweeps longer than a chunk, a stop mid-sweep, and ticks that
//! repeat.

mod support;

use support::fixtures::{chloe_inquiry, insert_lead, queue_new_lead_mail};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use leadbot::config::Config;
use leadbot::domain::{LeadId, LeadKind, Referrer, ReferrerKind};
use leadbot::store::counts::{self, Counted};
use leadbot::store::leads::NewLead;
use leadbot::workflow::scheduler::{CHUNK, TickReport, tick, tick_until};
use sqlx::PgPool;
use support::db::{SECRET, TestDb, seed_directory};
use support::leadbot::{run, stdout};

/// Contoso's profile has three contacts: every contact notice is three mails.
const CONTACTS: i64 = 3;

/// Midnight UTC, so that no tick in these tests reaches the digest time (23:59).
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap()
}

fn at(days: i64, hours: i64) -> DateTime<Utc> {
    t0() + TimeDelta::days(days) + TimeDelta::hours(hours)
}

fn config(db: &TestDb) -> Config {
    let env = [("DATABASE_URL".to_string(), db.url.clone())];
    let text = format!("[bot]\nsecret = \"{SECRET}\"\n[schedule]\ndigest_time = \"23:59\"\n");
    Config::from_parts(None, &text, &env).expect("test config")
}

/// How a test lead came in.
#[derive(Clone, Copy)]
enum Came {
    /// From a customer, asking to be called (hot for 72 hours).
    HotInquiry,
    /// From a customer, no call asked.
    Inquiry,
    /// Forwarded by a staff member.
    Referred,
}

async fn new_lead(pool: &PgPool, came: Came, received_at: DateTime<Utc>) -> i64 {
    let referrer = matches!(came, Came::Referred).then(|| Referrer {
        kind: ReferrerKind::Staff,
        email: "sam@microsoft.test".into(),
        name: Some("Sam Seller".into()),
    });
    let new = NewLead {
        kind: match came {
            Came::Referred => LeadKind::SalesQualified,
            _ => LeadKind::CustomerInquiry,
        },
        need: "Migrer 200 boîtes vers Teams.".into(),
        hot_until: matches!(came, Came::HotInquiry).then(|| received_at + TimeDelta::hours(72)),
        referrer,
        ..chloe_inquiry(received_at)
    };
    insert_lead(pool, &new).await.id.0
}

/// The mail queued about `lead`, as (template, recipient) sorted, one entry per mail.
async fn mail_about(pool: &PgPool, lead: i64) -> Vec<(String, String)> {
    sqlx::query_as("SELECT template, recipient FROM outbox WHERE lead_id = $1 ORDER BY 1, 2")
        .bind(lead)
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn count_mail(pool: &PgPool, lead: i64, template: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE lead_id = $1 AND template = $2")
        .bind(lead)
        .bind(template)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn state(pool: &PgPool, lead: i64) -> String {
    sqlx::query_scalar("SELECT state FROM leads WHERE id = $1")
        .bind(lead)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn events(pool: &PgPool, lead: i64) -> Vec<String> {
    sqlx::query_scalar("SELECT kind FROM lead_events WHERE lead_id = $1 ORDER BY id")
        .bind(lead)
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn world() -> (TestDb, Config) {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let config = config(&db);
    (db, config)
}

fn report(f: impl FnOnce(&mut TickReport)) -> TickReport {
    let mut report = TickReport::default();
    f(&mut report);
    report
}

#[tokio::test]
async fn a_lead_expires_after_fourteen_days_not_before() {
    let (db, config) = world().await;
    let lead = new_lead(&db.pool, Came::Inquiry, t0()).await;
    // Reminders already went out, so only expiry is in question.
    sqlx::query("UPDATE leads SET first_reminder_at = $2, final_reminder_at = $2 WHERE id = $1")
        .bind(lead)
        .bind(at(1, 0))
        .execute(&db.pool)
        .await
        .unwrap();

    let early = tick(&db.pool, &config, at(13, 23)).await.unwrap();
    assert!(early.did_nothing(), "{early:?}");
    assert_eq!(state(&db.pool, lead).await, "received");

    let late = tick(&db.pool, &config, at(14, 1)).await.unwrap();
    assert_eq!(
        late,
        report(|r| {
            r.expired = 1;
            r.mails_queued = CONTACTS as usize + 1;
        })
    );
    assert_eq!(state(&db.pool, lead).await, "expired");
    assert_eq!(
        count_mail(&db.pool, lead, "contacts_expired").await,
        CONTACTS
    );
    assert_eq!(count_mail(&db.pool, lead, "customer_expired").await, 1);
    let actor: String =
        sqlx::query_scalar("SELECT actor FROM lead_events WHERE lead_id = $1 AND kind = 'expired'")
            .bind(lead)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(actor, "scheduler");
}

#[tokio::test]
async fn reminders_go_out_at_their_times_once_each() {
    let (db, config) = world().await;
    let lead = new_lead(&db.pool, Came::Inquiry, t0()).await;

    assert!(
        tick(&db.pool, &config, at(0, 23))
            .await
            .unwrap()
            .did_nothing()
    );
    let first = tick(&db.pool, &config, at(1, 1)).await.unwrap();
    assert_eq!(
        first,
        report(|r| {
            r.first_reminders = 1;
            r.mails_queued = CONTACTS as usize;
        })
    );
    // The same instant again, and later the same day: nothing new.
    assert!(
        tick(&db.pool, &config, at(1, 1))
            .await
            .unwrap()
            .did_nothing()
    );
    assert!(
        tick(&db.pool, &config, at(11, 23))
            .await
            .unwrap()
            .did_nothing()
    );

    let last = tick(&db.pool, &config, at(12, 1)).await.unwrap();
    assert_eq!(last.final_reminders, 1, "{last:?}");
    assert!(
        tick(&db.pool, &config, at(12, 1))
            .await
            .unwrap()
            .did_nothing()
    );
    assert!(
        tick(&db.pool, &config, at(13, 23))
            .await
            .unwrap()
            .did_nothing()
    );

    assert_eq!(count_mail(&db.pool, lead, "reminder").await, 2 * CONTACTS);
    assert_eq!(
        events(&db.pool, lead).await,
        ["received", "first_reminder_sent", "final_reminder_sent"]
    );
    let subjects: Vec<String> = sqlx::query_scalar(
        "SELECT subject FROM outbox WHERE lead_id = $1 AND recipient = 'alice@contoso.test'
         ORDER BY id",
    )
    .bind(lead)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(subjects.len(), 2);
    assert!(subjects[0].contains("Rappel"), "{subjects:?}");
    assert!(subjects[1].contains("Dernier rappel"), "{subjects:?}");
}

#[tokio::test]
async fn the_contact_window_closes_after_72_hours_once() {
    let (db, config) = world().await;
    let lead = new_lead(&db.pool, Came::HotInquiry, t0()).await;
    tick(&db.pool, &config, at(1, 0)).await.unwrap(); // the first reminder
    assert!(
        tick(&db.pool, &config, at(2, 23))
            .await
            .unwrap()
            .did_nothing()
    );
    let closed = tick(&db.pool, &config, at(3, 1)).await.unwrap();
    assert_eq!(closed.hot_windows_closed, 1, "{closed:?}");
    assert!(
        tick(&db.pool, &config, at(3, 1))
            .await
            .unwrap()
            .did_nothing()
    );
    assert_eq!(
        count_mail(&db.pool, lead, "hot_window_closed").await,
        CONTACTS
    );
    assert!(
        events(&db.pool, lead)
            .await
            .contains(&"hot_window_closed".to_string())
    );
}

#[tokio::test]
async fn after_downtime_each_lead_is_caught_up_once() {
    let (db, config) = world().await;
    let overdue = new_lead(&db.pool, Came::HotInquiry, t0()).await;
    let referred = new_lead(&db.pool, Came::Referred, t0()).await;
    // Received 12 days 5 hours before the tick: past both reminder times, not expired.
    let late = new_lead(
        &db.pool,
        Came::Inquiry,
        at(20, 0) - TimeDelta::hours(12 * 24 + 5),
    )
    .await;

    let caught_up = tick(&db.pool, &config, at(20, 0)).await.unwrap();
    assert_eq!(
        caught_up,
        report(|r| {
            r.expired = 2;
            r.final_reminders = 1;
            // overdue: contacts + customer; referred: contacts + referrer; late: contacts.
            r.mails_queued = 3 * CONTACTS as usize + 2;
        })
    );
    let expected = |extra: &str, to: &str| {
        let mut mail: Vec<(String, String)> = ["alice", "marc", "paul"]
            .iter()
            .map(|who| ("contacts_expired".into(), format!("{who}@contoso.test")))
            .collect();
        mail.push((extra.into(), to.into()));
        mail.sort();
        mail
    };
    assert_eq!(
        mail_about(&db.pool, overdue).await,
        expected("customer_expired", "chloe@client.test")
    );
    assert_eq!(
        mail_about(&db.pool, referred).await,
        expected("referrer_expired", "sam@microsoft.test")
    );
    assert_eq!(events(&db.pool, overdue).await, ["received", "expired"]);
    assert_eq!(count_mail(&db.pool, late, "reminder").await, CONTACTS);
    assert_eq!(
        events(&db.pool, late).await,
        ["received", "final_reminder_sent"]
    );
    let markers: (Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT first_reminder_at, final_reminder_at FROM leads WHERE id = $1")
            .bind(late)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(markers, (Some(at(20, 0)), Some(at(20, 0))));

    assert!(
        tick(&db.pool, &config, at(20, 0))
            .await
            .unwrap()
            .did_nothing()
    );
    // The late lead still expires at its own deadline, once.
    let expiry = tick(&db.pool, &config, at(22, 0)).await.unwrap();
    assert_eq!(expiry.expired, 1, "{expiry:?}");
    assert!(
        tick(&db.pool, &config, at(30, 0))
            .await
            .unwrap()
            .did_nothing()
    );
}

#[tokio::test]
async fn two_schedulers_racing_queue_every_mail_once() {
    let (db, config) = world().await;
    // More leads than one batch holds, so both schedulers claim batches.
    let mut ids = Vec::new();
    for i in 0..120 {
        let came = if i % 2 == 0 {
            Came::Inquiry
        } else {
            Came::Referred
        };
        // Half expire, half get their final reminder.
        let received = if i % 4 < 2 { t0() } else { at(7, 0) };
        ids.push(new_lead(&db.pool, came, received).await);
    }
    let other = leadbot::store::connect(&db.url).await.unwrap();
    let now = at(19, 0);
    let (a, b) = tokio::join!(tick(&db.pool, &config, now), tick(&other, &config, now));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.expired + b.expired, 60, "{a:?} {b:?}");
    assert_eq!(a.final_reminders + b.final_reminders, 60, "{a:?} {b:?}");
    assert_eq!(a.failed + b.failed, 0);
    eprintln!("scheduler A: {a:?}\nscheduler B: {b:?}");

    let duplicates: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT lead_id, template, recipient FROM outbox
             GROUP BY 1, 2, 3 HAVING count(*) > 1) d",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(duplicates, 0);
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    // 60 expired (3 contacts + customer or referrer each), 60 reminded (3 contacts each).
    assert_eq!(queued, 60 * 4 + 60 * 3);
    assert_eq!(a.mails_queued + b.mails_queued, queued as usize);
    for id in ids {
        let timed: Vec<String> = events(&db.pool, id)
            .await
            .into_iter()
            .filter(|kind| kind != "received")
            .collect();
        assert_eq!(timed.len(), 1, "{} has {timed:?}", LeadId(id));
    }
}

#[tokio::test]
async fn leadbot_tick_prints_what_it_did() {
    let (db, _) = world().await;
    let lead = new_lead(&db.pool, Came::Inquiry, t0()).await;
    let mut env = db.env();
    env.push(("LEADBOT_SCHEDULE_DIGEST_TIME".into(), "23:59".into()));
    let output = run(&env, &["tick", "--now", "2026-11-17T00:00:00Z"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        stdout(&output).trim(),
        "expired 1, first reminders 0, final reminders 0, contact windows closed 0, \
         digests 0; 4 mail(s) queued"
    );
    assert_eq!(state(&db.pool, lead).await, "expired");
    let again = run(&env, &["tick", "--now", "2026-11-17T00:00:00Z"]);
    assert!(
        stdout(&again).starts_with("expired 0, first reminders 0"),
        "{again:?}"
    );

    let bad = run(&env, &["tick", "--now", "next tuesday"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("RFC 3339"),
        "{bad:?}"
    );
}

/// More leads than one chunk holds: `chunks` chunks and a half, half of them referred.
async fn many_leads(pool: &PgPool, chunks: i64, received: DateTime<Utc>) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..(chunks * CHUNK + CHUNK / 2) {
        let came = if i % 2 == 0 {
            Came::Inquiry
        } else {
            Came::Referred
        };
        ids.push(new_lead(pool, came, received).await);
    }
    ids
}

/// Per lead: its timed events (after `received`) and its mail, as (template, count) pairs.
async fn what_each_lead_got(pool: &PgPool) -> Vec<(i64, Vec<String>, i64)> {
    sqlx::query_as(
        "SELECT l.id,
             coalesce((SELECT array_agg(kind ORDER BY id) FROM lead_events e
                       WHERE e.lead_id = l.id AND kind <> 'received'), '{}'),
             (SELECT count(*) FROM outbox o WHERE o.lead_id = l.id)
         FROM leads l ORDER BY l.id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_sweep_longer_than_a_chunk_expires_each_lead_once_with_one_set_of_mail() {
    let (db, config) = world().await;
    let ids = many_leads(&db.pool, 2, t0()).await;
    // One lead already had mail to a contact: its expiry notice joins that thread.
    let threaded = ids[0];
    let mut tx = db.pool.begin().await.unwrap();
    let lead = leadbot::store::leads::load(&mut tx, LeadId(threaded))
        .await
        .unwrap()
        .unwrap();
    queue_new_lead_mail(&mut tx, &config.bot, &lead, t0()).await;
    tx.commit().await.unwrap();

    let first = tick(&db.pool, &config, at(15, 0)).await.unwrap();
    assert_eq!(first.expired, ids.len());
    assert_eq!(first.failed, 0);
    // Each expired: contacts and (customer or referrer), once.
    let expected_mail = (CONTACTS + 1) * ids.len() as i64 + CONTACTS + 1;
    assert_eq!(first.mails_queued as i64, expected_mail - (CONTACTS + 1));
    for (id, timed, mails) in what_each_lead_got(&db.pool).await {
        assert_eq!(timed, ["expired"], "{}", LeadId(id));
        let own = if id == threaded {
            2 * (CONTACTS + 1)
        } else {
            CONTACTS + 1
        };
        assert_eq!(mails, own, "{}", LeadId(id));
    }
    let (in_reply_to, references): (Option<String>, Vec<String>) = sqlx::query_as(
        "SELECT in_reply_to, refs FROM outbox
         WHERE lead_id = $1 AND template = 'contacts_expired' ORDER BY id LIMIT 1",
    )
    .bind(threaded)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let earlier: String = sqlx::query_scalar(
        "SELECT o.message_id FROM outbox o JOIN outbox e ON e.recipient = o.recipient
             AND e.lead_id = o.lead_id AND e.template = 'contacts_expired'
         WHERE o.lead_id = $1 AND o.template = 'new_lead' ORDER BY e.id LIMIT 1",
    )
    .bind(threaded)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(in_reply_to.as_deref(), Some(earlier.as_str()));
    assert_eq!(references, [earlier]);

    let again = tick(&db.pool, &config, at(16, 0)).await.unwrap();
    assert!(again.did_nothing(), "{again:?}");
}

#[tokio::test]
async fn two_schedulers_sharing_a_long_sweep_fire_each_rule_once() {
    let (db, config) = world().await;
    let ids = many_leads(&db.pool, 3, t0()).await;
    let other = leadbot::store::connect(&db.url).await.unwrap();
    let now = at(15, 0);
    let (a, b) = tokio::join!(tick(&db.pool, &config, now), tick(&other, &config, now));
    let (a, b) = (a.unwrap(), b.unwrap());
    eprintln!("scheduler A: {a:?}\nscheduler B: {b:?}");
    assert_eq!(a.expired + b.expired, ids.len(), "{a:?} {b:?}");
    assert_eq!(a.failed + b.failed, 0);
    for (id, timed, mails) in what_each_lead_got(&db.pool).await {
        assert_eq!(timed, ["expired"], "{}", LeadId(id));
        assert_eq!(mails, CONTACTS + 1, "{}", LeadId(id));
    }
}

#[tokio::test]
async fn a_stop_mid_sweep_leaves_whole_chunks_and_the_next_tick_finishes() {
    let (db, config) = world().await;
    let ids = many_leads(&db.pool, 2, t0()).await;
    // Asked to stop once the first chunk is done.
    let asked = std::sync::atomic::AtomicUsize::new(0);
    let stop = || asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 1;
    let stopped = tick_until(&db.pool, &config, at(15, 0), stop)
        .await
        .unwrap();
    assert_eq!(stopped.expired, CHUNK as usize, "{stopped:?}");
    for (id, timed, mails) in what_each_lead_got(&db.pool).await {
        let expired = state(&db.pool, id).await == "expired";
        // Each lead is done whole or not at all.
        if expired {
            assert_eq!((timed.len(), mails), (1, CONTACTS + 1), "{}", LeadId(id));
        } else {
            assert_eq!((timed.len(), mails), (0, 0), "{}", LeadId(id));
        }
    }
    let rest = tick(&db.pool, &config, at(15, 0)).await.unwrap();
    assert_eq!(stopped.expired + rest.expired, ids.len());
    for (id, timed, mails) in what_each_lead_got(&db.pool).await {
        assert_eq!((timed.len(), mails), (1, CONTACTS + 1), "{}", LeadId(id));
    }
}

#[tokio::test]
async fn row_counts_follow_leads_and_mail_through_a_sweep() {
    let (db, config) = world().await;
    let ids = many_leads(&db.pool, 1, t0()).await;
    let counted = |table| {
        let pool = db.pool.clone();
        async move {
            counts::by_key(&pool, table)
                .await
                .unwrap()
                .into_iter()
                .map(|(key, n)| (key.join("/"), n))
                .collect::<Vec<_>>()
        }
    };
    let counted_by_sql = |sql: &'static str| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_as::<_, (String, i64)>(sql)
                .fetch_all(&pool)
                .await
                .unwrap()
        }
    };
    let n = ids.len() as i64;
    assert_eq!(counted(Counted::Leads).await, [("received".to_string(), n)]);
    tick(&db.pool, &config, at(15, 0)).await.unwrap();
    // Before and after the deltas are folded, the same counts as counting the rows.
    for _ in 0..2 {
        let leads = "SELECT state, count(*) FROM leads GROUP BY 1 ORDER BY 1";
        assert_eq!(counted(Counted::Leads).await, counted_by_sql(leads).await);
        let outbox = "SELECT state, count(*) FROM outbox GROUP BY 1 ORDER BY 1";
        assert_eq!(counted(Counted::Outbox).await, counted_by_sql(outbox).await);
        let mut conn = db.pool.acquire().await.unwrap();
        counts::compact(&mut conn).await.unwrap();
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM row_counts")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        rows, 2,
        "one row per key once folded: leads expired, outbox queued"
    );
}
