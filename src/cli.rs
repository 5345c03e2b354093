//! The command line (DESIGN.md, "Command-line contract"): clap definitions and dispatch.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::domain::directory::Directory;
use crate::domain::stats::STATS_WINDOW;
use crate::domain::{LeadId, LeadState};
use crate::store::{self, leads};
use crate::transport::MailTransport;
use crate::views;
use crate::workflow::clock::Clock;
use crate::workflow::outbox::{self, Courier};
use crate::workflow::{digest, scheduler};

#[derive(Debug, Parser)]
#[command(
    name = "leadbot",
    version,
    about = "Partner leads and referrals, driven by email"
)]
pub struct Cli {
    /// Configuration file (TOML). Without it: $LEADBOT_CONFIG, else the environment alone.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log as JSON lines (for log collectors) instead of text.
    #[arg(long, global = true)]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or update the database schema.
    Migrate,
    /// The daemon: outbox worker, scheduler, IMAP listener, /healthz /readyz /metrics.
    Run,
    /// Validate the configuration and reach PostgreSQL, IMAP and SMTP.
    Check,
    /// The whole life cycle on this machine's PostgreSQL, in under a minute.
    Demo,
    /// Partners, profiles and contacts.
    #[command(subcommand)]
    Partner(PartnerCommand),
    /// Inspect leads.
    #[command(subcommand)]
    Lead(LeadCommand),
    /// Read one RFC 5322 message on stdin and handle it (the MTA-pipe path). Exits 0 once
    /// the message is safely recorded (quarantine included), 75 if the database is down.
    Deliver,
    /// Show what leadbot makes of one message, without a database.
    Parse {
        /// The message file; standard input without one.
        file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Inbound messages: what arrived and how it ended.
    #[command(subcommand)]
    Inbound(InboundCommand),
    /// Outbound mail waiting in, sent from or failed in the outbox.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Run the scheduler's due work once: expiry, reminders, contact windows, digests.
    Tick {
        /// Run as if it were this instant (RFC 3339), instead of now.
        #[arg(long, value_parser = parse_instant)]
        now: Option<DateTime<Utc>>,
    },
    /// Partner admins' daily digests.
    #[command(subcommand)]
    Digest(DigestCommand),
}

#[derive(Debug, Subcommand)]
pub enum DigestCommand {
    /// Queue a digest to every partner admin now, whatever the time of day (recorded as
    /// today's, so the scheduler sends no second one).
    Send {
        /// Only this partner's admins.
        #[arg(long, value_name = "ID")]
        partner: Option<String>,
        #[arg(long, value_parser = parse_instant)]
        now: Option<DateTime<Utc>>,
    },
}

#[derive(Debug, Subcommand)]
pub enum InboundCommand {
    /// List inbound messages, newest first.
    List {
        /// Only messages that could not be handled.
        #[arg(long)]
        quarantined: bool,
        #[arg(long)]
        json: bool,
    },
    /// Run a recorded message through the current code again.
    Reprocess { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Send the queued mail that is due, once (SMTP from [smtp], else .eml files).
    Flush,
    /// Every outbox entry, oldest first.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PartnerCommand {
    /// Upsert partners, profiles and contacts from a TOML file (re-importing changes nothing).
    Import { file: PathBuf },
    /// Per profile over the last 30 days: leads, answers in time, acceptance, expiries,
    /// wins, and the routing weight they give.
    Stats {
        #[arg(long)]
        json: bool,
        /// As if it were this instant (RFC 3339), instead of now.
        #[arg(long, value_parser = parse_instant)]
        now: Option<DateTime<Utc>>,
    },
}

#[derive(Debug, Subcommand)]
pub enum LeadCommand {
    /// List leads, newest first.
    List {
        /// Only leads in this state (received, accepted, declined, expired, won, lost).
        #[arg(long, value_parser = parse_state)]
        state: Option<LeadState>,
        #[arg(long)]
        json: bool,
    },
    /// One lead with its history.
    Show {
        /// The lead's number: 1042 or L-1042.
        id: String,
        #[arg(long)]
        json: bool,
    },
}

fn parse_state(raw: &str) -> Result<LeadState, String> {
    raw.parse()
}

fn parse_instant(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw)
        .map(|at| at.to_utc())
        .map_err(|e| format!("expected an RFC 3339 instant like 2026-11-20T08:00:00Z ({e})"))
}

/// Runs one command; errors come back to `main`, which prints them on one line.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Migrate => {
            let config = load_config(cli.config.as_deref())?;
            let url = config.database_url.expose();
            if store::create_database_if_missing(url).await? {
                println!("created database {}", store::describe_url(url));
            }
            let pool = store::connect(url).await?;
            store::migrate(&pool).await?;
            println!("database is up to date");
        }
        Command::Partner(PartnerCommand::Import { file }) => {
            let config = load_config(cli.config.as_deref())?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let directory =
                Directory::parse(&text).with_context(|| format!("{}", file.display()))?;
            let pool = store::connect(config.database_url.expose()).await?;
            let summary = store::directory::import(&pool, &directory).await?;
            println!(
                "imported {} partner(s), {} profile(s), {} contact(s); {} row(s) changed",
                summary.partners, summary.profiles, summary.contacts, summary.changed
            );
        }
        Command::Partner(PartnerCommand::Stats { json, now }) => {
            let config = load_config(cli.config.as_deref())?;
            let pool = store::connect(config.database_url.expose()).await?;
            let mut conn = pool.acquire().await.context("connecting to PostgreSQL")?;
            let now = Clock::fixed_or_system(now).now();
            let target = config.schedule.response_target;
            let stats = store::stats::profile_stats(
                &mut conn,
                store::stats::Profiles::All,
                now - STATS_WINDOW,
                now,
                target,
            )
            .await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&views::stats_json(&stats, target))?
                );
            } else if stats.is_empty() {
                println!("no profiles");
            } else {
                print!("{}", views::stats_table(&stats, target));
            }
        }
        Command::Tick { now } => {
            let config = load_config(cli.config.as_deref())?;
            let pool = store::connect(config.database_url.expose()).await?;
            let now = Clock::fixed_or_system(now).now();
            let report = scheduler::tick(&pool, &config, now).await?;
            println!("{report}");
        }
        Command::Digest(DigestCommand::Send { partner, now }) => {
            let config = load_config(cli.config.as_deref())?;
            let pool = store::connect(config.database_url.expose()).await?;
            let now = Clock::fixed_or_system(now).now();
            let sent = digest::send_now(&pool, &config, partner.as_deref(), now).await?;
            match (sent.sent, partner) {
                (0, Some(partner)) => bail!("partner `{partner}` has no partner_admin contact"),
                (0, None) => println!("no partner admins: no digest queued"),
                (n, _) => println!("queued {n} digest(s)"),
            }
        }
        Command::Lead(LeadCommand::List { state, json }) => {
            let config = load_config(cli.config.as_deref())?;
            let pool = store::connect(config.database_url.expose()).await?;
            let mut conn = pool.acquire().await.context("connecting to PostgreSQL")?;
            let all = leads::list(&mut conn, state).await?;
            let now = Utc::now();
            if json {
                let mut out = Vec::with_capacity(all.len());
                for lead in &all {
                    let events = leads::events(&mut conn, lead.id).await?;
                    out.push(views::lead_json(lead, &events, now));
                }
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else if all.is_empty() {
                println!("no leads");
            } else {
                print!("{}", views::lead_table(&all, now));
            }
        }
        Command::Lead(LeadCommand::Show { id, json }) => {
            let config = load_config(cli.config.as_deref())?;
            let Some(lead_id) = LeadId::parse(&id) else {
                bail!("`{id}` is not a lead number (expected like 1042 or L-1042)");
            };
            let pool = store::connect(config.database_url.expose()).await?;
            let mut conn = pool.acquire().await.context("connecting to PostgreSQL")?;
            let Some(lead) = leads::load(&mut conn, lead_id).await? else {
                bail!("lead {lead_id} does not exist");
            };
            let events = leads::events(&mut conn, lead_id).await?;
            let inbound = store::inbound::list_for_lead(&mut conn, lead_id.0).await?;
            let outbound = store::outbox::list_for_lead(&mut conn, lead_id).await?;
            let now = Utc::now();
            if json {
                let mut view = views::lead_json(&lead, &events, now);
                view["messages"] = views::messages_json(&inbound, &outbound);
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                print!("{}", views::lead_text(&lead, &events, now));
                print!("{}", views::messages_text(&inbound, &outbound));
            }
        }
        Command::Run => {
            let config = load_config(cli.config.as_deref())?;
            crate::daemon::run(config).await?;
        }
        Command::Check => {
            let lines = crate::daemon::check::check(cli.config.as_deref()).await;
            for line in &lines {
                println!("{line}");
            }
            let failed = lines.iter().filter(|l| !l.passed).count();
            if failed > 0 {
                bail!("{failed} check(s) failed");
            }
        }
        Command::Demo => crate::demo::run(crate::demo::DemoOptions::from_environment()).await?,
        Command::Deliver => return deliver(cli.config.as_deref()).await,
        Command::Parse { file, json } => {
            let raw = match &file {
                Some(path) => std::fs::read(path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
                None => read_stdin()?,
            };
            let config = cli
                .config
                .as_deref()
                .map(|p| Config::load(Some(p)))
                .transpose()?;
            let report = crate::workflow::explain::explain(&raw, config.as_ref());
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", crate::workflow::explain::as_text(&report));
            }
        }
        Command::Inbound(InboundCommand::List { quarantined, json }) => {
            let config = load_config(cli.config.as_deref())?;
            let pool = store::connect(config.database_url.expose()).await?;
            let mut conn = pool.acquire().await.context("connecting to PostgreSQL")?;
            let rows = store::inbound::list(&mut conn, quarantined).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if rows.is_empty() {
                println!("no inbound messages");
            } else {
                print!("{}", views::inbound_table(&rows));
            }
        }
        Command::Inbound(InboundCommand::Reprocess { id }) => {
            let config = load_config(cli.config.as_deref())?;
            let pool = store::connect(config.database_url.expose()).await?;
            match crate::workflow::ingest::reprocess(&pool, &config, id, Utc::now()).await? {
                Some(handled) => println!("inbound message {id}: {}", handled),
                None => bail!("inbound message {id} does not exist"),
            }
        }
        Command::Outbox(OutboxCommand::Flush) => {
            let config = load_config(cli.config.as_deref())?;
            let pool = store::connect(config.database_url.expose()).await?;
            let transport = MailTransport::from_config(&config)?;
            let courier = Courier::new(transport, &config);
            let report = outbox::flush(&pool, &courier, Utc::now()).await?;
            println!(
                "sent {}, will retry {}, failed {} (via {})",
                report.sent,
                report.retried,
                report.failed,
                courier.transport.describe()
            );
        }
        Command::Outbox(OutboxCommand::List { json }) => {
            let config = load_config(cli.config.as_deref())?;
            let pool = store::connect(config.database_url.expose()).await?;
            let mut conn = pool.acquire().await.context("connecting to PostgreSQL")?;
            let rows = store::outbox::list(&mut conn).await?;
            if json {
                let out: Vec<_> = rows.iter().map(views::outbox_json).collect();
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else if rows.is_empty() {
                println!("the outbox is empty");
            } else {
                print!("{}", views::outbox_table(&rows));
            }
        }
    }
    Ok(())
}

/// The MTA contract (sysexits): 0 once recorded, 75 (EX_TEMPFAIL) when the database cannot
/// be reached so the MTA keeps the message and retries, 78 (EX_CONFIG) for bad configuration.
pub const EX_TEMPFAIL: u8 = 75;
pub const EX_CONFIG: u8 = 78;

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ExitWith {
    pub code: u8,
    pub message: String,
}

async fn deliver(config: Option<&Path>) -> Result<()> {
    let config = Config::load(config).map_err(|e| ExitWith {
        code: EX_CONFIG,
        message: e.to_string(),
    })?;
    let raw = read_stdin()?;
    let tempfail = |e: crate::store::StoreError| ExitWith {
        code: EX_TEMPFAIL,
        message: format!("{e:#} (the message was not recorded; the MTA should retry)"),
    };
    let pool = store::connect(config.database_url.expose())
        .await
        .map_err(tempfail)?;
    // Any failure rolled the whole transaction back: nothing was recorded, so the MTA
    // must keep the message and try again.
    let report = crate::workflow::ingest::ingest(&pool, &config, "deliver", &raw, Utc::now())
        .await
        .map_err(|e| ExitWith {
            code: EX_TEMPFAIL,
            message: format!("{e:#} (the message was not recorded; the MTA should retry)"),
        })?;
    match report.inbound_id {
        Some(id) => println!("inbound message {id}: {}", report.handled),
        None => println!("{}", report.handled),
    }
    Ok(())
}

fn read_stdin() -> Result<Vec<u8>> {
    use std::io::Read;
    let mut raw = Vec::new();
    std::io::stdin()
        .read_to_end(&mut raw)
        .context("cannot read the message from standard input")?;
    Ok(raw)
}

fn load_config(path: Option<&Path>) -> Result<Config> {
    Ok(Config::load(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_documented_invocations_parse() {
        for line in [
            "leadbot --config f.toml migrate",
            "leadbot partner import partners.toml",
            "leadbot lead list --state accepted --json",
            "leadbot --config f.toml lead show L-1042 --json",
            "leadbot --config f.toml outbox flush",
            "leadbot outbox list --json",
            "leadbot --config f.toml tick",
            "leadbot tick --now 2026-11-20T08:00:00+01:00",
            "leadbot digest send --partner contoso --now 2026-11-20T08:00:00Z",
            "leadbot partner stats --json",
        ] {
            let args = line.split_whitespace();
            assert!(Cli::try_parse_from(args).is_ok(), "{line}");
        }
        assert!(Cli::try_parse_from(["leadbot", "lead", "list", "--state", "asleep"]).is_err());
        assert!(Cli::try_parse_from(["leadbot", "tick", "--now", "tomorrow"]).is_err());
    }
}
