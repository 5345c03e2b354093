//! Routing by responsiveness on PostgreSQL: among profiles that match a request equally
//! well, one that lets leads expire gets fewer — never fewer than the floor share — and
//! wins its share back as it answers again; a given request always goes the same way.

mod support;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use leadbot::config::Config;
use leadbot::domain::directory::Directory;
use leadbot::domain::lifecycle::{Action, Actor, DealChanges};
use leadbot::domain::{ContactRole, Customer, LeadContext, LeadId, LeadKind};
use leadbot::mail::rfi::{self, Sender};
use leadbot::mail::{InboundMail, parse};
use leadbot::store::directory::{self, ProfileRow};
use leadbot::store::leads::{self, NewLead};
use leadbot::workflow::act::act;
use leadbot::workflow::ingest::ingest;
use leadbot::workflow::routing::route;
use sqlx::PgPool;
use support::db::{SECRET, TestDb};

/// Two partners whose profiles match an Azure request equally well.
const TWIN_PROFILES: &str = r#"
[[partner]]
id = "north"
name = "North"
  [[partner.profile]]
  id = "north-fr"
  address = "north-fr@leads.example.test"
  regions = ["France"]
  keywords = ["azure"]
  locale = "en"
  [[partner.contact]]
  name = "Nora North"
  email = "nora@north.test"
  role = "referrals_admin"
  profiles = ["north-fr"]

[[partner]]
id = "south"
name = "South"
  [[partner.profile]]
  id = "south-fr"
  address = "south-fr@leads.example.test"
  regions = ["France"]
  keywords = ["azure"]
  locale = "en"
  [[partner.contact]]
  name = "Sam South"
  email = "sam@south.test"
  role = "referrals_admin"
  profiles = ["south-fr"]
"#;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap()
}

fn config(db: &TestDb) -> Config {
    let env = [("DATABASE_URL".to_string(), db.url.clone())];
    Config::from_parts(None, &format!("[bot]\nsecret = \"{SECRET}\"\n"), &env).unwrap()
}

async fn world() -> (TestDb, Config) {
    let db = TestDb::new().await;
    let directory = Directory::parse(TWIN_PROFILES).unwrap();
    directory::import(&db.pool, &directory).await.unwrap();
    let config = config(&db);
    (db, config)
}

/// A request to the bot's own address: routing decides.
fn request(n: usize) -> Vec<u8> {
    format!(
        "From: Customer {n} <customer{n}@client.test>\r\nTo: leads@leads.example.test\r\n\
         Subject: Azure\r\nDate: Fri, 20 Nov 2026 08:00:00 +0000\r\n\
         Message-ID: <request-{n}@client.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Hello,\r\nWe need help with an Azure migration.\r\n\r\nCustomer {n}\r\n"
    )
    .into_bytes()
}

async fn lead_for(pool: &PgPool, profile: &str, received_at: DateTime<Utc>) -> LeadId {
    let new = NewLead {
        kind: LeadKind::CustomerInquiry,
        partner_id: profile.split('-').next().unwrap_or_default().into(),
        profile_id: profile.into(),
        customer: Customer {
            name: Some("Chloé Dubois".into()),
            ..Customer::default()
        },
        context: LeadContext::default(),
        customer_locale: None,
        need: "Azure".into(),
        hot_until: None,
        referrer: None,
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

async fn accept_in_hours(pool: &PgPool, profile: &str, received_at: DateTime<Utc>) {
    let lead = lead_for(pool, profile, received_at).await;
    let actor = Actor::Contact {
        name: "Contact".into(),
        email: "contact@test".into(),
        role: ContactRole::ReferralsAdmin,
    };
    let accept = Action::Accept {
        deal: DealChanges::default(),
        contacts: Vec::new(),
    };
    let at = received_at + TimeDelta::hours(2);
    act(pool, lead, &actor, accept, at).await.unwrap();
}

async fn let_expire(pool: &PgPool, profile: &str, received_at: DateTime<Utc>) {
    let lead = lead_for(pool, profile, received_at).await;
    let at = received_at + TimeDelta::days(14);
    act(pool, lead, &Actor::Scheduler, Action::Expire, at)
        .await
        .unwrap();
}

/// North's share of `draws` routing decisions for one Azure request, seeds 0..draws.
async fn north_share(db: &TestDb, config: &Config, draws: u64) -> f64 {
    let mut conn = db.pool.acquire().await.unwrap();
    let profiles: Vec<ProfileRow> = directory::profiles(&mut conn).await.unwrap();
    let mail: InboundMail = parse(&request(0)).unwrap();
    let rfi = rfi::extract(&mail, Sender::Public).unwrap();
    let mut north = 0;
    for seed in 0..draws {
        let chosen = route(&mut conn, config, &mail, &rfi, &profiles, seed, now())
            .await
            .unwrap()
            .unwrap();
        if chosen[0].id == "north-fr" {
            north += 1;
        }
    }
    north as f64 / draws as f64
}

#[tokio::test]
async fn a_profile_that_lets_leads_expire_keeps_its_floor_share_and_wins_it_back() {
    let (db, config) = world().await;
    let day = TimeDelta::days(1);
    // Nothing known yet: an even split.
    let even = north_share(&db, &config, 1000).await;
    assert!((even - 0.5).abs() < 0.05, "north's share {even}");

    // North let three leads expire; South answered three within two hours.
    for n in 0..3 {
        let received = now() - day * (25 - n);
        let_expire(&db.pool, "north-fr", received).await;
        accept_in_hours(&db.pool, "south-fr", received).await;
    }
    // North's weight is 0, South's 1: North keeps the floor share, 20%.
    let starved = north_share(&db, &config, 1000).await;
    assert!((starved - 0.2).abs() < 0.04, "north's share {starved}");

    // North answers its next three leads in time: half its answers were in time and
    // accepted, weight 0.5 against 1, so 20% + 60% × 0.5 / 1.5 = 40%.
    for n in 0..3 {
        accept_in_hours(&db.pool, "north-fr", now() - day * (5 - n)).await;
    }
    let recovered = north_share(&db, &config, 1000).await;
    assert!((recovered - 0.4).abs() < 0.05, "north's share {recovered}");
}

#[tokio::test]
async fn requests_through_ingest_share_out_and_each_goes_the_same_way_again() {
    let (db, config) = world().await;
    for n in 0..3 {
        let received = now() - TimeDelta::days(25 - n);
        let_expire(&db.pool, "north-fr", received).await;
        accept_in_hours(&db.pool, "south-fr", received).await;
    }
    for n in 0..100 {
        ingest(&db.pool, &config, "test", &request(n), now())
            .await
            .unwrap();
    }
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT profile_id, count(*) FROM leads WHERE source_message_id IS NOT NULL
         GROUP BY profile_id ORDER BY profile_id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let north = counts
        .iter()
        .find(|(p, _)| p == "north-fr")
        .map_or(0, |c| c.1);
    let south = counts
        .iter()
        .find(|(p, _)| p == "south-fr")
        .map_or(0, |c| c.1);
    assert_eq!(north + south, 100, "{counts:?}");
    assert!((10..=32).contains(&north), "north got {north} of 100");

    // The same request routed again (as `inbound reprocess` would) picks the same profile.
    let mut conn = db.pool.acquire().await.unwrap();
    let profiles = directory::profiles(&mut conn).await.unwrap();
    let mail = parse(&request(7)).unwrap();
    let rfi = rfi::extract(&mail, Sender::Public).unwrap();
    let first = route(&mut conn, &config, &mail, &rfi, &profiles, 42, now()).await;
    let again = route(&mut conn, &config, &mail, &rfi, &profiles, 42, now()).await;
    let id = |r: Result<Result<Vec<&ProfileRow>, String>, _>| r.unwrap().unwrap()[0].id.clone();
    assert_eq!(id(first), id(again));
}
