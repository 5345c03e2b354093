//! Daily digests on PostgreSQL: what they count for a seeded partner, when they go out,
//! once per admin per day even with two schedulers, and how they read (EN and FR).

mod support;

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use leadbot::config::Config;
use leadbot::domain::Locale;
use leadbot::domain::lifecycle::{Action, Actor, DealChanges};
use leadbot::domain::stats::Fraction;
use leadbot::domain::{ContactRole, Customer, DeclineReason, LeadId, LeadKind, Money};
use leadbot::domain::{LeadContext, LeadState, Referrer, ReferrerKind};
use leadbot::mail::digest as mail_digest;
use leadbot::store::leads::{self, NewLead};
use leadbot::transport::{MailTransport, MemoryTransport};
use leadbot::workflow::act::act;
use leadbot::workflow::digest;
use leadbot::workflow::outbox::{Courier, flush};
use leadbot::workflow::scheduler::tick;
use mail_parser::{MessageParser, MessagePart, MimeHeaders};
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
    let settings = Config::from_parts(None, &format!("[bot]\nsecret = \"{SECRET}\"\n"), &[]);
    digest::build(
        &mut conn,
        &settings.unwrap(),
        "contoso",
        "Contoso Ltd",
        None,
        now(),
    )
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
    assert!(digest.accepted.is_empty() && digest.declined.is_empty());
    assert!(digest.expired.is_empty());
    let pipeline: Vec<String> = digest.pipeline.iter().map(ToString::to_string).collect();
    assert_eq!(pipeline, ["35,000.00 EUR", "8,000.00 USD"]);
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
    // Answered after 1, 2, 4, 6, 30 and 50 hours; Bellows unanswered for 13 days; Adatum
    // (10 hours) is not late yet.
    let buckets: Vec<usize> = digest.response_times.iter().map(|(_, n)| *n).collect();
    assert_eq!(buckets, [0, 2, 2, 2, 0, 1]);

    let [profile] = digest.profiles.as_slice() else {
        panic!("contoso has one profile: {:?}", digest.profiles);
    };
    assert_eq!(profile.profile_id, "contoso-fr");
    assert_eq!(
        (profile.leads, profile.marketplace, profile.qualified),
        (8, 7, 1)
    );
    assert_eq!(
        (profile.accepted, profile.declined, profile.expired),
        (5, 1, 0)
    );
    assert_eq!((profile.won, profile.lost, profile.waiting), (1, 1, 2));
    let fraction = |f: Option<Fraction>| f.map(|f| (f.part, f.whole));
    assert_eq!(fraction(profile.acceptance()), Some((5, 6)));
    assert_eq!(fraction(profile.on_time()), Some((4, 7)));
    assert_eq!(fraction(profile.wins()), Some((1, 2)));
    // The median of 1, 2, 4, 6, 30, 50 hours and Bellows' 13 days.
    assert_eq!(profile.median_response, Some(TimeDelta::hours(6)));
    assert_eq!(digest.total.on_time(), profile.on_time());
}

/// `L-1003` → `L-ID`. Dates come from the test's fixed clock.
fn blanked(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
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

const CHART_ID: &str = "chart.1@leads.example.test";

#[tokio::test]
async fn the_digest_reads_well_in_english_and_french() {
    let (db, _) = world().await;
    let digest = contoso_digest(&db.pool).await;
    let day = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    for locale in [Locale::En, Locale::Fr] {
        let written = mail_digest::render(&digest, day, locale, CHART_ID).unwrap();
        assert!(written.chart.data.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(
            written
                .rendered
                .html
                .contains("src=\"cid:chart.1@leads.example.test\"")
        );
        let rendered = written.rendered;
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
    let day = now().date_naive();
    let rendered = mail_digest::render(&digest, day, Locale::En, CHART_ID)
        .unwrap()
        .rendered;
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
                "Daily digest for Fabrikam Consulting: 20 Nov 2026".into()
            ),
            (
                "paul@contoso.test".into(),
                "Synthèse quotidienne Contoso Ltd\u{a0}: 20 nov. 2026".into()
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
    let at = ["--now", "2026-11-20T08:00:00Z"];
    let output = run(&db.env(), &["partner", "stats", "--json", at[0], at[1]]);
    assert!(output.status.success(), "{output:?}");
    let stats: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let contoso = &stats[0];
    assert_eq!(contoso["profile_id"], "contoso-fr");
    assert_eq!(contoso["leads"], 8);
    assert_eq!(contoso["marketplace"], 7);
    assert_eq!(contoso["qualified"], 1);
    assert_eq!(contoso["answered_in_time"], 4);
    assert_eq!(contoso["response_due"], 7);
    assert_eq!(contoso["win_rate"], 0.5);
    assert_eq!(contoso["median_response_seconds"], 6 * 3600);
    assert_eq!(stats[1]["profile_id"], "fabrikam-uk");
    assert_eq!(stats[1]["acceptance_rate"], serde_json::Value::Null);
    // Nothing known of Fabrikam: an average weight, neither favoured nor starved.
    assert_eq!(stats[1]["weight"], 0.5);

    let table = stdout(&run(&db.env(), &["partner", "stats", at[0], at[1]]));
    assert!(table.contains("PARTNER"), "{table}");
    assert!(
        table.contains("contoso-fr") && table.contains("4/7 57%") && table.contains("5/6 83%"),
        "{table}"
    );
    assert!(
        table.contains("mean of in time 4/7 and accepted 5/6"),
        "{table}"
    );
}

async fn expire(pool: &PgPool, lead: LeadId, at: DateTime<Utc>) {
    act(pool, lead, &Actor::Scheduler, Action::Expire, at)
        .await
        .unwrap();
}

/// The month the issue describes: seven leads, two accepted within a few hours, five left
/// to expire. Every reader sees "answered within 1 d: 2 of 7" and "accepted: 2 of 7".
#[tokio::test]
async fn a_month_where_most_leads_expire_reads_the_same_everywhere() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let day = 24;
    for (n, company) in ["Ash", "Birch", "Cedar", "Dogwood", "Elder", "Fir", "Gum"]
        .into_iter()
        .enumerate()
    {
        let received = hours_ago((25 - n as i64) * day);
        let lead = new_lead(&db.pool, "contoso-fr", company, received, false, false).await;
        if n < 2 {
            accept(&db.pool, lead, 1_000, "EUR", received + TimeDelta::hours(3)).await;
        } else {
            expire(&db.pool, lead, received + TimeDelta::days(14)).await;
        }
    }
    let config = config(&db);

    let digest = contoso_digest(&db.pool).await;
    let profile = &digest.profiles[0];
    assert_eq!((profile.accepted, profile.expired), (2, 5));
    let day = now().date_naive();
    let en = mail_digest::render(&digest, day, Locale::En, CHART_ID).unwrap();
    for expected in [
        "Answered within 1\u{a0}d: 2 of 7 (29%)",
        "Accepted, of the leads decided or expired: 2 of 7 (29%)",
        "Expired unanswered: 5",
        "median response 14\u{a0}d",
    ] {
        assert!(
            en.rendered.text.contains(expected),
            "{expected:?} in\n{}",
            en.rendered.text
        );
    }
    let fr = mail_digest::render(&digest, day, Locale::Fr, CHART_ID).unwrap();
    assert!(
        fr.rendered.text.contains("2 sur 7 (29\u{202f}%)"),
        "{}",
        fr.rendered.text
    );

    let output = run(
        &db.env(),
        &[
            "partner",
            "stats",
            "--json",
            "--now",
            "2026-11-20T08:00:00Z",
        ],
    );
    let stats: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let contoso = &stats[0];
    assert_eq!(contoso["answered_in_time"], 2);
    assert_eq!(contoso["response_due"], 7);
    assert_eq!(contoso["expired"], 5);
    assert_eq!(contoso["acceptance_rate"], 2.0 / 7.0);

    // Routing reads the same figures: the weight is the mean of 2/7 and 2/7.
    let mut conn = db.pool.acquire().await.unwrap();
    let record = leadbot::store::stats::profile_stats(
        &mut conn,
        leadbot::store::stats::Profiles::Only(&["contoso-fr".to_string()]),
        now() - leadbot::domain::stats::STATS_WINDOW,
        now(),
        config.schedule.response_target,
    )
    .await
    .unwrap();
    let weight = leadbot::domain::routing::Weight::of(record.first());
    assert!((weight.value - 2.0 / 7.0).abs() < 1e-9, "{weight:?}");
    assert_eq!(contoso["weight"], weight.value);
}

/// The digest as it leaves: text and HTML alternatives, the HTML related to the PNG chart it
/// shows as `cid:`, under 100 KB even for a busy month (lists capped), sent once.
#[tokio::test]
async fn a_busy_month_s_digest_is_a_related_mail_under_100_kb_sent_once() {
    let (db, config) = world().await;
    for n in 0..60 {
        let company = format!("Very Long Customer Company Name Number {n} Incorporated");
        new_lead(
            &db.pool,
            "contoso-fr",
            &company,
            hours_ago(n * 5 + 1),
            n % 4 == 0,
            false,
        )
        .await;
    }
    let sent = digest::send_now(&db.pool, &config, Some("contoso"), now())
        .await
        .unwrap();
    assert_eq!(sent.sent, 1);
    let memory = MemoryTransport::new();
    let courier = Courier::new(MailTransport::Memory(memory.clone()), &config);
    let report = flush(&db.pool, &courier, now()).await.unwrap();
    let again = flush(&db.pool, &courier, now()).await.unwrap();
    assert_eq!((report.sent, again.sent), (1, 0));
    let [mail] = memory.sent().try_into().expect("one digest");
    assert!(
        mail.raw.len() < 100_000,
        "the digest is {} bytes",
        mail.raw.len()
    );

    let message = MessageParser::default().parse(&mail.raw).unwrap();
    let kind = |part: &MessagePart| {
        let ct = part.content_type().unwrap();
        format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default())
    };
    let kinds: Vec<String> = message.parts.iter().map(kind).collect();
    assert_eq!(
        kinds,
        [
            "multipart/alternative",
            "text/plain",
            "multipart/related",
            "text/html",
            "image/png"
        ]
    );
    let image = &message.parts[4];
    let content_id = image.content_id().expect("the chart has a Content-ID");
    assert_eq!(
        image.content_disposition().map(|d| d.ctype()),
        Some("inline")
    );
    assert!(image.contents().starts_with(b"\x89PNG\r\n\x1a\n"));
    let html = message.body_html(0).unwrap();
    assert!(
        html.contains(&format!("src=\"cid:{content_id}\"")),
        "the HTML shows the chart by its Content-ID {content_id}"
    );
    let text = message.body_text(0).unwrap();
    // Paul reads French: 61 waiting leads, 8 listed.
    assert!(
        text.contains("En attente de votre réponse\u{a0}: 62"),
        "{text}"
    );
    assert!(text.contains("et 54 autres"), "{text}");
    assert!(
        !html.contains("data:image"),
        "no data: URI, which Gmail strips"
    );
}
