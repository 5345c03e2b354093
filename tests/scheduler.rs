//! The scheduler on PostgreSQL: each timed rule at its boundary, catch-up after downtime,
//! two schedulers racing, and ticks that repeat.

mod support;

use support::fixtures::{chloe_inquiry, insert_lead};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use leadbot::config::Config;
use leadbot::domain::{LeadId, LeadKind, Referrer, ReferrerKind};
use leadbot::store::leads::NewLead;
use leadbot::workflow::scheduler::{TickReport, tick};
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
