//! The values every template shows, prepared once per mail: labels in the reader's
//! language, dates written out, what people wrote marked as theirs.

use chrono::{DateTime, Utc};

use super::labels::{
    command_word, kind_label, pick, registration_label, reviewer_commands, state_label,
};
use super::prefill::{accept_example, decline_example, decline_mailto_body, mailto};
use super::{CommandResult, HistoryLine, Notification, Reminder};
use crate::domain::company_size::CompanySize;
use crate::domain::country::country_name;
use crate::domain::lifecycle::allowed_next;
use crate::domain::{DeclineReason, Lead, LeadId, LeadState, Locale, ReferrerKind};
use crate::mail::quote::bounded_quote;
use crate::mail::typography::{quotation_marks, theirs, unmarked};

/// Everything any template shows, prepared once. Fields a notification does not use stay
/// empty; templates only read the ones that belong to them.
pub(super) struct Page {
    pub(super) fr: bool,
    pub(super) lead: LeadView,
    /// The address a reply should go to (the contact's token address), for mailto links.
    pub(super) reply_to: String,
    /// The reply commands, filled in: what to copy into a reply.
    pub(super) accept_example: String,
    pub(super) decline_example: String,
    pub(super) accept_mailto: String,
    pub(super) decline_mailto: String,
    pub(super) decline_reasons: Vec<(usize, &'static str)>,
    pub(super) final_reminder: bool,
    pub(super) results: Vec<CommandResult>,
    pub(super) next_step: String,
    /// The reader is a deal reviewer: registration status and reviewer commands.
    pub(super) reviewer: bool,
    pub(super) history: Vec<HistoryLine>,
    /// The colleague who acted, and when.
    pub(super) colleague: String,
    pub(super) acted_at: String,
    pub(super) problem: String,
    pub(super) written: String,
    pub(super) example: String,
}

/// A lead as people read it: labels in the reader's language, dates written out.
#[derive(Default)]
pub(super) struct LeadView {
    /// `[L-1042]`; empty for mail about no lead.
    pub(super) tag: String,
    pub(super) kind: String,
    pub(super) state: String,
    /// The state's stable name (`accepted`), for templates to choose their words by.
    pub(super) state_code: &'static str,
    /// Still waiting for the partner's ACCEPT or DECLINE: the deadline matters.
    pub(super) awaiting_answer: bool,
    pub(super) profile: String,
    /// Name and company, or whatever is known of the customer.
    pub(super) customer_label: String,
    pub(super) customer_name: String,
    pub(super) customer_email: String,
    pub(super) customer_phone: String,
    /// Why mail to the customer bounces; empty while it does not.
    pub(super) customer_email_failure: String,
    /// "Lyon, France": city and country as known.
    pub(super) place: String,
    /// "2,000 employees" / "2 000 salariés".
    pub(super) company_size: String,
    /// The staff referrer's own words about the customer.
    pub(super) referrer_note: String,
    pub(super) need: String,
    pub(super) hot: bool,
    pub(super) hot_until: String,
    pub(super) deadline: String,
    pub(super) received: String,
    /// Deal fields that are set, as (label, value).
    pub(super) deal: Vec<(&'static str, String)>,
    pub(super) decline_reason: String,
    pub(super) decline_notes: String,
    pub(super) referrer: String,
    pub(super) contacts: Vec<String>,
    pub(super) allowed_next: String,
    pub(super) registration_fields: Vec<(String, String)>,
    pub(super) registration_status: String,
    pub(super) review_note: String,
}

impl Page {
    pub(super) fn new(notification: &Notification, locale: Locale) -> Self {
        let fr = locale == Locale::Fr;
        let lead = match notification {
            Notification::ErrorAnswer { lead, .. } | Notification::Information { lead, .. } => {
                LeadView {
                    tag: lead.map(LeadId::tag).unwrap_or_default(),
                    ..LeadView::default()
                }
            }
            _ => notification
                .lead()
                .map(|lead| LeadView::new(lead, notification_time(notification), locale))
                .unwrap_or_default(),
        };
        let mut page = Self {
            fr,
            lead,
            reply_to: String::new(),
            accept_example: String::new(),
            decline_example: String::new(),
            accept_mailto: String::new(),
            decline_mailto: String::new(),
            decline_reasons: DeclineReason::ALL
                .iter()
                .map(|r| (r.number(), if fr { r.label_fr() } else { r.label() }))
                .collect(),
            final_reminder: false,
            results: Vec::new(),
            next_step: String::new(),
            reviewer: false,
            history: Vec::new(),
            colleague: String::new(),
            acted_at: String::new(),
            problem: String::new(),
            written: String::new(),
            example: String::new(),
        };
        match notification {
            Notification::NewLead { reply_to, .. }
            | Notification::Reminder { reply_to, .. }
            | Notification::HotWindowClosed { reply_to, .. }
            | Notification::RegistrationForReview { reply_to, .. }
            | Notification::RegistrationReviewed { reply_to, .. } => {
                page.reply_to = reply_to.to_string();
            }
            _ => {}
        }
        if let Notification::Reminder { reminder, .. } = notification {
            page.final_reminder = *reminder == Reminder::Final;
        }
        if let Notification::Confirmation {
            results,
            next_step,
            for_reviewer,
            ..
        } = notification
        {
            page.next_step = next_step.to_string();
            page.reviewer = *for_reviewer;
            if let (true, Some(lead)) = (*for_reviewer, notification.lead()) {
                page.lead.allowed_next = reviewer_commands(lead, fr);
            }
            page.results = results
                .iter()
                .map(|result| CommandResult {
                    command: theirs(&result.command),
                    ..result.clone()
                })
                .collect();
        }
        if let Notification::RequestReceived { name } = notification {
            page.colleague = theirs(name);
        }
        if let Notification::RequestUnmatched {
            from,
            subject,
            need,
            reason,
        } = notification
        {
            page.colleague = theirs(from);
            // Routing's diagnostic, in English for whoever runs leadbot: kept as it is.
            page.problem = theirs(reason);
            page.example = theirs(subject);
            page.written = theirs(need);
        }
        if let Notification::CustomerWrote { text, .. } = notification {
            page.written = theirs(text);
        }
        if let Notification::ColleagueActed { who, at, .. } = notification {
            page.colleague = theirs(who);
            page.acted_at = locale.date_time(*at);
        }
        if let Notification::Status { history, .. } = notification {
            page.history = history
                .iter()
                .map(|line| HistoryLine {
                    who: theirs(&line.who),
                    ..line.clone()
                })
                .collect();
        }
        if let Notification::ErrorAnswer {
            problem,
            written,
            example,
            ..
        } = notification
        {
            page.problem = quotation_marks(locale, problem);
            page.written = theirs(written);
            page.example = example.to_string();
        }
        if let Notification::Information { title, body, .. } = notification {
            page.problem = title.to_string();
            page.written = quotation_marks(locale, body);
        }
        if let Some(lead) = notification.lead() {
            page.accept_example = accept_example(lead, locale, theirs);
            page.decline_example = decline_example(locale);
            let reply_subject = format!(
                "Re: {} {}",
                lead.id.tag(),
                unmarked(&page.lead.customer_label)
            );
            let accept_body = accept_example(lead, locale, str::to_string);
            page.accept_mailto = mailto(&page.reply_to, &reply_subject, &accept_body);
            page.decline_mailto = mailto(
                &page.reply_to,
                &reply_subject,
                &decline_mailto_body(locale, &page.decline_reasons),
            );
        }
        page
    }
}

/// Reminders and the new-lead mail say "hot" only while the window is open at send time.
pub(super) fn notification_time(notification: &Notification) -> Option<DateTime<Utc>> {
    match notification {
        Notification::NewLead { now, .. } => Some(*now),
        _ => None,
    }
}

impl LeadView {
    /// Everything a person wrote is marked with [`theirs`], so typography leaves it alone.
    pub(super) fn new(lead: &Lead, now: Option<DateTime<Utc>>, locale: Locale) -> Self {
        let fr = locale == Locale::Fr;
        let customer = &lead.customer;
        let customer_label = match (&customer.name, &customer.company) {
            (Some(name), Some(company)) => format!("{name} ({company})"),
            (Some(one), None) | (None, Some(one)) => one.clone(),
            (None, None) => customer
                .email
                .clone()
                .unwrap_or_else(|| lead.id.to_string()),
        };
        let labels: [&str; 6] = if fr {
            [
                "Nom de l'affaire",
                "Valeur",
                "Délai",
                "Notes",
                "ID CRM",
                "ID campagne",
            ]
        } else {
            [
                "Deal name",
                "Value",
                "Timeframe",
                "Notes",
                "CRM ID",
                "Campaign ID",
            ]
        };
        let deal = &lead.deal;
        let deal_fields = [
            deal.name.as_deref().map(theirs),
            deal.value.as_ref().map(|value| locale.money(value)),
            deal.timeframe.as_deref().map(theirs),
            deal.notes.as_deref().map(theirs),
            deal.crm_id.as_deref().map(theirs),
            deal.campaign_id.as_deref().map(theirs),
        ];
        let when = |at: DateTime<Utc>| locale.date_time(at);
        let registration = lead.registration.as_ref();
        Self {
            tag: lead.id.tag(),
            kind: match &lead.referrer {
                Some(referrer) if referrer.kind == ReferrerKind::Partner => {
                    pick(fr, "Partner referral", "Recommandation d'un partenaire")
                }
                _ => kind_label(lead.kind, fr).into(),
            },
            state: state_label(lead.state, fr).into(),
            state_code: lead.state.as_str(),
            awaiting_answer: lead.state == LeadState::Received,
            profile: lead.profile_id.clone(),
            customer_label: theirs(&customer_label),
            customer_name: theirs(customer.name.as_deref().unwrap_or_default()),
            customer_email: theirs(customer.email.as_deref().unwrap_or_default()),
            customer_phone: theirs(customer.phone.as_deref().unwrap_or_default()),
            need: theirs(&bounded_quote(
                &lead.need,
                lead.id,
                if fr { Locale::Fr } else { Locale::En },
            )),
            customer_email_failure: theirs(
                lead.context
                    .customer_email_failure
                    .as_deref()
                    .unwrap_or_default(),
            ),
            place: theirs(
                &[
                    lead.context.city.clone(),
                    lead.context
                        .region
                        .as_deref()
                        .map(|r| country_name(r, fr).to_string()),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", "),
            ),
            company_size: lead
                .context
                .company_size
                .as_deref()
                .map(|size| CompanySize::parse(size).map_or(theirs(size), |s| s.label(fr)))
                .unwrap_or_default(),
            referrer_note: theirs(lead.context.referrer_note.as_deref().unwrap_or_default()),
            hot: match now {
                Some(now) => lead.is_hot(now),
                None => lead.hot_until.is_some(),
            },
            hot_until: lead.hot_until.map(when).unwrap_or_default(),
            deadline: when(lead.expires_at),
            received: when(lead.received_at),
            deal: labels
                .into_iter()
                .zip(deal_fields)
                .filter_map(|(label, value)| value.map(|v| (label, v)))
                .collect(),
            decline_reason: lead
                .decline
                .as_ref()
                .map(|d| {
                    if fr {
                        d.reason.label_fr()
                    } else {
                        d.reason.label()
                    }
                })
                .unwrap_or_default()
                .into(),
            decline_notes: theirs(
                lead.decline
                    .as_ref()
                    .and_then(|d| d.notes.as_deref())
                    .unwrap_or_default(),
            ),
            referrer: lead
                .referrer
                .as_ref()
                .map(|r| match &r.name {
                    Some(name) => theirs(&format!("{name} ({})", r.email)),
                    None => theirs(&r.email),
                })
                .unwrap_or_default(),
            contacts: lead
                .contacts
                .iter()
                .map(|c| {
                    let parts = [Some(&c.name), c.phone.as_ref(), c.email.as_ref()];
                    let joined: Vec<&str> =
                        parts.into_iter().flatten().map(String::as_str).collect();
                    theirs(&joined.join(", "))
                })
                .collect(),
            allowed_next: allowed_next(lead)
                .into_iter()
                .map(|word| command_word(word, fr))
                .collect::<Vec<_>>()
                .join(", "),
            registration_fields: registration
                .map(|r| {
                    r.fields
                        .iter()
                        .map(|(label, value)| (theirs(label), theirs(value)))
                        .collect()
                })
                .unwrap_or_default(),
            registration_status: registration
                .map(|r| registration_label(r.status, fr))
                .unwrap_or_default()
                .into(),
            review_note: theirs(
                registration
                    .and_then(|r| r.review_note.as_deref())
                    .unwrap_or_default(),
            ),
        }
    }
}
