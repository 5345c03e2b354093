//! A delivery-failure report about leadbot's own mail: which mail failed, and who has to
//! know. The report is linked to the mail it reports on (by the Message-ID it encloses or
//! quotes, else by the failed address); that mail is marked failed, and
//! - a notification to a partner contact that bounces tells the partner's admins that the
//!   contact's address fails (the lead is not getting through to them);
//! - an acknowledgement (or any mail) to the customer that bounces marks the customer's
//!   address as failing on the lead, and the lead's contacts are told to reach the
//!   customer another way.
//!
//! A delay warning changes nothing; a report about mail leadbot never sent is recorded and
//! left alone; handling the same report again changes nothing.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::config::Config;
use crate::domain::{EmailAddress, EventKind, Lead, LeadEvent, LeadId, Locale};
use crate::mail::InboundMail;
use crate::mail::bounce::{self, BounceReport};
use crate::mail::templates::Notification;
use crate::store::outbox::{self, BouncedMail};
use crate::store::{directory, leads};
use crate::workflow::handled::IngestError;
use crate::workflow::notify::{self, Recipient};

/// What came of a bounce: the lead it concerns (to link the inbound message to), if any.
pub(super) async fn handle(
    tx: &mut PgConnection,
    config: &Config,
    mail: &InboundMail,
    now: DateTime<Utc>,
) -> Result<Option<LeadId>, IngestError> {
    let report = bounce::read(mail);
    if !report.permanent {
        return Ok(None);
    }
    let reason = reason(&report, &mail.subject);
    let Some(failed) = outbox::mark_bounced(
        tx,
        report.original_message_id.as_deref(),
        &report.failed_recipients,
        &reason,
        now,
    )
    .await?
    else {
        return Ok(None);
    };
    let Some(lead) = failed.lead_id.map(LeadId) else {
        return Ok(None);
    };
    let Some(lead) = leads::load(tx, lead).await? else {
        return Ok(None);
    };
    let to_customer = lead
        .customer
        .email
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case(&failed.recipient));
    if to_customer {
        customer_address_fails(tx, config, &lead, &reason, now).await?;
    } else {
        contact_address_fails(tx, config, &lead, &failed, &reason, now).await?;
    }
    Ok(Some(lead.id))
}

/// One line for people: the MTA's diagnostic, else the report's subject.
fn reason(report: &BounceReport, subject: &str) -> String {
    let detail = report.diagnostic.as_deref().unwrap_or(subject);
    let detail: String = detail.split_whitespace().collect::<Vec<_>>().join(" ");
    detail.chars().take(200).collect()
}

async fn customer_address_fails(
    tx: &mut PgConnection,
    config: &Config,
    lead: &Lead,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), IngestError> {
    if !leads::mark_customer_email_failed(tx, lead.id, reason, now).await? {
        return Ok(());
    }
    let address = lead.customer.email.as_deref().unwrap_or_default();
    for contact in directory::profile_contacts(tx, &lead.profile_id).await? {
        let Some(recipient) = Recipient::contact(&contact, &config.bot) else {
            continue;
        };
        let (title, body) = match recipient.locale {
            Locale::Fr => (
                "L'adresse du client ne reçoit pas le courrier".to_string(),
                format!(
                    "Le courrier envoyé à {address} pour la demande {} revient en erreur :\n\
                     {reason}\n\nContactez le client par un autre moyen (téléphone, \
                     société) ; ne comptez pas sur cette adresse.",
                    lead.id
                ),
            ),
            Locale::En => (
                "The customer's address does not receive mail".to_string(),
                format!(
                    "Mail sent to {address} about lead {} bounced:\n{reason}\n\n\
                     Reach the customer another way (phone, their company); do not rely \
                     on this address.",
                    lead.id
                ),
            ),
        };
        let notification = Notification::Information {
            lead: Some(lead.id),
            title: &title,
            body: &body,
        };
        notify::answer(tx, &config.bot, &recipient, &notification, None, now).await?;
    }
    Ok(())
}

async fn contact_address_fails(
    tx: &mut PgConnection,
    config: &Config,
    lead: &Lead,
    failed: &BouncedMail,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), IngestError> {
    let Ok(address) = EmailAddress::parse(&failed.recipient) else {
        return Ok(());
    };
    let Some(contact) = directory::contact_by_email(tx, &address).await? else {
        // Staff referrers and reviewers are configured, not partner contacts.
        return Ok(());
    };
    let event = LeadEvent {
        kind: EventKind::MailBounced,
        actor: "mailer-daemon".into(),
        data: serde_json::json!({
            "address": failed.recipient,
            "mail": failed.template,
            "reason": reason,
        }),
    };
    leads::append_event(tx, lead.id, now, &event).await?;
    let admins = directory::partner_admins(tx, &contact.partner_id).await?;
    for admin in admins.iter().filter(|a| a.id != contact.id) {
        let Some(recipient) = Recipient::contact(admin, &config.bot) else {
            continue;
        };
        let (title, body) = match recipient.locale {
            Locale::Fr => (
                format!("L'adresse de {} ne reçoit pas le courrier", contact.name),
                format!(
                    "Le courrier de leadbot à {} ({}) pour la demande {} revient en \
                     erreur :\n{reason}\n\nCorrigez son adresse dans la liste des contacts \
                     et réimportez-la, sinon ses demandes ne lui parviennent pas.",
                    contact.name, failed.recipient, lead.id
                ),
            ),
            Locale::En => (
                format!("{}'s address does not receive mail", contact.name),
                format!(
                    "leadbot's mail to {} ({}) about lead {} bounced:\n{reason}\n\n\
                     Correct the address in your contact list and import it again, or \
                     their leads will not reach them.",
                    contact.name, failed.recipient, lead.id
                ),
            ),
        };
        let notification = Notification::Information {
            lead: Some(lead.id),
            title: &title,
            body: &body,
        };
        notify::answer(tx, &config.bot, &recipient, &notification, None, now).await?;
    }
    Ok(())
}
