//! `leadbot demo`: the whole life cycle on this machine's PostgreSQL, in under a minute,
//! through the same code that serves real mail — ingest, replies, scheduler, outbox — with
//! a file transport instead of a mail server, so every mail can be opened afterwards.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgPool;

use crate::config::Config;
use crate::domain::LeadId;
use crate::domain::directory::Directory;
use crate::store::private_cluster::{self, PrivateCluster};
use crate::store::reach::Reach;
use crate::store::{self, leads};
use crate::transport::MailTransport;
use crate::transport::file::FileTransport;
use crate::workflow::ingest::{self, Handled};
use crate::workflow::outbox::{self, Courier};
use crate::workflow::{digest, scheduler};

const PARTNERS: &str = include_str!("../examples/partners.toml");

/// Customers' requests, as they arrive from different mail clients.
const REQUESTS: &[(&str, &[u8])] = &[
    (
        "Gmail, French, to Contoso's profile",
        include_bytes!("../tests/golden/rfi/gmail-fr.eml"),
    ),
    (
        "web form relay, English, to Fabrikam's profile",
        include_bytes!("../tests/golden/rfi/form-relay-en.eml"),
    ),
    (
        "Outlook HTML-only, French, 'contact me directly'",
        include_bytes!("../tests/golden/rfi/outlook-html-only-fr.eml"),
    ),
    (
        "staff forward to the bot's address, routed by region and keywords",
        include_bytes!("../tests/golden/rfi/staff-forward-gmail.eml"),
    ),
];

pub struct DemoOptions {
    /// A PostgreSQL URL whose server hosts the demo database (`leadbot_demo`, recreated).
    pub server_url: String,
    /// Where the mail leadbot writes goes, as .eml files.
    pub out_dir: PathBuf,
}

impl DemoOptions {
    /// The machine's PostgreSQL (or `DATABASE_URL`'s server) and `./leadbot-demo`.
    pub fn from_environment() -> Self {
        Self {
            server_url: std::env::var("DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
            out_dir: PathBuf::from("leadbot-demo"),
        }
    }
}

/// Runs the demo on the configured server, or — when none answers there and PostgreSQL's
/// server programs are installed — on a private throwaway cluster, stopped and removed at
/// the end (also on Ctrl-C).
pub async fn run(options: DemoOptions) -> Result<()> {
    let target = store::describe_url(&options.server_url);
    let (server_url, private) = match store::reach::reach(&options.server_url).await {
        Reach::Unreachable(why) if private_cluster::is_installed() => {
            println!(
                "No PostgreSQL answers at {target} ({why}): starting a private one for this demo."
            );
            let cluster = tokio::task::spawn_blocking(PrivateCluster::start)
                .await?
                .context("cannot start a private PostgreSQL for the demo")?;
            (cluster.url("postgres"), Some(cluster))
        }
        _ => (options.server_url.clone(), None),
    };
    let where_ = match &private {
        Some(cluster) => format!(
            "a private PostgreSQL in {} (removed when the demo ends)",
            cluster.root().display()
        ),
        None => "the PostgreSQL server there".into(),
    };
    println!(
        "Database: {} on {where_}.",
        store::describe_url(&demo_database_url(&server_url))
    );
    let outcome = tokio::select! {
        outcome = run_on(&server_url, &options) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    if let Some(cluster) = private {
        tokio::task::spawn_blocking(move || drop(cluster)).await?;
        println!("The private PostgreSQL was stopped and its folder removed.");
    }
    outcome
}

async fn run_on(server_url: &str, options: &DemoOptions) -> Result<()> {
    let url = demo_database_url(server_url);
    let outbox_dir = options.out_dir.join("outbox");
    if outbox_dir.exists() {
        std::fs::remove_dir_all(&outbox_dir)
            .with_context(|| format!("cannot clear {}", outbox_dir.display()))?;
    }
    let config = demo_config(&url, &outbox_dir)?;
    let pool = fresh_database(&url).await?;
    let directory = Directory::parse(PARTNERS).context("the embedded partner file")?;
    store::directory::import(&pool, &directory).await?;
    let courier = Courier::new(
        MailTransport::File(FileTransport::new(&outbox_dir)),
        &config,
    );
    let start = Utc::now();

    section("1. Partners");
    for partner in &directory.partners {
        let profiles: Vec<&str> = partner.profiles.iter().map(|p| p.id.as_str()).collect();
        let contacts: Vec<String> = partner
            .contacts
            .iter()
            .map(|c| format!("{} ({})", c.name, c.role))
            .collect();
        println!(
            "  {} — profiles {}; contacts {}",
            partner.name,
            profiles.join(", "),
            contacts.join(", ")
        );
    }

    section("2. Customers send requests");
    let mut lead_ids = Vec::new();
    for (index, (what, raw)) in REQUESTS.iter().enumerate() {
        let at = start + TimeDelta::minutes(index as i64);
        let report = ingest::ingest(&pool, &config, "demo", raw, at).await?;
        match report.handled {
            Handled::LeadsCreated(ids) => {
                for id in &ids {
                    let lead = load(&pool, *id).await?;
                    println!(
                        "  {what}\n      → {id} for {} ({}){}",
                        lead.profile_id,
                        lead.kind,
                        if lead.hot_until.is_some() {
                            ", hot"
                        } else {
                            ""
                        }
                    );
                }
                lead_ids.extend(ids);
            }
            other => println!("  {what}\n      → {other}"),
        }
    }
    let flushed = outbox::flush(&pool, &courier, start + TimeDelta::minutes(5)).await?;
    println!(
        "  leadbot mailed {} notification(s) and acknowledgement(s).",
        flushed.sent
    );
    show_first_notification(&pool).await?;

    section("3. Partner contacts reply from their mail clients");
    let [first, second, third, fourth] = lead_ids[..] else {
        anyhow::bail!("the demo expected four leads, got {}", lead_ids.len());
    };
    let replies: [(LeadId, &str, &str, i64); 4] = [
        (
            first,
            "alice@contoso.test",
            "ACCEPTER\nNom de l'affaire : Migration Teams\nValeur : 12 500 €\nDélai : T1 2027\n",
            60,
        ),
        (
            second,
            "bob@fabrikam.test",
            "DECLINE 2\nNotes: fully booked until March\n",
            90,
        ),
        (
            third,
            "paul@contoso.test",
            "ACCEPT\nDeal name: Azure migration\nValue: $40k\n",
            120,
        ),
        (
            first,
            "alice@contoso.test",
            "GAGNÉ\nNotes : contrat signé\n",
            60 * 24 * 9,
        ),
    ];
    for (lead, contact, command, minutes) in replies {
        let at = start + TimeDelta::minutes(minutes);
        let raw = reply_to_notification(&pool, lead, contact, command, at).await?;
        let report = ingest::ingest(&pool, &config, "demo", &raw, at).await?;
        let first_line = command.lines().next().unwrap_or_default();
        println!(
            "  {contact} replies “{first_line}” on {lead} → {}",
            report.handled
        );
    }
    let _ = fourth;
    outbox::flush(&pool, &courier, start + TimeDelta::days(10)).await?;

    section("4. The clock moves on (the scheduler, at chosen instants)");
    for (days, what) in [
        (2, "day 2: the unanswered lead's first reminder"),
        (4, "day 4: the hot lead's 72-hour contact window has closed"),
        (13, "day 13: the final reminder, two days before expiry"),
        (15, "day 15: no answer in 14 days, the lead expires"),
    ] {
        let at = start + TimeDelta::days(days) + TimeDelta::minutes(10);
        let report = scheduler::tick(&pool, &config, at).await?;
        println!("  {what}\n      → {report}");
        outbox::flush(&pool, &courier, at).await?;
    }
    let at = start + TimeDelta::days(15) + TimeDelta::hours(1);
    let digests = digest::send_now(&pool, &config, None, at).await?;
    outbox::flush(&pool, &courier, at).await?;
    println!(
        "  and each partner admin gets the daily digest → {} digest(s), with a chart",
        digests.sent
    );

    section("5. Each lead's timeline");
    for id in &lead_ids {
        print_timeline(&pool, *id).await?;
    }

    section("6. The mail leadbot wrote");
    let count = std::fs::read_dir(&outbox_dir)
        .map(|entries| entries.count())
        .unwrap_or(0);
    println!(
        "  {count} messages in {}/ — open any .eml file in a mail client.",
        outbox_dir.display()
    );
    println!(
        "  The database is {}; try: DATABASE_URL={url} LEADBOT_BOT_SECRET=demo-secret-0123456789 leadbot lead list",
        store::describe_url(&url)
    );
    pool.close().await;
    Ok(())
}

fn section(title: &str) {
    println!("\n{title}");
}

/// The demo's own database on the given server, so it never touches real data.
fn demo_database_url(server_url: &str) -> String {
    match server_url.rsplit_once('/') {
        Some((server, _)) if server.contains("://") => format!("{server}/leadbot_demo"),
        _ => format!("{}/leadbot_demo", server_url.trim_end_matches('/')),
    }
}

fn demo_config(url: &str, outbox_dir: &Path) -> Result<Config> {
    let text = format!(
        "[database]\nurl = \"{url}\"\n\
         [bot]\naddress = \"leads@leads.example.test\"\nsecret = \"demo-secret-0123456789\"\n\
         staff_domains = [\"microsoft.test\"]\nreviewers = [\"deal-desk@microsoft.test\"]\n\
         outbox_dir = \"{}\"\n",
        outbox_dir.display()
    );
    Ok(Config::from_parts(None, &text, &[])?)
}

async fn fresh_database(url: &str) -> Result<PgPool> {
    let server = store::describe_url(url);
    use sqlx::migrate::MigrateDatabase;
    if sqlx::Postgres::database_exists(url)
        .await
        .with_context(|| format!("cannot reach PostgreSQL at {server} (set DATABASE_URL)"))?
    {
        sqlx::Postgres::force_drop_database(url)
            .await
            .context("cannot drop the previous demo database")?;
    }
    store::create_database_if_missing(url).await?;
    let pool = store::connect(url).await?;
    store::migrate(&pool).await?;
    Ok(pool)
}

async fn load(pool: &PgPool, id: LeadId) -> Result<crate::domain::Lead> {
    let mut conn = pool.acquire().await?;
    leads::load(&mut conn, id)
        .await?
        .with_context(|| format!("lead {id} vanished"))
}

async fn show_first_notification(pool: &PgPool) -> Result<()> {
    let text: Option<(String, String, String)> = sqlx::query_as(
        "SELECT recipient, subject, text_body FROM outbox WHERE template = 'new_lead'
         ORDER BY id LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    if let Some((to, subject, body)) = text {
        println!("\n  The first notification, to {to}:\n  Subject: {subject}");
        for line in body.lines().take(24) {
            println!("  | {line}");
        }
        println!("  | …");
    }
    Ok(())
}

/// A reply as the contact's mail client would write it: to the token address of the
/// notification they received, threaded under it, with the notification quoted below.
async fn reply_to_notification(
    pool: &PgPool,
    lead: LeadId,
    contact: &str,
    command: &str,
    at: DateTime<Utc>,
) -> Result<Vec<u8>> {
    let (reply_to, message_id, subject, body): (Option<String>, String, String, String) =
        sqlx::query_as(
            "SELECT reply_to, message_id, subject, text_body FROM outbox
             WHERE lead_id = $1 AND recipient = $2 AND template = 'new_lead'",
        )
        .bind(lead.0)
        .bind(contact)
        .fetch_one(pool)
        .await
        .with_context(|| format!("no notification of {lead} to {contact}"))?;
    let quoted: String = body.lines().map(|l| format!("> {l}\r\n")).collect();
    let raw = format!(
        "From: {contact}\r\nTo: {}\r\nSubject: Re: {subject}\r\nDate: {}\r\n\
         Message-ID: <demo-{}-{}@{}>\r\nIn-Reply-To: <{message_id}>\r\nReferences: <{message_id}>\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         {}\r\nOn {}, leadbot wrote:\r\n{quoted}",
        reply_to.unwrap_or_else(|| "leads@leads.example.test".into()),
        at.to_rfc2822(),
        lead.0,
        at.timestamp(),
        contact.rsplit_once('@').map_or("demo.test", |(_, d)| d),
        command.replace('\n', "\r\n"),
        at.format("%a %d %b %Y"),
    );
    Ok(raw.into_bytes())
}

async fn print_timeline(pool: &PgPool, id: LeadId) -> Result<()> {
    let lead = load(pool, id).await?;
    let mut conn = pool.acquire().await?;
    let events = leads::events(&mut conn, id).await?;
    let customer = lead
        .customer
        .name
        .clone()
        .or(lead.customer.email.clone())
        .unwrap_or_default();
    println!(
        "\n  {id} — {customer} → {} — now {}",
        lead.profile_id, lead.state
    );
    for event in events {
        println!(
            "    {}  {:<26} {}",
            event.at.format("%Y-%m-%d %H:%M"),
            event.kind,
            event.actor
        );
    }
    Ok(())
}
