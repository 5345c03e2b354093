//! Throughput of ingest on the real PostgreSQL: RFIs that become leads (with their
//! notifications queued) and replies that accept them (with transcripts queued) — one
//! transaction per message, as in production.
//!
//! Run: `cargo bench --bench ingest` (needs PostgreSQL on 127.0.0.1:5432, or
//! LEADBOT_TEST_DATABASE_URL; it creates and drops its own database).

use std::time::Instant;

use chrono::Utc;
use leadbot::config::Config;
use leadbot::domain::directory::Directory;
use leadbot::workflow::ingest::{Handled, ingest};
use sqlx::Connection;

const MESSAGES: usize = 500;

#[tokio::main]
async fn main() {
    let admin_url = std::env::var("LEADBOT_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let server = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(s, _)| s);
    let url = format!("{server}/leadbot_bench_ingest");
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("PostgreSQL");
    sqlx::query("DROP DATABASE IF EXISTS leadbot_bench_ingest WITH (FORCE)")
        .execute(&mut admin)
        .await
        .expect("drop");
    sqlx::query("CREATE DATABASE leadbot_bench_ingest")
        .execute(&mut admin)
        .await
        .expect("create");
    let pool = leadbot::store::connect(&url).await.expect("connect");
    leadbot::store::migrate(&pool).await.expect("migrate");
    let partners = include_str!("../examples/partners.toml");
    let directory = Directory::parse(partners).expect("partners");
    leadbot::store::directory::import(&pool, &directory)
        .await
        .expect("import");
    let config = Config::from_parts(
        None,
        &format!("[database]\nurl = \"{url}\"\n[bot]\nsecret = \"bench-secret-0123456789\"\n"),
        &[],
    )
    .expect("config");

    let started = Instant::now();
    for n in 0..MESSAGES {
        let raw = format!(
            "From: Customer {n} <c{n}@client.test>\r\nTo: contoso-fr@leads.example.test\r\n\
             Subject: Teams {n}\r\nMessage-ID: <bench-rfi-{n}@client.test>\r\n\r\n\
             Bonjour, nous voulons migrer {n} boîtes vers Teams.\r\n\r\nCordialement,\r\nC {n}\r\nSociété {n}\r\n"
        );
        let report = ingest(&pool, &config, "bench", raw.as_bytes(), Utc::now())
            .await
            .expect("ingest");
        assert!(matches!(report.handled, Handled::LeadsCreated(_)));
    }
    let rfi_rate = MESSAGES as f64 / started.elapsed().as_secs_f64();

    let notifications: Vec<(Option<String>, String)> = sqlx::query_as(
        "SELECT reply_to, message_id FROM outbox WHERE template = 'new_lead'
         AND recipient = 'alice@contoso.test' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .expect("notifications");
    let started = Instant::now();
    for (n, (reply_to, message_id)) in notifications.iter().enumerate() {
        let raw = format!(
            "From: alice@contoso.test\r\nTo: {}\r\nSubject: Re\r\nMessage-ID: <bench-reply-{n}@contoso.test>\r\n\
             In-Reply-To: <{message_id}>\r\n\r\nACCEPT\r\nValue: 25k EUR\r\n\r\nOn Mon, leadbot wrote:\r\n> DECLINE\r\n",
            reply_to.as_deref().unwrap_or_default()
        );
        let report = ingest(&pool, &config, "bench", raw.as_bytes(), Utc::now())
            .await
            .expect("ingest");
        assert!(
            matches!(report.handled, Handled::Applied(_)),
            "{:?}",
            report.handled
        );
    }
    let reply_rate = notifications.len() as f64 / started.elapsed().as_secs_f64();

    println!("RFIs ingested (lead + 4 mails queued):     {MESSAGES:>5} at {rfi_rate:>7.0} msg/s");
    println!(
        "replies applied (ACCEPT + transcript):     {:>5} at {reply_rate:>7.0} msg/s",
        notifications.len()
    );
    pool.close().await;
    let _ = sqlx::query("DROP DATABASE IF EXISTS leadbot_bench_ingest WITH (FORCE)")
        .execute(&mut admin)
        .await;
}
