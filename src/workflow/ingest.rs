//! One inbound message → one transaction: record it, understand it, change leads, and
//! write down how it ended. The same path serves IMAP, the MTA pipe and the demo.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

use crate::config::Config;
use crate::domain::command::parse_command;
use crate::domain::{EmailAddress, LeadContext, Referrer, ReferrerKind};
use crate::mail::rfi::{self, Sender};
use crate::mail::{ClassifyContext, InboundMail, MailClass, classify, parse, reply_text};
use crate::store::directory;
use crate::store::inbound::{self, Finding, Outcome};
use crate::store::leads::{self, NewLead};
use crate::store::{Doing, StoreError};
pub use crate::workflow::handled::{Handled, IngestError};
use crate::workflow::reply;
use crate::workflow::{bounce, notify, routing};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The inbound message's row (for a duplicate: none was written).
    pub inbound_id: Option<i64>,
    pub handled: Handled,
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
            quarantine_failed(pool, source, raw, &error, now).await
        }
        result => result,
    }
}

async fn quarantine_failed(
    pool: &PgPool,
    source: &str,
    raw: &[u8],
    error: &IngestError,
    now: DateTime<Utc>,
) -> Result<Report, IngestError> {
    let mut tx = pool
        .begin()
        .await
        .doing("starting to quarantine a message")?;
    let Some(inbound_id) = record(&mut tx, source, raw, now).await? else {
        return Ok(Report {
            inbound_id: None,
            handled: Handled::Duplicate,
        });
    };
    let reason = format!("processing failed: {}", error_chain(error));
    quarantine(&mut tx, inbound_id, &reason, now).await?;
    tx.commit()
        .await
        .doing("committing a quarantined message")?;
    Ok(Report {
        inbound_id: Some(inbound_id),
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

async fn ingest_once(
    pool: &PgPool,
    config: &Config,
    source: &str,
    raw: &[u8],
    now: DateTime<Utc>,
) -> Result<Report, IngestError> {
    let mut tx = pool.begin().await.doing("starting to ingest a message")?;
    let Some(inbound_id) = record(&mut tx, source, raw, now).await? else {
        return Ok(Report {
            inbound_id: None,
            handled: Handled::Duplicate,
        });
    };
    let handled = process(&mut tx, config, inbound_id, raw, now).await?;
    tx.commit().await.doing("committing an inbound message")?;
    Ok(Report {
        inbound_id: Some(inbound_id),
        handled,
    })
}

/// Runs a recorded message through the current code again (after a fix or a new profile).
/// Leads are unique per (message, profile), so nothing is created twice.
pub async fn reprocess(
    pool: &PgPool,
    config: &Config,
    inbound_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<Handled>, IngestError> {
    let mut tx = pool
        .begin()
        .await
        .doing("starting to re-process a message")?;
    let Some(raw) = inbound::raw_for_update(&mut tx, inbound_id).await? else {
        return Ok(None);
    };
    let handled = process(&mut tx, config, inbound_id, &raw, now).await?;
    tx.commit()
        .await
        .doing("committing a re-processed message")?;
    Ok(Some(handled))
}

/// The Message-ID is the idempotency key; without one, the bytes' hash is.
pub fn idempotency_key(message_id: Option<&str>, raw: &[u8]) -> String {
    match message_id {
        Some(id) if !id.trim().is_empty() => format!("mid:{}", id.trim()),
        _ => format!(
            "sha256:{}",
            data_encoding::HEXLOWER.encode(&Sha256::digest(raw))
        ),
    }
}

/// The Message-ID read straight from the header block, so even unparseable mail gets the
/// same key every time it is delivered.
pub fn quick_message_id(raw: &[u8]) -> Option<String> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(raw.len().min(64 * 1024));
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let mut lines = head.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("message-id") {
            continue;
        }
        let mut value = value.trim().to_string();
        while let Some(next) = lines.peek().filter(|l| l.starts_with([' ', '\t'])) {
            value.push_str(next.trim());
            lines.next();
        }
        let id = value
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim();
        return (!id.is_empty() && id.len() <= 998).then(|| id.to_string());
    }
    None
}

async fn process(
    tx: &mut PgConnection,
    config: &Config,
    inbound_id: i64,
    raw: &[u8],
    now: DateTime<Utc>,
) -> Result<Handled, IngestError> {
    let mail = match parse(raw) {
        Ok(mail) => mail,
        Err(error) => {
            let reason = format!("unreadable: {error}");
            quarantine(tx, inbound_id, &reason, now).await?;
            return Ok(Handled::Quarantined(reason));
        }
    };
    let class = classify(
        &mail,
        &ClassifyContext {
            bot_address: config.bot.address.to_string(),
        },
    );
    let (handled, lead_id) = match class {
        MailClass::Bounce => {
            let lead = bounce::handle(tx, config, &mail, now).await?;
            (Handled::Automated(class), lead.map(|id| id.0))
        }
        MailClass::AutoReply | MailClass::List => (Handled::Automated(class), None),
        MailClass::Reply => {
            let (handled, lead) = reply::handle(tx, config, &mail, now).await?;
            (handled, lead.map(|id| id.0))
        }
        MailClass::Request if is_command_from_the_partner_side(tx, config, &mail).await? => {
            // A contact writing a fresh mail with a command (LIST, HELP, ACCEPT L-1042):
            // a reply in all but threading, never a request for a new lead.
            let (handled, lead) = reply::handle(tx, config, &mail, now).await?;
            (handled, lead.map(|id| id.0))
        }
        MailClass::Request => {
            let handled = handle_request(tx, config, inbound_id, &mail, now).await?;
            let first = match &handled {
                Handled::LeadsCreated(ids) => ids.first().map(|id| id.0),
                _ => None,
            };
            (handled, first)
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
    finish(
        tx,
        inbound_id,
        Some(&mail),
        Some(class),
        outcome,
        reason,
        lead_id,
        now,
    )
    .await?;
    Ok(handled)
}

/// Records the raw message under its idempotency key; `None` if it was recorded before.
async fn record(
    tx: &mut PgConnection,
    source: &str,
    raw: &[u8],
    now: DateTime<Utc>,
) -> Result<Option<i64>, StoreError> {
    let message_id = quick_message_id(raw);
    let key = idempotency_key(message_id.as_deref(), raw);
    inbound::record(tx, &key, message_id.as_deref(), source, raw, now).await
}

/// Ends a message in quarantine, kept whole, with the reason for the operator.
async fn quarantine(
    tx: &mut PgConnection,
    inbound_id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let outcome = Outcome::Quarantined;
    finish(
        tx,
        inbound_id,
        None,
        None,
        outcome,
        Some(reason.into()),
        None,
        now,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn finish(
    tx: &mut PgConnection,
    inbound_id: i64,
    mail: Option<&InboundMail>,
    class: Option<MailClass>,
    outcome: Outcome,
    reason: Option<String>,
    lead_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let class = class.map(|c| {
        serde_json::to_value(c)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    });
    inbound::finish(
        tx,
        inbound_id,
        Finding {
            sender: mail.and_then(|m| m.from.as_ref()).map(|f| f.email.as_str()),
            subject: mail.map(|m| m.subject.as_str()),
            class: class.as_deref(),
            parsed: mail.and_then(|m| serde_json::to_value(m).ok()),
            outcome,
            reason,
            lead_id,
        },
        now,
    )
    .await
}

/// True for a new mail whose new text starts with a command, from a partner contact or a
/// reviewer: it goes through the reply path (which answers it), not into a lead.
async fn is_command_from_the_partner_side(
    tx: &mut PgConnection,
    config: &Config,
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
        || directory::contact_by_email(tx, &sender).await?.is_some())
}

/// An RFI: route it to profiles, read the customer and the need, create one lead each.
async fn handle_request(
    tx: &mut PgConnection,
    config: &Config,
    inbound_id: i64,
    mail: &InboundMail,
    now: DateTime<Utc>,
) -> Result<Handled, IngestError> {
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
    } else if directory::contact_by_email(tx, &from).await?.is_some() {
        Sender::PartnerContact
    } else {
        Sender::Public
    };
    let rfi = match rfi::extract(mail, sender) {
        Ok(rfi) => rfi,
        Err(error) => return Ok(Handled::Quarantined(error.to_string())),
    };
    let profiles = directory::profiles(tx).await?;
    let seed = inbound_id as u64;
    let targets = match routing::route(tx, config, mail, &rfi, &profiles, seed, now).await? {
        Ok(targets) => targets,
        Err(reason) => return Ok(Handled::Quarantined(reason)),
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
            customer: rfi.customer.clone(),
            context: LeadContext {
                region: rfi.region.clone(),
                city: rfi.city.clone(),
                company_size: rfi.company_size.clone(),
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
            notify::new_lead(tx, &config.bot, &lead, now).await?;
            created.push(lead.id);
        }
    }
    Ok(Handled::LeadsCreated(created))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_message_id_else_a_hash() {
        assert_eq!(idempotency_key(Some("a@b"), b"x"), "mid:a@b");
        let hashed = idempotency_key(None, b"x");
        assert!(hashed.starts_with("sha256:"));
        assert_eq!(hashed, idempotency_key(Some("  "), b"x"));
        assert_ne!(hashed, idempotency_key(None, b"y"));
    }

    #[test]
    fn the_message_id_is_read_even_from_broken_mail() {
        let raw = b"From: x\r\nMessage-ID:\r\n <abc@example.test>\r\n\r\nbody";
        assert_eq!(quick_message_id(raw).as_deref(), Some("abc@example.test"));
        assert_eq!(quick_message_id(b"\x00\xff garbage"), None);
        assert_eq!(quick_message_id(b"Message-Id: <>\n\n"), None);
    }
}
