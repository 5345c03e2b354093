//! From what happened to a lead to mail in the outbox: who hears about it, in which
//! language, with which reply token, threaded under the earlier mail about the same lead.
//!
//! Everything here runs inside the caller's transaction: the mail is queued if and only if
//! the change that causes it commits. Nothing is sent here; the outbox worker sends.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::config::BotConfig;
use crate::domain::Locale;
use crate::domain::{EmailAddress, Lead, LeadId, Notice, Outcome};
use crate::mail::identity::bare_address;
use crate::mail::outgoing::{InlinePart, OutgoingMail, new_message_id, plus_address};
use crate::mail::templates::{self, Notification, Reminder, RenderError, Rendered};
use crate::mail::token;
use crate::store::directory::{self, ContactRow};
use crate::store::{StoreError, leads, outbox};

/// Reviewers are configured addresses, not partner contacts: their reply tokens name this
/// contact id, which no database row ever has (identities start at 1).
pub const REVIEWER_CONTACT_ID: i64 = 0;

/// At most this many earlier Message-IDs go into References; clients need only the chain's
/// start and end to thread, and headers should stay short.
const MAX_REFERENCES: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// Who receives a mail, in which language, and whether they may act by replying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub email: EmailAddress,
    pub locale: Locale,
    /// Partner contacts (and reviewers, as [`REVIEWER_CONTACT_ID`]) get a signed reply token.
    pub contact_id: Option<i64>,
}

impl Recipient {
    pub fn contact(row: &ContactRow, bot: &BotConfig) -> Option<Self> {
        Some(Self {
            email: EmailAddress::parse(&row.email).ok()?,
            locale: Locale::parse(&row.locale).unwrap_or(bot.default_locale),
            contact_id: Some(row.id),
        })
    }

    /// Somebody outside the partner (customer, referrer): no token, replies go to the bot.
    pub fn outsider(email: &str, locale: Locale) -> Option<Self> {
        Some(Self {
            email: EmailAddress::parse(email).ok()?,
            locale,
            contact_id: None,
        })
    }
}

/// Queues one message; returns the outbox row's id.
pub async fn enqueue(
    tx: &mut PgConnection,
    mail: &OutgoingMail,
    lead: Option<LeadId>,
    template: &str,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    outbox::insert(tx, mail, lead, template, now).await
}

/// Queues several mails of one lead together (one round trip); returns the outbox rows' ids.
pub async fn enqueue_several(
    tx: &mut PgConnection,
    mails: &[(OutgoingMail, &str)],
    lead: Option<LeadId>,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    outbox::insert_several(tx, mails, lead, now).await
}

/// A new lead: the notification to each of the profile's contacts, and the acknowledgement
/// to the customer when their address is known, queued together. The lead was just
/// created, so no mail of its own is there to thread onto: none is looked for. (Both save
/// a backlog round trips: one per mail, twice.)
pub async fn new_lead(
    tx: &mut PgConnection,
    bot: &BotConfig,
    lead: &Lead,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, NotifyError> {
    let mut mails = Vec::new();
    for recipient in profile_contacts(tx, bot, lead).await? {
        let reply_to = reply_address(bot, lead.id, &recipient);
        let notification = Notification::NewLead {
            lead,
            reply_to: &reply_to,
            now,
        };
        let composed = compose(&notification, &recipient)?;
        mails.push(address(
            bot,
            &recipient,
            Some(lead.id),
            composed,
            Vec::new(),
        ));
    }
    // A referred lead's customer talks to their referrer; only direct requests are acknowledged.
    let direct = lead.referrer.is_none();
    if let Some(customer) = customer(tx, bot, lead).await?.filter(|_| direct) {
        let composed = compose(&Notification::Acknowledgement { lead }, &customer)?;
        mails.push(address(bot, &customer, Some(lead.id), composed, Vec::new()));
    }
    Ok(enqueue_several(tx, &mails, Some(lead.id), now).await?)
}

/// The mail a transition's notices call for (customer, referrer, contacts, reviewers).
pub async fn notices(
    tx: &mut PgConnection,
    bot: &BotConfig,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, NotifyError> {
    let lead = &outcome.lead;
    let mut queued = Vec::new();
    for notice in &outcome.notices {
        match notice {
            Notice::CustomerDeclined | Notice::CustomerExpired => {
                let Some(customer) = customer(tx, bot, lead).await? else {
                    continue;
                };
                let notification = if *notice == Notice::CustomerDeclined {
                    Notification::CustomerDeclined { lead }
                } else {
                    Notification::CustomerExpired { lead }
                };
                queued.push(
                    queue(tx, bot, &customer, Some(lead.id), &notification, None, now).await?,
                );
            }
            Notice::ReferrerClosed | Notice::ReferrerExpired => {
                let Some(referrer) = referrer(tx, bot, lead).await? else {
                    continue;
                };
                let notification = if *notice == Notice::ReferrerClosed {
                    Notification::ReferrerClosed { lead }
                } else {
                    Notification::ReferrerExpired { lead }
                };
                queued.push(
                    queue(tx, bot, &referrer, Some(lead.id), &notification, None, now).await?,
                );
            }
            Notice::ContactsExpired => {
                queued.extend(to_contacts(tx, bot, lead, ContactNotice::Expired, now).await?);
            }
            Notice::RegistrationReviewed => {
                queued.extend(
                    to_contacts(tx, bot, lead, ContactNotice::RegistrationReviewed, now).await?,
                );
            }
            Notice::RegistrationForReview => {
                for reviewer in &bot.reviewers {
                    let recipient = Recipient {
                        email: reviewer.clone(),
                        locale: bot.reviewer_locale,
                        contact_id: Some(REVIEWER_CONTACT_ID),
                    };
                    let reply_to = reply_address(bot, lead.id, &recipient);
                    let notification = Notification::RegistrationForReview {
                        lead,
                        reply_to: &reply_to,
                    };
                    queued.push(
                        queue(tx, bot, &recipient, Some(lead.id), &notification, None, now).await?,
                    );
                }
            }
        }
    }
    Ok(queued)
}

/// To the profile's contacts but the one who acted: `who` accepted, declined, won or lost
/// the lead (its state says which) at `at`.
pub async fn colleagues(
    tx: &mut PgConnection,
    bot: &BotConfig,
    lead: &Lead,
    actor_email: &str,
    who: &str,
    at: DateTime<Utc>,
) -> Result<Vec<i64>, NotifyError> {
    let mut queued = Vec::new();
    for recipient in profile_contacts(tx, bot, lead).await? {
        if recipient.email.as_str().eq_ignore_ascii_case(actor_email) {
            continue;
        }
        let notification = Notification::ColleagueActed { lead, who, at };
        queued.push(queue(tx, bot, &recipient, Some(lead.id), &notification, None, at).await?);
    }
    Ok(queued)
}

/// Mail for the profile's contacts that the scheduler (or a verdict) causes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactNotice {
    Reminder(Reminder),
    HotWindowClosed,
    Expired,
    RegistrationReviewed,
}

/// Queues `what` for every contact of the lead's profile, each in their language.
pub async fn to_contacts(
    tx: &mut PgConnection,
    bot: &BotConfig,
    lead: &Lead,
    what: ContactNotice,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, NotifyError> {
    let mut queued = Vec::new();
    for recipient in profile_contacts(tx, bot, lead).await? {
        let reply_to = reply_address(bot, lead.id, &recipient);
        let reply_to = reply_to.as_str();
        let notification = match what {
            ContactNotice::Reminder(reminder) => Notification::Reminder {
                lead,
                reminder,
                reply_to,
            },
            ContactNotice::HotWindowClosed => Notification::HotWindowClosed { lead, reply_to },
            ContactNotice::Expired => Notification::ContactsExpired { lead },
            ContactNotice::RegistrationReviewed => {
                Notification::RegistrationReviewed { lead, reply_to }
            }
        };
        queued.push(queue(tx, bot, &recipient, Some(lead.id), &notification, None, now).await?);
    }
    Ok(queued)
}

/// An answer to somebody's mail (a confirmation transcript or an error), threaded under the
/// message it answers (`replying_to`, its Message-ID).
pub async fn answer(
    tx: &mut PgConnection,
    bot: &BotConfig,
    recipient: &Recipient,
    notification: &Notification<'_>,
    replying_to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64, NotifyError> {
    let lead = match notification {
        Notification::ErrorAnswer { lead, .. } => *lead,
        other => other.lead().map(|l| l.id),
    };
    queue(tx, bot, recipient, lead, notification, replying_to, now).await
}

/// The address a recipient's reply should go to: their token plus-address, or the bot.
pub fn reply_address(bot: &BotConfig, lead: LeadId, recipient: &Recipient) -> String {
    match recipient.contact_id {
        Some(contact) => plus_address(
            &bot.address,
            &token::sign(bot.secret.expose(), lead, contact),
        ),
        None => bot.address.to_string(),
    }
}

/// Renders, addresses, threads and queues one mail.
async fn queue(
    tx: &mut PgConnection,
    bot: &BotConfig,
    recipient: &Recipient,
    lead: Option<LeadId>,
    notification: &Notification<'_>,
    replying_to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64, NotifyError> {
    let mail = compose(notification, recipient)?;
    Ok(queue_composed(tx, bot, recipient, lead, mail, replying_to, now).await?)
}

/// Renders a notification in the recipient's language.
fn compose(
    notification: &Notification<'_>,
    recipient: &Recipient,
) -> Result<Composed, NotifyError> {
    Ok(Composed {
        rendered: templates::render(notification, recipient.locale)?,
        inline: Vec::new(),
        template: notification.template_name(),
    })
}

/// A mail rendered elsewhere (the digest, with its chart), ready to address and queue.
pub struct Composed {
    pub rendered: Rendered,
    pub inline: Vec<InlinePart>,
    /// The outbox's `template`: what kind of mail it is.
    pub template: &'static str,
}

/// Addresses, threads and queues one rendered mail; returns the outbox row's id.
pub async fn queue_composed(
    tx: &mut PgConnection,
    bot: &BotConfig,
    recipient: &Recipient,
    lead: Option<LeadId>,
    composed: Composed,
    replying_to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let mut references = match lead {
        Some(lead) => outbox::thread(tx, lead, &recipient.email).await?,
        None => Vec::new(),
    };
    references.extend(replying_to.map(|id| id.trim_matches(['<', '>']).to_string()));
    let (mail, template) = address(bot, recipient, lead, composed, references);
    enqueue(tx, &mail, lead, template, now).await
}

/// Addresses one rendered mail, as a follow-up of `references` (Message-IDs, oldest first;
/// empty for the first mail of a thread), ready to queue with its template's name.
fn address(
    bot: &BotConfig,
    recipient: &Recipient,
    lead: Option<LeadId>,
    composed: Composed,
    references: Vec<String>,
) -> (OutgoingMail, &'static str) {
    let Composed {
        rendered,
        inline,
        template,
    } = composed;
    let token = lead
        .zip(recipient.contact_id)
        .map(|(lead, contact)| token::sign(bot.secret.expose(), lead, contact));
    let skip = references.len().saturating_sub(MAX_REFERENCES);
    let references: Vec<String> = references.into_iter().skip(skip).collect();
    let mail = OutgoingMail {
        to: recipient.email.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: Some(rendered.html),
        message_id: new_message_id(token.as_deref(), bot.address.domain()),
        reply_to: token.as_deref().map(|t| plus_address(&bot.address, t)),
        in_reply_to: references.last().cloned(),
        references,
        inline,
    };
    (mail, template)
}

async fn profile_contacts(
    tx: &mut PgConnection,
    bot: &BotConfig,
    lead: &Lead,
) -> Result<Vec<Recipient>, StoreError> {
    Ok(directory::profile_contacts(tx, &lead.profile_id)
        .await?
        .iter()
        .filter_map(|row| Recipient::contact(row, bot))
        .collect())
}

/// Who referred the lead, in their language: a partner's contact in their own; a staff
/// member in the language of the request they forwarded (else the bot's default).
async fn referrer(
    tx: &mut PgConnection,
    bot: &BotConfig,
    lead: &Lead,
) -> Result<Option<Recipient>, StoreError> {
    let Some(referrer) = &lead.referrer else {
        return Ok(None);
    };
    let Ok(email) = EmailAddress::parse(&referrer.email) else {
        return Ok(None);
    };
    let own = match directory::contact_by_email(tx, &email).await? {
        Some(contact) => Some(contact.locale),
        None => leads::customer_locale(tx, lead.id).await?,
    };
    let locale = own
        .as_deref()
        .and_then(Locale::parse)
        .unwrap_or(bot.default_locale);
    Ok(Recipient::outsider(email.as_str(), locale))
}

/// The customer, in the language of their request (else the bot's default), if reachable.
async fn customer(
    tx: &mut PgConnection,
    bot: &BotConfig,
    lead: &Lead,
) -> Result<Option<Recipient>, StoreError> {
    let Some(email) = &lead.customer.email else {
        return Ok(None);
    };
    // A form that names the bot as the customer would have it acknowledge itself.
    if bare_address(email) == bare_address(bot.address.as_str()) {
        return Ok(None);
    }
    let locale = leads::customer_locale(tx, lead.id)
        .await?
        .as_deref()
        .and_then(Locale::parse)
        .unwrap_or(bot.default_locale);
    Ok(Recipient::outsider(email, locale))
}
