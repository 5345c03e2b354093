//! One inbound message → one transaction: record it, understand it, change leads, and
//! write down how it ended. The same path serves IMAP, the MTA pipe and the demo.

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

use crate::config::Config;
use crate::domain::command::parse_command;
use crate::domain::company_size;
use crate::domain::stats::ProfileStats;
use crate::domain::{EmailAddress, LeadContext, Referrer, ReferrerKind};
use crate::mail::rfi::{self, Rfi, Sender};
use crate::mail::{ClassifyContext, InboundMail, MailClass, classify, parse, reply_text};
use crate::store::directory::{self, ProfileRow};
use crate::store::inbound::{self, Finding, Outcome};
use crate::store::leads::{self, NewLead};
use crate::store::stats;
use crate::store::{Doing, StoreError};
pub use crate::workflow::handled::{Handled, IngestError};
use crate::workflow::reply;
use crate::workflow::{bounce, notify};

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
    let track_record = stats::profile_stats(tx, None, Some(now - TRACK_RECORD_WINDOW), now).await?;
    let targets = match route(config, mail, &rfi, &profiles, &track_record) {
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

/// The profiles an RFI is for: every profile address among the recipients (To, Cc,
/// Delivered-To); for mail to the bot's own address, the best match by region, keywords
/// and company size.
fn route<'p>(
    config: &Config,
    mail: &InboundMail,
    rfi: &Rfi,
    profiles: &'p [ProfileRow],
    track_record: &[ProfileStats],
) -> Result<Vec<&'p ProfileRow>, String> {
    let recipients: Vec<String> = mail
        .to
        .iter()
        .chain(&mail.cc)
        .map(|m| m.email.to_lowercase())
        .chain(mail.delivered_to.iter().map(|d| d.to_lowercase()))
        .collect();
    let addressed: Vec<&ProfileRow> = profiles
        .iter()
        .filter(|p| recipients.contains(&p.address))
        .collect();
    if !addressed.is_empty() {
        return Ok(addressed);
    }
    let bot = config.bot.address.as_str();
    let to_bot =
        recipients.iter().any(|r| r == bot) || !mail.to.is_empty() && recipients.is_empty();
    if !to_bot && !recipients.is_empty() {
        return Err(format!(
            "not addressed to a profile or to {bot} (recipients: {})",
            recipients.join(", ")
        ));
    }
    best_match(rfi, profiles, track_record, config.schedule.response_target)
        .map(|p| vec![p])
        .ok_or_else(|| "no profile matches the request's region, keywords or company size".into())
}

/// How far back routing looks at a profile's answers.
const TRACK_RECORD_WINDOW: TimeDelta = TimeDelta::days(90);
/// Below this many answers a profile's acceptance rate says little: it counts as average.
const MIN_ANSWERS_TO_JUDGE: i64 = 3;

/// Scores each profile against the request; the highest positive score wins. Responsive
/// profiles (fast median first response, high acceptance, from `track_record`) get a bonus
/// of at most [`max_responsiveness_bonus`]: it breaks ties and overturns a company-size
/// preference (2 points), never a matching keyword (3) or region (10).
pub fn best_match<'p>(
    rfi: &Rfi,
    profiles: &'p [ProfileRow],
    track_record: &[ProfileStats],
    response_target: TimeDelta,
) -> Option<&'p ProfileRow> {
    let need = rfi.need.to_lowercase();
    let region = rfi.region.as_deref().map(str::to_lowercase);
    let score = |profile: &ProfileRow| -> i32 {
        let region_score = match &region {
            Some(region) if profile.regions.iter().any(|r| r.to_lowercase() == *region) => 10,
            Some(_) if !profile.regions.is_empty() => -10,
            _ => 0,
        };
        let keyword_score = profile
            .keywords
            .iter()
            .filter(|k| need.contains(&k.to_lowercase()))
            .count() as i32
            * 3;
        let size_score = match &rfi.company_size {
            Some(size) if company_size::fits_any(size, &profile.company_sizes) => 2,
            Some(_) if !profile.company_sizes.is_empty() => -5,
            _ => 0,
        };
        region_score + keyword_score + size_score
    };
    let bonus = |profile: &ProfileRow| {
        let record = track_record.iter().find(|s| s.profile_id == profile.id);
        responsiveness_bonus(record, response_target)
    };
    profiles
        .iter()
        .map(|p| (score(p), p))
        .filter(|(s, _)| *s > 0)
        .map(|(s, p)| (f64::from(s) + bonus(p), p))
        // Equal scores: the first profile by id, so routing never depends on row order.
        .max_by(|(a, p), (b, q)| a.total_cmp(b).then_with(|| q.id.cmp(&p.id)))
        .map(|(_, p)| p)
}

pub const fn max_responsiveness_bonus() -> f64 {
    SPEED_WEIGHT + ACCEPTANCE_WEIGHT
}

const SPEED_WEIGHT: f64 = 1.5;
const ACCEPTANCE_WEIGHT: f64 = 1.0;

/// 0..=2.5: full speed credit for a median first response within the response target,
/// none at three times the target; acceptance rate as is. Unknown counts as average, so a
/// new profile is neither favoured nor starved.
fn responsiveness_bonus(record: Option<&ProfileStats>, response_target: TimeDelta) -> f64 {
    let target = response_target.num_seconds().max(1) as f64;
    let speed = match record.and_then(|r| r.median_first_response) {
        Some(median) => (1.5 - 0.5 * median.num_seconds() as f64 / target).clamp(0.0, 1.0),
        None => 0.5,
    };
    let acceptance = record
        .filter(|r| r.answered >= MIN_ANSWERS_TO_JUDGE)
        .and_then(ProfileStats::acceptance_rate)
        .unwrap_or(0.5);
    SPEED_WEIGHT * speed + ACCEPTANCE_WEIGHT * acceptance
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(id: &str, keywords: &[&str], sizes: &[&str]) -> ProfileRow {
        ProfileRow {
            id: id.into(),
            partner_id: id.into(),
            address: format!("{id}@leads.example.test"),
            regions: vec!["France".into()],
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
            company_sizes: sizes.iter().map(|k| k.to_string()).collect(),
            locale: "en".into(),
        }
    }

    fn record(id: &str, median_hours: i64, accepted: i64, answered: i64) -> ProfileStats {
        ProfileStats {
            profile_id: id.into(),
            answered,
            accepted,
            median_first_response: Some(TimeDelta::hours(median_hours)),
            ..ProfileStats::default()
        }
    }

    fn request(need: &str, size: Option<&str>) -> Rfi {
        Rfi {
            customer: Default::default(),
            region: Some("France".into()),
            city: None,
            company_size: size.map(String::from),
            need: need.into(),
            contact_me_directly: false,
            kind: crate::domain::LeadKind::CustomerInquiry,
            locale: None,
            shape: rfi::Shape::FreeForm,
            note: None,
        }
    }

    fn chosen(rfi: &Rfi, profiles: &[ProfileRow], record: &[ProfileStats]) -> String {
        best_match(rfi, profiles, record, TimeDelta::hours(24))
            .map(|p| p.id.clone())
            .unwrap_or_default()
    }

    #[test]
    fn responsive_profiles_win_ties_and_small_differences_only() {
        let tie = [
            profile("a-slow", &["azure"], &[]),
            profile("b-fast", &["azure"], &[]),
        ];
        let need = request("Azure migration", None);
        // Without a track record the first by id wins a tie.
        assert_eq!(chosen(&need, &tie, &[]), "a-slow");
        let records = [record("a-slow", 100, 1, 4), record("b-fast", 2, 4, 4)];
        assert_eq!(chosen(&need, &tie, &records), "b-fast");

        // A company-size preference (2 points) yields to a much more responsive profile...
        let sized = [
            profile("a-slow", &["azure"], &["50-249"]),
            profile("b-fast", &["azure"], &[]),
        ];
        let mid_size = request("Azure migration", Some("50-249"));
        assert_eq!(chosen(&mid_size, &sized, &[]), "a-slow");
        assert_eq!(chosen(&mid_size, &sized, &records), "b-fast");

        // A head count fits the range that holds it; 2,000 people are not 1–999.
        let ranged = [
            profile("a-small", &["azure"], &["1-49", "50-249", "250-999"]),
            profile("b-large", &["azure"], &["1000+"]),
        ];
        assert_eq!(
            chosen(&request("Azure", Some("400")), &ranged, &[]),
            "a-small"
        );
        assert_eq!(
            chosen(&request("Azure", Some("2000")), &ranged, &[]),
            "b-large"
        );

        // ...but a matching keyword (3 points) never does.
        let keyed = [
            profile("a-slow", &["azure", "teams"], &[]),
            profile("b-fast", &["azure"], &[]),
        ];
        let teams = request("Azure and Teams", None);
        assert_eq!(chosen(&teams, &keyed, &records), "a-slow");
        assert!(max_responsiveness_bonus() < 3.0);
    }

    #[test]
    fn a_short_record_counts_as_average() {
        let fast_but_new = record("x", 1, 0, 2);
        let unknown = responsiveness_bonus(None, TimeDelta::hours(24));
        assert_eq!(unknown, 1.25);
        // Full speed credit, acceptance judged average from only two answers.
        assert_eq!(
            responsiveness_bonus(Some(&fast_but_new), TimeDelta::hours(24)),
            2.0
        );
        let slow = record("y", 72, 3, 3);
        assert_eq!(responsiveness_bonus(Some(&slow), TimeDelta::hours(24)), 1.0);
    }

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
