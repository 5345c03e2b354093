//! A request no profile matches is never left silent: with a fallback profile it becomes
//! that profile's lead; otherwise its sender is told a person will look at it (at most a
//! few times an hour per sender) and the operator gets the request to route by hand. The
//! message stays quarantined, so `inbound reprocess` routes it once a profile fits.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::handled::{Handled, IngestError};
use super::notify::{self, Recipient};
use crate::config::Config;
use crate::domain::{EmailAddress, Locale};
use crate::mail::rfi::Rfi;
use crate::mail::templates::Notification;
use crate::mail::{InboundMail, quote};
use crate::store::directory::ProfileRow;
use crate::store::limits;

/// What becomes of a request routing found no profile for.
pub(super) enum Unmatched<'p> {
    /// The configured fallback profile takes it as a lead.
    Fallback(&'p ProfileRow),
    /// Acknowledged and put before the operator; kept quarantined with this outcome.
    Handled(Handled),
}

pub(super) async fn handle<'p>(
    tx: &mut PgConnection,
    config: &Config,
    mail: &InboundMail,
    rfi: &Rfi,
    profiles: &'p [ProfileRow],
    reason: String,
    now: DateTime<Utc>,
) -> Result<Unmatched<'p>, IngestError> {
    let bot = &config.bot;
    let Some(sender) = mail
        .from
        .as_ref()
        .and_then(|from| EmailAddress::parse(&from.email).ok())
    else {
        return Ok(Unmatched::Handled(Handled::Quarantined(reason)));
    };
    let fallback = bot
        .fallback_profile
        .as_deref()
        .and_then(|id| profiles.iter().find(|profile| profile.id == id));
    if let Some(profile) = fallback {
        tracing::info!(profile = %profile.id, %reason, "unmatched request goes to the fallback profile");
        return Ok(Unmatched::Fallback(profile));
    }
    let locale = rfi
        .locale
        .and_then(Locale::parse)
        .unwrap_or(bot.default_locale);
    let per_hour = bot.error_answers_per_hour;
    let acknowledged =
        limits::allow_answer(tx, sender.as_str(), "request_received", per_hour, now).await?;
    if acknowledged && let Some(recipient) = Recipient::outsider(sender.as_str(), locale) {
        let name = rfi.customer.name.as_deref().unwrap_or_default();
        let notification = Notification::RequestReceived { name };
        let replying_to = mail.message_id.as_deref();
        notify::answer(tx, bot, &recipient, &notification, replying_to, now).await?;
    }
    let mut outcome = reason.clone();
    if let Some(operator) = &bot.operator_address {
        let recipient = Recipient {
            email: operator.clone(),
            locale: bot.default_locale,
            contact_id: None,
        };
        let need = quote::bounded_for_operator(&rfi.need, recipient.locale);
        let notification = Notification::RequestUnmatched {
            from: sender.as_str(),
            subject: &mail.subject,
            need: &need,
            reason: &reason,
        };
        notify::answer(tx, bot, &recipient, &notification, None, now).await?;
        outcome.push_str(&format!("; passed to the operator {operator}"));
    }
    if acknowledged {
        outcome.push_str("; the sender was told a person will look at it");
    }
    Ok(Unmatched::Handled(Handled::Quarantined(outcome)))
}
