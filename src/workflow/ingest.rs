//! One inbound message → one transaction: record it, understand it, change leads, and
//! write down how it ended. The same path serves IMAP, the MTA pipe and the demo. A backlog
//! shares one transaction between several messages; should one of them fail, the batch is
//! rolled back and each message goes alone, so that each still takes effect whole or not
//! at all.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::config::Config;
use crate::domain::command::parse_command;
use crate::domain::{Customer, EmailAddress, LeadContext, Referrer, ReferrerKind};
use crate::mail::identity;
use crate::mail::one_line::one_line_opt;
use crate::mail::parse::sender_and_message_id;
use crate::mail::rfi::{self, Sender};
use crate::mail::{ClassifyContext, InboundMail, MailClass, classify, parse, reply_text};
use crate::store::inbound::{self, Finding, Finished, NewInbound, Outcome};
use crate::store::leads::{self, NewLead};
use crate::store::outbox;
use crate::store::{Doing, StoreError};
pub use crate::workflow::handled::{Handled, IngestError};
use crate::workflow::lookups::Lookups;
use crate::workflow::loops;
use crate::workflow::notify::Addressed;
use crate::workflow::reply;
use crate::workflow::unmatched::{self, Unmatched};
use crate::workflow::{bounce, notify, routing};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The inbound message's row (for a duplicate: none was written).
    pub inbound_id: Option<i64>,
    /// For a duplicate: the row of the earlier delivery.
    pub duplicate_of: Option<i64>,
    pub handled: Handled,
}

impl Report {
    fn duplicate(earlier: i64) -> Self {
        Self {
            inbound_id: None,
            duplicate_of: Some(earlier),
            handled: Handled::Duplicate,
        }
    }
}

/// Records and handles one raw message in one transaction. If handling fails for a reason
/// that retrying would not cure (a bug, data PostgreSQL refuses), the message is recorded
/// as quarantined with that reason in a transaction of its own: kept, never lost, and
/// re-processable after a fix.
pub async fn ingest(
    pool: &PgPool,
    config: &Config,
    source: &str,
    raw: &[u8],
    now: DateTime<Utc>,
) -> Result<Report, IngestError> {
    match ingest_once(pool, config, source, raw, now).await {
        Err(error) if !error.is_transient() => {
            tracing::error!(error = %format!("{error:#}"), "quarantining a message that failed");
            let mut tx = pool
                .begin()
                .await
                .doing("starting to quarantine a message")?;
            let report = quarantine_failed(&mut tx, config, source, raw, &error, now).await?;
            tx.commit()
                .await
                .doing("committing a quarantined message")?;
            Ok(report)
        }
        result => result,
    }
}

async fn ingest_once(
    pool: &PgPool,
    config: &Config,
    source: &str,
    raw: &[u8],
    now: DateTime<Utc>,
) -> Result<Report, IngestError> {
    let mut tx = pool.begin().await.doing("starting to ingest a message")?;
    let mut shared = Shared::default();
    let report = match record(&mut tx, config, source, raw, now).await? {
        Recorded::New(id) => handle_recorded(&mut tx, config, &mut shared, id, raw, now).await?,
        Recorded::Already(earlier) => Report::duplicate(earlier),
    };
    shared.write(&mut tx).await?;
    tx.commit().await.doing("committing an inbound message")?;
    Ok(report)
}

/// Records and handles several raw messages (a backlog, in the order given) in one
/// transaction, so that they share one commit and one read of the directory. Each message
/// still takes effect whole or not at all: when one fails for a reason retrying would not
/// cure (a bug, data PostgreSQL refuses), the batch is rolled back and each message is
/// ingested alone, as [`ingest`] does — the one that fails is quarantined, the others
/// stay. (Such failures are rare; a savepoint per message would cost two round trips to
/// every message of every batch instead.) A transient fault (the database unreachable or
/// restarting) fails the whole batch, so that every message in it is tried again later —
/// never quarantined. `now` is read once per message.
pub async fn ingest_batch(
    pool: &PgPool,
    config: &Config,
    source: &str,
    raws: &[&[u8]],
    now: impl Fn() -> DateTime<Utc>,
) -> Result<Vec<Report>, IngestError> {
    if let [raw] = raws {
        // Alone: the transaction is the message's own.
        return Ok(vec![ingest(pool, config, source, raw, now()).await?]);
    }
    match ingest_together(pool, config, source, raws, &now).await {
        Err(error) if !error.is_transient() => {
            // One message's failure, or the commit's (a deferred constraint): each goes
            // alone, and only the message that caused it meets it again.
            tracing::warn!(
                error = %format!("{error:#}"),
                messages = raws.len(),
                "a batch of inbound messages failed; ingesting them one by one"
            );
            let mut reports = Vec::with_capacity(raws.len());
            for raw in raws {
                reports.push(ingest(pool, config, source, raw, now()).await?);
            }
            Ok(reports)
        }
        result => result,
    }
}

async fn ingest_together(
    pool: &PgPool,
    config: &Config,
    source: &str,
    raws: &[&[u8]],
    now: &impl Fn() -> DateTime<Utc>,
) -> Result<Vec<Report>, IngestError> {
    let mut tx = pool
        .begin()
        .await
        .doing("starting to ingest a batch of messages")?;
    let mut shared = Shared::default();
    let (senders, message_ids) = addressing(config, raws);
    let message_ids: Vec<&str> = message_ids.iter().map(String::as_str).collect();
    shared
        .lookups
        .prefetch(&mut tx, &senders, &message_ids)
        .await?;
    // Every message recorded first, in one statement; one whose key was taken goes through
    // `record` alone, which tells a duplicate from a reused Message-ID.
    let identities: Vec<Identity> = raws.iter().map(|raw| Identity::of(config, raw)).collect();
    let times: Vec<DateTime<Utc>> = raws.iter().map(|_| now()).collect();
    let new: Vec<NewInbound> = identities
        .iter()
        .zip(&times)
        .map(|(identity, &received_at)| NewInbound {
            key: identity.key.clone(),
            message_id: identity.message_id.as_deref(),
            raw: &identity.kept,
            received_at,
        })
        .collect();
    let recorded = inbound::record_many(&mut tx, source, &new).await?;
    let mut reports = Vec::with_capacity(raws.len());
    for ((raw, now), id) in raws.iter().zip(times).zip(recorded) {
        // Any failure ends the batch, rolled back whole: a transient one to be tried again
        // later, any other for `ingest_batch` to run each message alone.
        let recorded = match id {
            Some(id) => Recorded::New(id),
            None => record(&mut tx, config, source, raw, now).await?,
        };
        reports.push(match recorded {
            Recorded::New(id) => {
                handle_recorded(&mut tx, config, &mut shared, id, raw, now).await?
            }
            Recorded::Already(earlier) => Report::duplicate(earlier),
        });
    }
    shared.write(&mut tx).await?;
    tx.commit()
        .await
        .doing("committing a batch of inbound messages")?;
    Ok(reports)
}

/// What the messages sharing one transaction share: the lookups, and the writes kept for
/// one statement each just before the commit ([`Shared::write`]) — how each message ended,
/// and its new leads' mail. (Nothing later in the transaction reads them: a new lead's mail
/// has no thread yet, and its Message-IDs are new.)
#[derive(Default)]
struct Shared {
    lookups: Lookups,
    findings: Vec<Finished>,
    new_lead_mail: Vec<Addressed>,
}

impl Shared {
    /// Writes the kept mail and findings; every transaction of ingest ends with it.
    async fn write(self, tx: &mut PgConnection) -> Result<(), StoreError> {
        let mail: Vec<_> = self.new_lead_mail.iter().map(Addressed::to_new).collect();
        // Mail comes only from a message that also ended: the last of them queued it.
        let queued_at = self.findings.last().map_or_else(Utc::now, |last| last.at);
        outbox::insert_many(tx, &mail, queued_at).await?;
        inbound::finish_many(tx, &self.findings).await
    }
}

/// The senders and Message-IDs of these messages (those small enough to be handled), read
/// from their headers for [`Lookups::prefetch`].
fn addressing(config: &Config, raws: &[&[u8]]) -> (Vec<EmailAddress>, Vec<String>) {
    let mut senders = Vec::with_capacity(raws.len());
    let mut message_ids = Vec::with_capacity(raws.len());
    for raw in raws
        .iter()
        .filter(|raw| raw.len() <= config.bot.max_inbound_size)
    {
        let (sender, message_id) = sender_and_message_id(raw);
        senders.extend(sender.and_then(|email| EmailAddress::parse(&email).ok()));
        message_ids.extend(message_id);
    }
    (senders, message_ids)
}

/// Does what a newly recorded message asks, inside the caller's transaction.
async fn handle_recorded(
    tx: &mut PgConnection,
    config: &Config,
    shared: &mut Shared,
    inbound_id: i64,
    raw: &[u8],
    now: DateTime<Utc>,
) -> Result<Report, IngestError> {
    let handled = if raw.len() > config.bot.max_inbound_size {
        process_oversized(tx, config, shared, inbound_id, raw, now).await?
    } else {
        process(tx, config, shared, inbound_id, raw, now).await?
    };
    Ok(Report {
        inbound_id: Some(inbound_id),
        duplicate_of: None,
        handled,
    })
}

/// Records a message whose processing failed (and was rolled back) as quarantined, with the
/// reason, inside the caller's transaction.
async fn quarantine_failed(
    tx: &mut PgConnection,
    config: &Config,
    source: &str,
    raw: &[u8],
    error: &IngestError,
    now: DateTime<Utc>,
) -> Result<Report, IngestError> {
    let inbound_id = match record(tx, config, source, raw, now).await? {
        Recorded::New(id) => id,
        Recorded::Already(earlier) => return Ok(Report::duplicate(earlier)),
    };
    let reason = format!("processing failed: {}", error_chain(error));
    let mut shared = Shared::default();
    quarantine(&mut shared, inbound_id, &reason, now);
    shared.write(tx).await?;
    Ok(Report {
        inbound_id: Some(inbound_id),
        duplicate_of: None,
        handled: Handled::Quarantined(reason),
    })
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What `inbound reprocess` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reprocessed {
    /// Quarantined (or never finished): run through the current code again.
    Ran(Handled),
    /// It already took effect (applied, answered, automated, ignored): running it again
    /// could only repeat or contradict what was done, so nothing was done and nobody mailed.
    AlreadyTookEffect {
        outcome: String,
        reason: Option<String>,
    },
    /// Too large: only its headers and a prefix were kept, and a part is no message to run.
    KeptInPart { reason: String },
}

impl std::fmt::Display for Reprocessed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ran(handled) => handled.fmt(f),
            Self::AlreadyTookEffect { outcome, reason } => {
                write!(f, "already took effect ({outcome}")?;
                if let Some(reason) = reason {
                    write!(f, ": {reason}")?;
                }
                f.write_str("); nothing done again, nobody mailed")
            }
            Self::KeptInPart { reason } => write!(
                f,
                "kept only in part ({reason}); it cannot be run again — the whole message is \
                 wherever it was delivered from"
            ),
        }
    }
}

/// Runs a quarantined message through the current code again (after a fix or a new
/// profile). A message that already took effect is left alone. Leads are unique per
/// (message, profile), so nothing is created twice.
pub async fn reprocess(
    pool: &PgPool,
    config: &Config,
    inbound_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<Reprocessed>, IngestError> {
    let mut tx = pool
        .begin()
        .await
        .doing("starting to re-process a message")?;
    let Some((raw, outcome, reason)) = inbound::for_reprocessing(&mut tx, inbound_id).await? else {
        return Ok(None);
    };
    let may_run = [Outcome::Quarantined.as_str(), "pending"].contains(&outcome.as_str());
    if !may_run {
        return Ok(Some(Reprocessed::AlreadyTookEffect { outcome, reason }));
    }
    if let Some(reason) = reason.filter(|r| r.starts_with(TOO_LARGE)) {
        return Ok(Some(Reprocessed::KeptInPart { reason }));
    }
    let mut shared = Shared::default();
    let handled = process(&mut tx, config, &mut shared, inbound_id, &raw, now).await?;
    shared.write(&mut tx).await?;
    tx.commit()
        .await
        .doing("committing a re-processed message")?;
    Ok(Some(Reprocessed::Ran(handled)))
}

pub use crate::mail::identity::{idempotency_key, quick_message_id};

async fn process(
    tx: &mut PgConnection,
    config: &Config,
    shared: &mut Shared,
    inbound_id: i64,
    raw: &[u8],
    now: DateTime<Utc>,
) -> Result<Handled, IngestError> {
    let mail = match parse(raw) {
        Ok(mail) => mail,
        Err(error) => {
            let reason = format!("unreadable: {error}");
            quarantine(shared, inbound_id, &reason, now);
            return Ok(Handled::Quarantined(reason));
        }
    };
    let class = classify(
        &mail,
        &ClassifyContext {
            bot_address: config.bot.address.to_string(),
        },
    );
    let own = match class {
        MailClass::Request | MailClass::Reply => {
            loops::own_mail(tx, config, &mut shared.lookups, &mail).await?
        }
        // Never answered anyway; a bounce of our own mail stays a bounce.
        MailClass::Bounce | MailClass::AutoReply | MailClass::List => None,
    };
    let (handled, lead_id) = if let Some(why) = own {
        (Handled::Ignored(why), None)
    } else {
        match class {
            MailClass::Bounce => {
                let lead = bounce::handle(tx, config, &mail, now).await?;
                (Handled::Automated(class), lead.map(|id| id.0))
            }
            MailClass::AutoReply | MailClass::List => (Handled::Automated(class), None),
            MailClass::Reply => {
                let (handled, lead) = reply::handle(tx, config, &mail, now).await?;
                (handled, lead.map(|id| id.0))
            }
            MailClass::Request
                if is_command_from_the_partner_side(tx, config, &mut shared.lookups, &mail)
                    .await? =>
            {
                // A contact writing a fresh mail with a command (LIST, HELP, ACCEPT L-1042):
                // a reply in all but threading, never a request for a new lead.
                let (handled, lead) = reply::handle(tx, config, &mail, now).await?;
                (handled, lead.map(|id| id.0))
            }
            MailClass::Request => {
                let handled = handle_request(tx, config, shared, inbound_id, &mail, now).await?;
                let first = match &handled {
                    Handled::LeadsCreated(ids) => ids.first().map(|id| id.0),
                    _ => None,
                };
                (handled, first)
            }
        }
    };
    let (outcome, reason) = match &handled {
        Handled::LeadsCreated(_) => (Outcome::Applied, None),
        Handled::Applied(what) => (Outcome::Applied, Some(what.clone())),
        Handled::Answered(why) => (Outcome::Answered, Some(why.clone())),
        Handled::Automated(_) => (Outcome::Automated, None),
        Handled::Quarantined(reason) => (Outcome::Quarantined, Some(reason.clone())),
        Handled::Ignored(reason) => (Outcome::Ignored, Some(reason.clone())),
        Handled::Duplicate => (Outcome::Ignored, Some("duplicate".into())),
    };
    let mail = Some(&mail);
    finish(
        shared,
        inbound_id,
        mail,
        Some(class),
        outcome,
        reason,
        lead_id,
        now,
    );
    Ok(handled)
}

/// How the reason of a message quarantined for its size starts.
const TOO_LARGE: &str = "too large";

/// A message over `bot.max_inbound_size`: only its headers and a prefix were recorded, and
/// nothing is sent from it (its sender is unverified: an answer would reflect it). A bounce
/// is still recognised, so the mail it reports is marked failed.
async fn process_oversized(
    tx: &mut PgConnection,
    config: &Config,
    shared: &mut Shared,
    inbound_id: i64,
    raw: &[u8],
    now: DateTime<Utc>,
) -> Result<Handled, IngestError> {
    let limit = config.bot.max_inbound_size;
    let kept = identity::kept_part(raw, limit);
    if let Ok(mail) = parse(&kept) {
        let context = ClassifyContext {
            bot_address: config.bot.address.to_string(),
        };
        if classify(&mail, &context) == MailClass::Bounce {
            // Who must know is told (admins, contacts), never the bounce's sender.
            let lead = bounce::handle(tx, config, &mail, now).await?.map(|id| id.0);
            let outcome = Outcome::Automated;
            let class = Some(MailClass::Bounce);
            finish(
                shared,
                inbound_id,
                Some(&mail),
                class,
                outcome,
                None,
                lead,
                now,
            );
            return Ok(Handled::Automated(MailClass::Bounce));
        }
    }
    let reason = format!(
        "{TOO_LARGE}: {} bytes, over bot.max_inbound_size ({limit} bytes); kept: its headers \
         and the first {} bytes of its body; nothing was sent",
        raw.len(),
        identity::KEPT_BODY_BYTES
    );
    quarantine(shared, inbound_id, &reason, now);
    Ok(Handled::Quarantined(reason))
}

/// What a message is recorded under, and what of it is kept.
struct Identity<'a> {
    message_id: Option<String>,
    key: String,
    /// The whole message, or only its headers and a prefix when it is over
    /// `bot.max_inbound_size`.
    kept: std::borrow::Cow<'a, [u8]>,
}

impl<'a> Identity<'a> {
    fn of(config: &Config, full: &'a [u8]) -> Self {
        let message_id = quick_message_id(full);
        let key = idempotency_key(message_id.as_deref(), full);
        let kept = identity::kept_part(full, config.bot.max_inbound_size);
        Self {
            message_id,
            key,
            kept,
        }
    }
}

/// Whether a message was new.
enum Recorded {
    New(i64),
    /// Recorded before, under this row.
    Already(i64),
}

/// Records the raw message under its idempotency key. A different message reusing a known
/// Message-ID (other body or sender-side headers) is recorded as a message of its own with
/// the reuse noted — never taken for the earlier one and dropped.
async fn record(
    tx: &mut PgConnection,
    config: &Config,
    source: &str,
    full: &[u8],
    now: DateTime<Utc>,
) -> Result<Recorded, StoreError> {
    let Identity {
        message_id,
        key,
        kept,
    } = Identity::of(config, full);
    let raw = &*kept;
    let id = message_id.as_deref();
    if let Some(new) = inbound::record(tx, &key, id, source, raw, None, now).await? {
        return Ok(Recorded::New(new));
    }
    let earlier = recorded_under(tx, &key).await?;
    let Some(message_id) = message_id else {
        // Keyed by the hash of these very bytes.
        return Ok(Recorded::Already(earlier.0));
    };
    if identity::same_message(&earlier.1, raw) {
        return Ok(Recorded::Already(earlier.0));
    }
    let key = identity::reused_id_key(&message_id, raw);
    let note = format!(
        "Message-ID <{message_id}> reuses that of inbound message {}, whose content \
         differs: recorded as a message of its own",
        earlier.0
    );
    let id = Some(message_id.as_str());
    match inbound::record(tx, &key, id, source, raw, Some(&note), now).await? {
        Some(new) => {
            tracing::warn!(
                new,
                earlier = earlier.0,
                "a different message reuses a known Message-ID"
            );
            Ok(Recorded::New(new))
        }
        None => Ok(Recorded::Already(recorded_under(tx, &key).await?.0)),
    }
}

/// The row (id, raw bytes) recorded under `key`, which an insert just found taken.
async fn recorded_under(tx: &mut PgConnection, key: &str) -> Result<(i64, Vec<u8>), StoreError> {
    inbound::by_key(tx, key)
        .await?
        .ok_or_else(|| StoreError::Query {
            doing: "reading an earlier inbound message",
            source: sqlx::Error::RowNotFound,
        })
}

/// Ends a message in quarantine, kept whole, with the reason for the operator.
fn quarantine(shared: &mut Shared, inbound_id: i64, reason: &str, now: DateTime<Utc>) {
    let reason = Some(reason.into());
    finish(
        shared,
        inbound_id,
        None,
        None,
        Outcome::Quarantined,
        reason,
        None,
        now,
    );
}

/// Notes how a message ended, for [`Shared::write`].
#[allow(clippy::too_many_arguments)]
fn finish(
    shared: &mut Shared,
    inbound_id: i64,
    mail: Option<&InboundMail>,
    class: Option<MailClass>,
    outcome: Outcome,
    reason: Option<String>,
    lead_id: Option<i64>,
    now: DateTime<Utc>,
) {
    let class = class.map(|c| {
        serde_json::to_value(c)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    });
    let finished = Finished {
        id: inbound_id,
        finding: Finding {
            sender: mail.and_then(|m| m.from.as_ref()).map(|f| f.email.clone()),
            subject: mail.map(|m| m.subject.clone()),
            class,
            parsed: mail.and_then(|m| serde_json::to_value(m).ok()),
            outcome,
            reason,
            lead_id,
        },
        at: now,
    };
    shared.findings.push(finished);
}

/// True for a new mail whose new text starts with a command, from a partner contact or a
/// reviewer: it goes through the reply path (which answers it), not into a lead.
async fn is_command_from_the_partner_side(
    tx: &mut PgConnection,
    config: &Config,
    lookups: &mut Lookups,
    mail: &InboundMail,
) -> Result<bool, StoreError> {
    let Some(sender) = mail
        .from
        .as_ref()
        .and_then(|f| EmailAddress::parse(&f.email).ok())
    else {
        return Ok(false);
    };
    if parse_command(&reply_text(&mail.text)).is_err() {
        return Ok(false);
    }
    Ok(config.bot.reviewers.contains(&sender)
        || lookups.contact_by_email(tx, &sender).await?.is_some())
}

/// An RFI: route it to profiles, read the customer and the need, create one lead each.
async fn handle_request(
    tx: &mut PgConnection,
    config: &Config,
    shared: &mut Shared,
    inbound_id: i64,
    mail: &InboundMail,
    now: DateTime<Utc>,
) -> Result<Handled, IngestError> {
    let lookups = &mut shared.lookups;
    let Some(from) = mail
        .from
        .as_ref()
        .and_then(|f| EmailAddress::parse(&f.email).ok())
    else {
        // Parsing keeps From-less mail so a bounce is still known as one; a request
        // without a sender is unreadable as a request.
        return Ok(Handled::Quarantined(
            "unreadable: the message has no usable From address".into(),
        ));
    };
    let sender = if config.bot.staff_domains.iter().any(|d| d == from.domain()) {
        Sender::Staff
    } else if lookups.contact_by_email(tx, &from).await?.is_some() {
        Sender::PartnerContact
    } else {
        Sender::Public
    };
    let rfi = match rfi::extract(mail, sender) {
        Ok(rfi) => rfi,
        Err(error) => return Ok(Handled::Quarantined(error.to_string())),
    };
    let profiles = lookups.profiles(tx).await?;
    let profiles = &*profiles;
    let seed = inbound_id as u64;
    let targets = match routing::route(tx, config, mail, &rfi, profiles, seed, now).await? {
        Ok(targets) => targets,
        Err(reason) => {
            match unmatched::handle(tx, config, mail, &rfi, profiles, reason, now).await? {
                Unmatched::Fallback(profile) => vec![profile],
                Unmatched::Handled(handled) => return Ok(handled),
            }
        }
    };
    let referrer = match sender {
        Sender::Public => None,
        Sender::Staff | Sender::PartnerContact => Some(Referrer {
            kind: if sender == Sender::Staff {
                ReferrerKind::Staff
            } else {
                ReferrerKind::Partner
            },
            email: from.to_string(),
            name: mail.from.as_ref().and_then(|f| f.name.clone()),
        }),
    };
    let mut created = Vec::new();
    for profile in targets {
        let new = NewLead {
            kind: rfi.kind,
            partner_id: profile.partner_id.clone(),
            profile_id: profile.id.clone(),
            customer: one_line_customer(&rfi.customer),
            context: LeadContext {
                region: one_line_opt(rfi.region.as_deref()),
                city: one_line_opt(rfi.city.as_deref()),
                company_size: one_line_opt(rfi.company_size.as_deref()),
                referrer_note: rfi.note.clone(),
                customer_email_failure: None,
            },
            customer_locale: rfi.locale.map(String::from),
            need: rfi.need.clone(),
            hot_until: rfi
                .contact_me_directly
                .then(|| now + config.schedule.hot_window),
            referrer: referrer.clone(),
            source_message_id: Some(inbound_id),
            received_at: now,
            expires_at: now + config.schedule.expiry,
        };
        let actor = from.to_string();
        if let Some(lead) = leads::insert(tx, &new, &actor).await? {
            let contacts = lookups.profile_contacts(tx, &lead.profile_id).await?;
            let locale = new.customer_locale.as_deref();
            let mail = notify::new_lead_mail(&config.bot, &lead, &contacts, locale, now)?;
            shared.new_lead_mail.extend(mail);
            created.push(lead.id);
        }
    }
    Ok(Handled::LeadsCreated(created))
}

/// The customer's one-line fields, as they will appear in subjects and mail lines.
fn one_line_customer(customer: &Customer) -> Customer {
    Customer {
        name: one_line_opt(customer.name.as_deref()),
        email: one_line_opt(customer.email.as_deref()),
        company: one_line_opt(customer.company.as_deref()),
        phone: one_line_opt(customer.phone.as_deref()),
    }
}
