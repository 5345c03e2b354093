//! Daily digests on PostgreSQL: what they count for a seeded partner, when they go out,
//! once per admin per day even with two schedulers, and how they read (EN and FR).

mod support;

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use leadbot::config::Config;
use leadbot::domain::Locale;
use leadbot::domain::lifecycle::{Action, Actor, DealChanges};
use leadbot::domain::{ContactRole, Customer, DeclineReason, LeadId, LeadKind, Money};
use leadbot::domain::{LeadContext, LeadState, Referrer, ReferrerKind};
use leadbot::mail::templates::{Notification, render};
use leadbot::store::leads::{self, NewLead};
use leadbot::workflow::act::act;
use leadbot::workflow::digest;
use leadbot::workflow::scheduler::tick;
use sqlx::PgPool;
use support::db::{SECRET, TestDb, seed_directory};
use support::leadbot::{run, stdout};

/// The digest goes out at 08:00 UTC (the default).
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap()
}

fn hours_ago(hours: i64) -> DateTime<Utc> {
    now() - TimeDelta::hours(hours)
}

fn config(db: &TestDb) -> Config {
    let env = [("DATABASE_URL".to_string(), db.url.clone())];
    Config::from_parts(None, &format!("[bot]\nsecret = \"{SECRET}\"\n"), &env).unwrap()
}

async fn new_lead(
    pool: &PgPool,
    profile: &str,
    company: &str,
    received_at: DateTime<Utc>,
    hot: bool,
    referred: bool,
) -> LeadId {
    let new = NewLead {
        kind: if referred {
            LeadKind::SalesQualified
        } else {
            LeadKind::CustomerInquiry
        },
        partner_id: profile.split('-').next().unwrap_or_default().into(),
        profile_id: profile.into(),
        customer: Customer {
            name: Some("Chloé Dubois".into()),
            email: Some("chloe@client.test".into()),
            company: Some(company.into()),
            phone: None,
        },
        context: LeadContext::default(),
        customer_locale: None,
        need: "Teams".into(),
        hot_until: hot.then(|| received_at + TimeDelta::hours(72)),
        referrer: referred.then(|| Referrer {
            kind: ReferrerKind::Staff,
            email: "sam@microsoft.test".into(),
            name: None,
        }),
        source_message_id: None,
        received_at,
        expires_at: received_at + TimeDelta::days(14),
    };
    let mut conn = pool.acquire().await.unwrap();
    leads::insert(&mut conn, &new, "test")
        .await
        .unwrap()
        .unwrap()
        .id
}

fn alice() -> Actor {
    Actor::Contact {
        name: "Alice Martin".into(),
        email: "alice@contoso.test".into(),
        role: ContactRole::ReferralsAdmin,
    }
}

async fn accept(pool: &PgPool, lead: LeadId, amount: i64, currency: &str, at: DateTime<Utc>) {
    let deal = DealChanges {
        value: Some(Money {
            amount: amount.into(),
            currency: currency.into(),
        }),
        ..DealChanges::default()
    };
    let action = Action::Accept {
        deal,
        contacts: Vec::new(),
    };
    act(pool, lead, &alice(), action, at).await.unwrap();
}

async fn close(pool: &PgPool, lead: LeadId, action: Action, at: DateTime<Utc>) {
    act(pool, lead, &alice(), action, at).await.unwrap();
}

/// Contoso's leads, each there for one line of the digest (hours are before 08:00 today):
///
/// | company | received | first response    | now                         |
/// |---------|----------|-------------------|-----------------------------|
/// | Adatum  | 10 h     | —                 | received, hot: new          |
/// | Bellows | 13 d     | —                 | received, expires in 24 h   |
/// | Coho    | 5 d      | 2 h (accepted)    | accepted 25,000 EUR         |
/// | Dunmore | 4 d      | 6 h (accepted)    | accepted 10,000 EUR         |
/// | Elm     | 3 d      | 30 h (accepted)   | accepted 8,000 USD          |
/// | Fourth  | 10 d     | 1 h (accepted)    | won 3 h ago                 |
/// | Graphic | 8 d      | 4 h (declined)    | declined                    |
/// | Humongo | 20 d     | 50 h (accepted)   | lost 30 h ago (before)      |
///
/// and one Fabrikam lead that must not show.
async fn seed(pool: &PgPool) {
    let day = 24;
    new_lead(pool, "contoso-fr", "Adatum", hours_ago(10), true, false).await;
    new_lead(
        pool,
        "contoso-fr",
        "Bellows",
        hours_ago(13 * day),
        false,
        true,
    )
    .await;
    let coho = new_lead(pool, "contoso-fr", "Coho", hours_ago(5 * day), false, false).await;
    accept(pool, coho, 25_000, "EUR", hours_ago(5 * day - 2)).await;
    let dunmore = new_lead(
        pool,
        "contoso-fr",
        "Dunmore",
        hours_ago(4 * day),
        false,
        false,
    )
    .await;
    accept(pool, dunmore, 10_000, "EUR", hours_ago(4 * day - 6)).await;
    let elm = new_lead(pool, "contoso-fr", "Elm", hours_ago(3 * day), false, false).await;
    accept(pool, elm, 8_000, "USD", hours_ago(3 * day - 30)).await;
    let fourth = new_lead(
        pool,
        "contoso-fr",
        "Fourth",
        hours_ago(10 * day),
        false,
        false,
    )
    .await;
    accept(pool, fourth, 5_000, "EUR", hours_ago(10 * day - 1)).await;
    close(pool, fourth, Action::Won { notes: None }, hours_ago(3)).await;
    let graphic = new_lead(
        pool,
        "contoso-fr",
        "Graphic",
        hours_ago(8 * day),
        false,
        false,
    )
    .await;
    let decline = Action::Decline {
        reason: DeclineReason::NoCapacity,
        notes: None,
    };
    close(pool, graphic, decline, hours_ago(8 * day - 4)).await;
    let humongo = new_lead(
        pool,
        "contoso-fr",
        "Humongo",
        hours_ago(20 * day),
        false,
        false,
    )
    .await;
    accept(pool, humongo, 7_000, "EUR", hours_ago(20 * day - 50)).await;
    close(pool, humongo, Action::Lost { notes: None }, hours_ago(30)).await;
    new_lead(pool, "fabrikam-uk", "Fabrikam", hours_ago(2), false, false).await;
}

async fn world() -> (TestDb, Config) {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    seed(&db.pool).await;
    let config = config(&db);
    (db, config)
}

async fn contoso_digest(pool: &PgPool) -> leadbot::domain::digest::Digest {
    let mut conn = pool.acquire().await.unwrap();
    digest::build(&mut conn, "contoso", "Contoso Ltd", None, now())
        .await
        .unwrap()
}

fn companies(leads: &[leadbot::domain::digest::DigestLead]) -> Vec<String> {
    leads
        .iter()
        .map(|l| {
            l.customer
                .trim_start_matches("Chloé Dubois (")
                .trim_end_matches(')')
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn the_digest_counts_what_happened() {
    let (db, _) = world().await;
    let digest = contoso_digest(&db.pool).await;
    assert_eq!(digest.period_start, hours_ago(24));
    assert_eq!(companies(&digest.new_leads), ["Adatum"]);
    assert_eq!(companies(&digest.awaiting), ["Bellows", "Adatum"]);
    assert_eq!(companies(&digest.hot_unanswered), ["Adatum"]);
    assert_eq!(companies(&digest.expiring_soon), ["Bellows"]);
    assert_eq!(companies(&digest.won), ["Fourth"]);
    assert!(digest.lost.is_empty(), "Humongo was lost before the period");
    let pipeline: Vec<String> = digest.pipeline.iter().map(ToString::to_string).collect();
    assert_eq!(pipeline, ["35,000.00 EUR", "8,000.00 USD"]);
    // Responses after 1, 2, 4, 6, 30 and 50 hours.
    assert_eq!(digest.median_first_response, Some(TimeDelta::hours(5)));
    let by_state: Vec<(LeadState, usize)> = digest.by_state.clone();
    assert_eq!(
        by_state,
        [
            (LeadState::Received, 2),
            (LeadState::Accepted, 3),
            (LeadState::Declined, 1),
            (LeadState::Expired, 0),
            (LeadState::Won, 1),
            (LeadState::Lost, 1),
        ]
    );
    let buckets: Vec<usize> = digest.response_times.iter().map(|(_, n)| *n).collect();
    assert_eq!(buckets, [0, 2, 2, 2, 0]);

    let [profile] = digest.profiles.as_slice() else {
        panic!("contoso has one profile: {:?}", digest.profiles);
    };
    assert_eq!(profile.profile_id, "contoso-fr");
    assert_eq!(
        (profile.leads, profile.marketplace, profile.qualified),
        (8, 7, 1)
    );
    assert_eq!(
        (profile.answered, profile.accepted, profile.declined),
        (6, 5, 1)
    );
    assert_eq!((profile.won, profile.lost), (1, 1));
    assert_eq!(profile.acceptance_rate(), Some(5.0 / 6.0));
    assert_eq!(profile.win_rate(), Some(0.5));
    assert_eq!(profile.median_first_response, Some(TimeDelta::hours(5)));
}

/// `L-1003` → `L-ID`; the chart's base64 → `PNG`. Dates come from the test's fixed clock.
fn blanked(text: &str) -> String {
    let text = match text.split_once("data:image/png;base64,") {
        Some((before, after)) => {
            let rest = after.split_once('"').map_or("", |(_, rest)| rest);
            format!("{before}data:image/png;base64,PNG\"{rest}")
        }
        None => text.to_string(),
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("L-") {
        out.push_str(&rest[..at + 2]);
        rest = &rest[at + 2..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("ID");
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn the_digest_reads_well_in_english_and_french() {
    let (db, _) = world().await;
    let digest = contoso_digest(&db.pool).await;
    let day = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let notification = Notification::Digest {
        digest: &digest,
        day,
    };
    for locale in [Locale::En, Locale::Fr] {
        let rendered = render(&notification, locale).unwrap();
        let png = rendered
            .html
            .split_once("data:image/png;base64,")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(b64, _)| data_encoding::BASE64.decode(b64.as_bytes()).unwrap())
            .expect("an inline chart");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        insta::assert_snapshot!(
            format!("digest_text_{}", locale.as_str()),
            blanked(&format!(
                "Subject: {}\n\n{}",
                rendered.subject, rendered.text
            ))
        );
        insta::assert_snapshot!(
            format!("digest_html_{}", locale.as_str()),
            blanked(&rendered.html)
        );
    }
}

#[tokio::test]
async fn what_customers_wrote_is_escaped_in_the_html() {
    let (db, _) = world().await;
    let mut digest = contoso_digest(&db.pool).await;
    digest.new_leads[0].customer = "<script>alert(1)</script> & Co".into();
    let notification = Notification::Digest {
        digest: &digest,
        day: now().date_naive(),
    };
    let rendered = render(&notification, Locale::En).unwrap();
    assert!(!rendered.html.contains("<script>"), "{}", rendered.html);
    assert!(rendered.text.contains("<script>alert(1)</script> & Co"));
}

async fn digests_to(pool: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT recipient, subject FROM outbox WHERE template = 'digest' ORDER BY recipient, id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn each_admin_gets_one_digest_a_day_after_the_digest_time() {
    let (db, config) = world().await;
    let too_early = tick(&db.pool, &config, now() - TimeDelta::minutes(1))
        .await
        .unwrap();
    assert_eq!(too_early.digests, 0);

    // Two schedulers at the digest time: one digest per partner admin.
    let other = leadbot::store::connect(&db.url).await.unwrap();
    let (a, b) = tokio::join!(tick(&db.pool, &config, now()), tick(&other, &config, now()));
    assert_eq!(a.unwrap().digests + b.unwrap().digests, 2);
    let later = tick(&db.pool, &config, now() + TimeDelta::hours(3))
        .await
        .unwrap();
    assert_eq!(later.digests, 0);
    assert_eq!(
        digests_to(&db.pool).await,
        [
            (
                "bob@fabrikam.test".into(),
                "Daily digest for Fabrikam Consulting: 2026-11-20".into()
            ),
            (
                "paul@contoso.test".into(),
                "Synthèse quotidienne Contoso Ltd : 2026-11-20".into()
            ),
        ]
    );

    // The next morning's digest covers the time since this one.
    let tomorrow = now() + TimeDelta::days(1);
    assert_eq!(tick(&db.pool, &config, tomorrow).await.unwrap().digests, 2);
    let paul: i64 = sqlx::query_scalar("SELECT id FROM contacts WHERE email = 'paul@contoso.test'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let mut conn = db.pool.acquire().await.unwrap();
    let last = leadbot::store::schedule::last_digest_before(&mut conn, paul, tomorrow)
        .await
        .unwrap();
    assert_eq!(last, Some(now()));
}

#[tokio::test]
async fn digest_send_queues_one_now_and_the_scheduler_skips_that_admin_today() {
    let (db, config) = world().await;
    let env = db.env();
    let output = run(
        &env,
        &[
            "digest",
            "send",
            "--partner",
            "contoso",
            "--now",
            "2026-11-20T06:00:00Z",
        ],
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output).trim(), "queued 1 digest(s)");

    let report = tick(&db.pool, &config, now()).await.unwrap();
    assert_eq!(report.digests, 1, "only Fabrikam's admin is still due");
    let recipients: Vec<String> = digests_to(&db.pool)
        .await
        .into_iter()
        .map(|(to, _)| to)
        .collect();
    assert_eq!(recipients, ["bob@fabrikam.test", "paul@contoso.test"]);

    let unknown = run(&env, &["digest", "send", "--partner", "nobody"]);
    assert!(!unknown.status.success());
}

#[tokio::test]
async fn partner_stats_shows_each_profile() {
    let (db, _) = world().await;
    let output = run(&db.env(), &["partner", "stats", "--json"]);
    assert!(output.status.success(), "{output:?}");
    let stats: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let contoso = &stats[0];
    assert_eq!(contoso["profile_id"], "contoso-fr");
    assert_eq!(contoso["leads"], 8);
    assert_eq!(contoso["marketplace"], 7);
    assert_eq!(contoso["qualified"], 1);
    assert_eq!(contoso["win_rate"], 0.5);
    assert_eq!(contoso["median_first_response_seconds"], 5 * 3600);
    assert_eq!(stats[1]["profile_id"], "fabrikam-uk");
    assert_eq!(stats[1]["acceptance_rate"], serde_json::Value::Null);

    let table = stdout(&run(&db.env(), &["partner", "stats"]));
    assert!(table.starts_with("PARTNER"), "{table}");
    assert!(
        table.contains("contoso-fr") && table.contains("83%") && table.contains("5h"),
        "{table}"
    );
}
