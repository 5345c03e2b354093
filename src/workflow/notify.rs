//! From what happened to a lead to mail in the outbox: who hears about it, in which
//! language, with which reply token, threaded under the earlier mail about the same lead.
//!
//! Everything here runs inside the caller's transaction: the mail is queued if and only if
//! the change that causes it commits. Nothing is sent here; the outbox worker sends.

use std::collections::HashMap;

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

/// A new lead's mail, rendered and addressed, for the caller to queue (ingest queues all of
/// a transaction's new-lead mail in one statement): the notification to each of the
/// profile's `contacts`, and the acknowledgement to the customer (in `customer_locale`, the
/// language of their request) when their address is known. The lead was just created, so
/// no mail of its own is there to thread onto: none is looked for.
pub fn new_lead_mail(
    bot: &BotConfig,
    lead: &Lead,
    contacts: &[ContactRow],
    customer_locale: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<Addressed>, NotifyError> {
    let mut mails = Vec::new();
    let recipients = contacts
        .iter()
        .filter_map(|row| Recipient::contact(row, bot));
    for recipient in recipients {
        let reply_to = reply_address(bot, lead.id, &recipient);
        let notification = Notification::NewLead {
            lead,
            reply_to: &reply_to,
            now,
        };
        mails.push(first_of_thread(
            bot,
            &recipient,
            lead.id,
            compose(&notification, &recipient)?,
        ));
    }
    // A referred lead's customer talks to their referrer; only direct requests are acknowledged.
    let direct = lead.referrer.is_none();
    let customer = customer_recipient(bot, lead, customer_locale);
    if let Some(customer) = customer.filter(|_| direct) {
        let composed = compose(&Notification::Acknowledgement { lead }, &customer)?;
        mails.push(first_of_thread(bot, &customer, lead.id, composed));
    }
    Ok(mails)
}

/// The first mail of a (lead, recipient) thread, addressed: nothing to look up.
fn first_of_thread(
    bot: &BotConfig,
    recipient: &Recipient,
    lead: LeadId,
    composed: Composed,
) -> Addressed {
    let template = composed.template;
    Addressed {
        mail: addressed_mail(bot, recipient, Some(lead), composed, Vec::new(), None),
        lead,
        template,
    }
}

/// The mail a transition's notices call for (customer, referrer, contacts, reviewers).
pub async fn notices(
    tx: &mut PgConnection,
    bot: &BotConfig,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, NotifyError> {
    let mut audience = Audience::load(tx, bot, &[&outcome.lead]).await?;
    let decided = decide_notices(bot, &audience, outcome)?;
    Ok(queue_decided(tx, bot, &mut audience, decided, now).await?)
}

/// [`notices`] decided and rendered, not yet threaded nor queued.
pub fn decide_notices(
    bot: &BotConfig,
    audience: &Audience,
    outcome: &Outcome,
) -> Result<Vec<Decided>, RenderError> {
    let lead = &outcome.lead;
    let mut decided = Vec::new();
    for notice in &outcome.notices {
        match notice {
            Notice::CustomerDeclined | Notice::CustomerExpired => {
                let Some(customer) = audience.customer(bot, lead) else {
                    continue;
                };
                let notification = if *notice == Notice::CustomerDeclined {
                    Notification::CustomerDeclined { lead }
                } else {
                    Notification::CustomerExpired { lead }
                };
                decided.push(Decided::render(customer, lead.id, &notification)?);
            }
            Notice::ReferrerClosed | Notice::ReferrerExpired => {
                let Some(referrer) = audience.referrers.get(&lead.id) else {
                    continue;
                };
                let notification = if *notice == Notice::ReferrerClosed {
                    Notification::ReferrerClosed { lead }
                } else {
                    Notification::ReferrerExpired { lead }
                };
                decided.push(Decided::render(referrer.clone(), lead.id, &notification)?);
            }
            Notice::ContactsExpired => {
                decided.extend(decide_to_contacts(
                    bot,
                    audience,
                    lead,
                    ContactNotice::Expired,
                )?);
            }
            Notice::RegistrationReviewed => {
                decided.extend(decide_to_contacts(
                    bot,
                    audience,
                    lead,
                    ContactNotice::RegistrationReviewed,
                )?);
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
                    decided.push(Decided::render(recipient, lead.id, &notification)?);
                }
            }
        }
    }
    Ok(decided)
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
    let mut audience = Audience::load(tx, bot, &[lead]).await?;
    let decided = decide_to_contacts(bot, &audience, lead, what)?;
    Ok(queue_decided(tx, bot, &mut audience, decided, now).await?)
}

/// [`to_contacts`] decided and rendered, not yet threaded nor queued.
pub fn decide_to_contacts(
    bot: &BotConfig,
    audience: &Audience,
    lead: &Lead,
    what: ContactNotice,
) -> Result<Vec<Decided>, RenderError> {
    let mut decided = Vec::new();
    for recipient in audience.contacts(lead) {
        let reply_to = reply_address(bot, lead.id, recipient);
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
        decided.push(Decided::render(recipient.clone(), lead.id, &notification)?);
    }
    Ok(decided)
}

/// Who hears about some leads, and the threads their mail joins: read once for them all
/// (one lead, or a chunk of the scheduler's sweep), so deciding their mail needs no query.
pub struct Audience {
    /// Each profile's contacts, by profile id.
    contacts: HashMap<String, Vec<Recipient>>,
    customer_locales: HashMap<LeadId, String>,
    referrers: HashMap<LeadId, Recipient>,
    /// The Message-IDs written so far to each (lead, recipient), oldest first.
    threads: HashMap<(LeadId, String), Vec<String>>,
}

impl Audience {
    pub async fn load(
        tx: &mut PgConnection,
        bot: &BotConfig,
        leads: &[&Lead],
    ) -> Result<Self, StoreError> {
        let ids: Vec<LeadId> = leads.iter().map(|lead| lead.id).collect();
        let mut contacts = HashMap::new();
        for lead in leads {
            if !contacts.contains_key(&lead.profile_id) {
                let recipients = profile_contacts(tx, bot, lead).await?;
                contacts.insert(lead.profile_id.clone(), recipients);
            }
        }
        let customer_locales = leads::customer_locales(tx, &ids).await?;
        // Referrers who are partner contacts are written to in their own language.
        let referrer_emails: Vec<EmailAddress> = leads
            .iter()
            .filter_map(|lead| EmailAddress::parse(&lead.referrer.as_ref()?.email).ok())
            .collect();
        let contact_locales: HashMap<String, String> = if referrer_emails.is_empty() {
            HashMap::new()
        } else {
            let emails: Vec<&str> = referrer_emails.iter().map(EmailAddress::as_str).collect();
            directory::contacts_by_email(tx, &emails)
                .await?
                .into_iter()
                .map(|contact| (contact.email, contact.locale))
                .collect()
        };
        let referrers = leads
            .iter()
            .filter_map(|lead| {
                let own = customer_locales.get(&lead.id).map(String::as_str);
                let recipient = referrer(bot, lead, &contact_locales, own)?;
                Some((lead.id, recipient))
            })
            .collect();
        let mut threads: HashMap<_, Vec<String>> = HashMap::new();
        for mail in outbox::threads(tx, &ids).await? {
            threads
                .entry((LeadId(mail.lead_id), mail.recipient))
                .or_default()
                .push(mail.message_id);
        }
        Ok(Self {
            contacts,
            customer_locales,
            referrers,
            threads,
        })
    }

    fn contacts(&self, lead: &Lead) -> &[Recipient] {
        self.contacts
            .get(&lead.profile_id)
            .map_or(&[], Vec::as_slice)
    }

    fn customer(&self, bot: &BotConfig, lead: &Lead) -> Option<Recipient> {
        let locale = self.customer_locales.get(&lead.id).map(String::as_str);
        customer_recipient(bot, lead, locale)
    }
}

/// One mail decided and rendered for one recipient, not yet threaded nor queued.
pub struct Decided {
    recipient: Recipient,
    lead: LeadId,
    composed: Composed,
}

impl Decided {
    fn render(
        recipient: Recipient,
        lead: LeadId,
        notification: &Notification<'_>,
    ) -> Result<Self, RenderError> {
        Ok(Self {
            composed: Composed {
                rendered: templates::render(notification, recipient.locale)?,
                inline: Vec::new(),
                template: notification.template_name(),
            },
            recipient,
            lead,
        })
    }
}

/// Decided mail, threaded and addressed, in order: each joins its (lead, recipient) thread
/// in `audience`, so a second mail to somebody about a lead answers the first.
pub fn address(bot: &BotConfig, audience: &mut Audience, decided: Vec<Decided>) -> Vec<Addressed> {
    decided
        .into_iter()
        .map(
            |Decided {
                 recipient,
                 lead,
                 composed,
             }| {
                let thread = audience
                    .threads
                    .entry((lead, recipient.email.as_str().to_owned()))
                    .or_default();
                let template = composed.template;
                let mail =
                    addressed_mail(bot, &recipient, Some(lead), composed, thread.clone(), None);
                thread.push(mail.message_id.clone());
                Addressed {
                    mail,
                    lead,
                    template,
                }
            },
        )
        .collect()
}

/// A mail ready for the outbox.
pub struct Addressed {
    pub mail: OutgoingMail,
    pub lead: LeadId,
    pub template: &'static str,
}

impl Addressed {
    pub fn to_new(&self) -> outbox::NewMail<'_> {
        outbox::NewMail {
            mail: &self.mail,
            lead: Some(self.lead),
            template: self.template,
        }
    }
}

/// Threads, addresses and queues decided mail one row at a time; returns the rows' ids.
async fn queue_decided(
    tx: &mut PgConnection,
    bot: &BotConfig,
    audience: &mut Audience,
    decided: Vec<Decided>,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    let mut queued = Vec::new();
    for addressed in address(bot, audience, decided) {
        let Addressed {
            mail,
            lead,
            template,
        } = &addressed;
        queued.push(enqueue(tx, mail, Some(*lead), template, now).await?);
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
    let template = composed.template;
    let thread = match lead {
        Some(lead) => outbox::thread(tx, lead, &recipient.email).await?,
        None => Vec::new(),
    };
    let mail = addressed_mail(bot, recipient, lead, composed, thread, replying_to);
    enqueue(tx, &mail, lead, template, now).await
}

/// The mail itself: addressed, with its reply token, threaded under `thread` (the
/// Message-IDs written to the recipient about the lead) and the message it answers.
fn addressed_mail(
    bot: &BotConfig,
    recipient: &Recipient,
    lead: Option<LeadId>,
    composed: Composed,
    thread: Vec<String>,
    replying_to: Option<&str>,
) -> OutgoingMail {
    let Composed {
        rendered, inline, ..
    } = composed;
    let token = lead
        .zip(recipient.contact_id)
        .map(|(lead, contact)| token::sign(bot.secret.expose(), lead, contact));
    let mut references = thread;
    references.extend(replying_to.map(|id| id.trim_matches(['<', '>']).to_string()));
    let skip = references.len().saturating_sub(MAX_REFERENCES);
    let references: Vec<String> = references.into_iter().skip(skip).collect();
    OutgoingMail {
        to: recipient.email.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: Some(rendered.html),
        message_id: new_message_id(token.as_deref(), bot.address.domain()),
        reply_to: token.as_deref().map(|t| plus_address(&bot.address, t)),
        in_reply_to: references.last().cloned(),
        references,
        inline,
    }
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

/// Who referred the lead, in their language: a partner's contact in their own (found in
/// `contact_locales`, by address); a staff member in the language of the request they
/// forwarded (`customer_locale`, else the bot's default).
fn referrer(
    bot: &BotConfig,
    lead: &Lead,
    contact_locales: &HashMap<String, String>,
    customer_locale: Option<&str>,
) -> Option<Recipient> {
    let referrer = lead.referrer.as_ref()?;
    let email = EmailAddress::parse(&referrer.email).ok()?;
    let own = contact_locales
        .get(email.as_str())
        .map(String::as_str)
        .or(customer_locale);
    let locale = own.and_then(Locale::parse).unwrap_or(bot.default_locale);
    Recipient::outsider(email.as_str(), locale)
}

/// The customer, in the language of their request (`locale`, else the bot's default), if
/// reachable.
fn customer_recipient(bot: &BotConfig, lead: &Lead, locale: Option<&str>) -> Option<Recipient> {
    let email = lead.customer.email.as_ref()?;
    // A form that names the bot as the customer would have it acknowledge itself.
    if bare_address(email) == bare_address(bot.address.as_str()) {
        return None;
    }
    let locale = locale.and_then(Locale::parse).unwrap_or(bot.default_locale);
    Recipient::outsider(email, locale)
}
