//! Every mail leadbot writes, from one entry point: [`render`] turns a [`Notification`] and a
//! [`Locale`] into a subject, a plain-text part and an HTML part.
//!
//! The words live in `templates/<name>.txt` and `templates/<name>.html` (askama), each with an
//! English and a French branch. This module only prepares the values they show: dates,
//! localized labels, reply examples and pre-filled `mailto:` links. The HTML templates are
//! escaped by askama (everything a customer or contact wrote is untrusted); the text
//! templates are not, since plain text has nothing to escape.

use askama::Template;
use chrono::{DateTime, Utc};

use crate::domain::Locale;
use crate::domain::command::{CommandKind, Language};
use crate::domain::company_size::CompanySize;
use crate::domain::country::country_name;
use crate::domain::lifecycle::allowed_next;
use crate::domain::{DeclineReason, Lead, LeadId, LeadKind, LeadState, RegistrationStatus};

/// What to tell whom. Each variant is one template (see [`Notification::template_name`]).
#[derive(Debug, Clone)]
pub enum Notification<'a> {
    /// A new lead, to each of the profile's contacts; `reply_to` is their token address.
    NewLead {
        lead: &'a Lead,
        reply_to: &'a str,
        now: DateTime<Utc>,
    },
    /// "We received your request", to the customer.
    Acknowledgement { lead: &'a Lead },
    /// The transcript answering a contact's reply: each command with its result.
    Confirmation {
        lead: &'a Lead,
        results: &'a [CommandResult],
    },
    /// A reply that could not be applied: what was wrong, what was written, a correct example.
    ErrorAnswer {
        lead: Option<LeadId>,
        problem: &'a str,
        written: &'a str,
        example: &'a str,
    },
    /// An answer that changes nothing: HELP, LIST, STATUS, or a short refusal to a sender
    /// who may not act. `body` is preformatted text.
    Information {
        lead: Option<LeadId>,
        title: &'a str,
        body: &'a str,
    },
    /// The partner declined: the customer is asked to choose another partner.
    CustomerDeclined { lead: &'a Lead },
    /// Nobody answered in time: the customer is asked to choose another partner.
    CustomerExpired { lead: &'a Lead },
    /// The lead a staff member (or partner) referred expired unanswered.
    ReferrerExpired { lead: &'a Lead },
    /// To the profile's contacts: the lead expired unanswered.
    ContactsExpired { lead: &'a Lead },
    /// The first or the final reminder to answer, to the profile's contacts.
    Reminder {
        lead: &'a Lead,
        reminder: Reminder,
        reply_to: &'a str,
    },
    /// The customer's "contact me directly" window closed; the lead is still open.
    HotWindowClosed { lead: &'a Lead, reply_to: &'a str },
    /// The lead a referrer sent was declined, won or lost (its state says which).
    ReferrerClosed { lead: &'a Lead },
    /// A won deal's registration (or an answer to a question), to the reviewers.
    RegistrationForReview { lead: &'a Lead, reply_to: &'a str },
    /// The reviewer's verdict or question, back to the profile's contacts.
    RegistrationReviewed { lead: &'a Lead, reply_to: &'a str },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reminder {
    First,
    Final,
}

/// One line of a confirmation transcript: the command as written and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandResult {
    pub command: String,
    pub result: String,
    pub applied: bool,
}

/// A rendered mail, ready to become an [`OutgoingMail`](super::outgoing::OutgoingMail).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
#[error("the {template} template failed to render")]
pub struct RenderError {
    template: &'static str,
    source: askama::Error,
}

impl Notification<'_> {
    /// The template's name: the file stem under `templates/` and the outbox's `template`.
    pub fn template_name(&self) -> &'static str {
        match self {
            Self::NewLead { .. } => "new_lead",
            Self::Acknowledgement { .. } => "acknowledgement",
            Self::Confirmation { .. } => "confirmation",
            Self::ErrorAnswer { .. } => "error_answer",
            Self::Information { .. } => "information",
            Self::CustomerDeclined { .. } => "customer_declined",
            Self::CustomerExpired { .. } => "customer_expired",
            Self::ReferrerExpired { .. } => "referrer_expired",
            Self::ContactsExpired { .. } => "contacts_expired",
            Self::Reminder { .. } => "reminder",
            Self::HotWindowClosed { .. } => "hot_window_closed",
            Self::ReferrerClosed { .. } => "referrer_closed",
            Self::RegistrationForReview { .. } => "registration_for_review",
            Self::RegistrationReviewed { .. } => "registration_reviewed",
        }
    }

    /// The lead the mail is about, if any.
    pub fn lead(&self) -> Option<&Lead> {
        match self {
            Self::ErrorAnswer { .. } | Self::Information { .. } => None,
            Self::NewLead { lead, .. }
            | Self::Acknowledgement { lead }
            | Self::Confirmation { lead, .. }
            | Self::CustomerDeclined { lead }
            | Self::CustomerExpired { lead }
            | Self::ReferrerExpired { lead }
            | Self::ContactsExpired { lead }
            | Self::Reminder { lead, .. }
            | Self::HotWindowClosed { lead, .. }
            | Self::ReferrerClosed { lead }
            | Self::RegistrationForReview { lead, .. }
            | Self::RegistrationReviewed { lead, .. } => Some(lead),
        }
    }
}

/// Subject, text and HTML of `notification` in `locale`.
pub fn render(notification: &Notification, locale: Locale) -> Result<Rendered, RenderError> {
    let page = Page::new(notification, locale);
    let template = notification.template_name();
    let fail = |source| RenderError { template, source };
    let (text, html) = match notification {
        Notification::NewLead { .. } => (
            NewLeadText { p: &page }.render(),
            NewLeadHtml { p: &page }.render(),
        ),
        Notification::Acknowledgement { .. } => (
            AcknowledgementText { p: &page }.render(),
            AcknowledgementHtml { p: &page }.render(),
        ),
        Notification::Confirmation { .. } => (
            ConfirmationText { p: &page }.render(),
            ConfirmationHtml { p: &page }.render(),
        ),
        Notification::ErrorAnswer { .. } => (
            ErrorAnswerText { p: &page }.render(),
            ErrorAnswerHtml { p: &page }.render(),
        ),
        Notification::Information { .. } => (
            InformationText { p: &page }.render(),
            InformationHtml { p: &page }.render(),
        ),
        Notification::CustomerDeclined { .. } => (
            CustomerDeclinedText { p: &page }.render(),
            CustomerDeclinedHtml { p: &page }.render(),
        ),
        Notification::CustomerExpired { .. } => (
            CustomerExpiredText { p: &page }.render(),
            CustomerExpiredHtml { p: &page }.render(),
        ),
        Notification::ReferrerExpired { .. } => (
            ReferrerExpiredText { p: &page }.render(),
            ReferrerExpiredHtml { p: &page }.render(),
        ),
        Notification::ContactsExpired { .. } => (
            ContactsExpiredText { p: &page }.render(),
            ContactsExpiredHtml { p: &page }.render(),
        ),
        Notification::Reminder { .. } => (
            ReminderText { p: &page }.render(),
            ReminderHtml { p: &page }.render(),
        ),
        Notification::HotWindowClosed { .. } => (
            HotWindowClosedText { p: &page }.render(),
            HotWindowClosedHtml { p: &page }.render(),
        ),
        Notification::ReferrerClosed { .. } => (
            ReferrerClosedText { p: &page }.render(),
            ReferrerClosedHtml { p: &page }.render(),
        ),
        Notification::RegistrationForReview { .. } => (
            RegistrationForReviewText { p: &page }.render(),
            RegistrationForReviewHtml { p: &page }.render(),
        ),
        Notification::RegistrationReviewed { .. } => (
            RegistrationReviewedText { p: &page }.render(),
            RegistrationReviewedHtml { p: &page }.render(),
        ),
    };
    Ok(Rendered {
        subject: subject(notification, &page),
        text: text.map_err(fail)?,
        html: html.map_err(fail)?,
    })
}

fn subject(notification: &Notification, page: &Page) -> String {
    let fr = page.fr;
    let who = &page.lead.customer_label;
    let words = match notification {
        Notification::NewLead { .. } => match (fr, page.lead.hot) {
            (false, false) => format!("New lead: {who}"),
            (false, true) => format!("New lead, contact requested: {who}"),
            (true, false) => format!("Nouvelle demande : {who}"),
            (true, true) => format!("Nouvelle demande, contact demandé : {who}"),
        },
        Notification::Acknowledgement { .. } => pick(
            fr,
            "We received your request",
            "Nous avons bien reçu votre demande",
        ),
        Notification::Confirmation { results, .. } => {
            let commands: Vec<&str> = results
                .iter()
                .filter_map(|r| r.command.split_whitespace().next())
                .collect();
            match fr {
                false => format!("Done: {}", commands.join(", ")),
                true => format!("C'est fait : {}", commands.join(", ")),
            }
        }
        Notification::ErrorAnswer { .. } => pick(
            fr,
            "Your reply could not be applied",
            "Votre réponse n'a pas pu être appliquée",
        ),
        Notification::Information { title, .. } => title.to_string(),
        Notification::CustomerDeclined { .. } | Notification::CustomerExpired { .. } => pick(
            fr,
            "Please choose another partner",
            "Merci de choisir un autre partenaire",
        ),
        Notification::ReferrerExpired { .. } => pick(
            fr,
            "The lead you sent expired unanswered",
            "La demande que vous avez transmise a expiré sans réponse",
        ),
        Notification::ContactsExpired { .. } => pick(
            fr,
            "Lead expired without an answer",
            "Demande expirée sans réponse",
        ),
        Notification::Reminder {
            reminder: Reminder::First,
            ..
        } => pick(
            fr,
            "Reminder: a lead awaits your answer",
            "Rappel : une demande attend votre réponse",
        ),
        Notification::Reminder {
            reminder: Reminder::Final,
            ..
        } => match fr {
            false => format!("Last reminder: the lead expires on {}", page.lead.deadline),
            true => format!(
                "Dernier rappel : la demande expire le {}",
                page.lead.deadline
            ),
        },
        Notification::HotWindowClosed { .. } => pick(
            fr,
            "The customer's contact window has closed",
            "La fenêtre de contact du client est close",
        ),
        Notification::ReferrerClosed { .. } => match fr {
            false => format!("The lead you sent is {}", page.lead.state),
            true => format!("La demande que vous avez transmise : {}", page.lead.state),
        },
        Notification::RegistrationForReview { .. } => pick(
            fr,
            "Deal registration to review",
            "Enregistrement d'affaire à examiner",
        ),
        Notification::RegistrationReviewed { .. } => match fr {
            false => format!("Deal registration: {}", page.lead.registration_status),
            true => format!(
                "Enregistrement d'affaire : {}",
                page.lead.registration_status
            ),
        },
    };
    match &page.lead.tag {
        tag if tag.is_empty() => words,
        tag => format!("{tag} {words}"),
    }
}

fn pick(fr: bool, en: &str, french: &str) -> String {
    if fr { french } else { en }.to_string()
}

// ─────────────────────────── what the templates see ───────────────────────────

/// Everything any template shows, prepared once. Fields a notification does not use stay
/// empty; templates only read the ones that belong to them.
struct Page {
    fr: bool,
    lead: LeadView,
    /// The address a reply should go to (the contact's token address), for mailto links.
    reply_to: String,
    /// The reply commands, filled in: what to copy into a reply.
    accept_example: String,
    decline_example: String,
    accept_mailto: String,
    decline_mailto: String,
    decline_reasons: Vec<(usize, &'static str)>,
    final_reminder: bool,
    results: Vec<CommandResult>,
    problem: String,
    written: String,
    example: String,
}

/// A lead as people read it: labels in the reader's language, dates written out.
#[derive(Default)]
struct LeadView {
    /// `[L-1042]`; empty for mail about no lead.
    tag: String,
    kind: String,
    state: String,
    /// Still waiting for the partner's ACCEPT or DECLINE: the deadline matters.
    awaiting_answer: bool,
    profile: String,
    /// Name and company, or whatever is known of the customer.
    customer_label: String,
    customer_name: String,
    customer_email: String,
    customer_phone: String,
    /// Why mail to the customer bounces; empty while it does not.
    customer_email_failure: String,
    /// "Lyon, France": city and country as known.
    place: String,
    /// "2,000 employees" / "2 000 salariés".
    company_size: String,
    /// The staff referrer's own words about the customer.
    referrer_note: String,
    need: String,
    hot: bool,
    hot_until: String,
    deadline: String,
    received: String,
    /// Deal fields that are set, as (label, value).
    deal: Vec<(&'static str, String)>,
    decline_reason: String,
    decline_notes: String,
    referrer: String,
    contacts: Vec<String>,
    allowed_next: String,
    registration_fields: Vec<(String, String)>,
    registration_status: String,
    review_note: String,
}

impl Page {
    fn new(notification: &Notification, locale: Locale) -> Self {
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
                .map(|lead| LeadView::new(lead, notification_time(notification), fr))
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
        if let Notification::Confirmation { results, .. } = notification {
            page.results = results.to_vec();
        }
        if let Notification::ErrorAnswer {
            problem,
            written,
            example,
            ..
        } = notification
        {
            page.problem = problem.to_string();
            page.written = written.to_string();
            page.example = example.to_string();
        }
        if let Notification::Information { title, body, .. } = notification {
            page.problem = title.to_string();
            page.written = body.to_string();
        }
        if let Some(lead) = notification.lead() {
            page.accept_example = accept_example(lead, fr);
            page.decline_example = decline_example(fr);
            let reply_subject = format!("Re: {} {}", lead.id.tag(), page.lead.customer_label);
            page.accept_mailto = mailto(&page.reply_to, &reply_subject, &page.accept_example);
            page.decline_mailto = mailto(
                &page.reply_to,
                &reply_subject,
                &decline_mailto_body(fr, &page.decline_reasons),
            );
        }
        page
    }
}

/// Reminders and the new-lead mail say "hot" only while the window is open at send time.
fn notification_time(notification: &Notification) -> Option<DateTime<Utc>> {
    match notification {
        Notification::NewLead { now, .. } => Some(*now),
        _ => None,
    }
}

impl LeadView {
    fn new(lead: &Lead, now: Option<DateTime<Utc>>, fr: bool) -> Self {
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
            deal.name.clone(),
            deal.value.as_ref().map(ToString::to_string),
            deal.timeframe.clone(),
            deal.notes.clone(),
            deal.crm_id.clone(),
            deal.campaign_id.clone(),
        ];
        let registration = lead.registration.as_ref();
        Self {
            tag: lead.id.tag(),
            kind: kind_label(lead.kind, fr).into(),
            state: state_label(lead.state, fr).into(),
            awaiting_answer: lead.state == LeadState::Received,
            profile: lead.profile_id.clone(),
            customer_label,
            customer_name: customer.name.clone().unwrap_or_default(),
            customer_email: customer.email.clone().unwrap_or_default(),
            customer_phone: customer.phone.clone().unwrap_or_default(),
            customer_email_failure: lead
                .context
                .customer_email_failure
                .clone()
                .unwrap_or_default(),
            place: [
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
            company_size: lead
                .context
                .company_size
                .as_deref()
                .map(|size| CompanySize::parse(size).map_or(size.to_string(), |s| s.label(fr)))
                .unwrap_or_default(),
            referrer_note: lead.context.referrer_note.clone().unwrap_or_default(),
            need: lead.need.clone(),
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
            decline_notes: lead
                .decline
                .as_ref()
                .and_then(|d| d.notes.clone())
                .unwrap_or_default(),
            referrer: lead
                .referrer
                .as_ref()
                .map(|r| r.name.clone().unwrap_or_else(|| r.email.clone()))
                .unwrap_or_default(),
            contacts: lead
                .contacts
                .iter()
                .map(|c| {
                    [Some(&c.name), c.phone.as_ref(), c.email.as_ref()]
                        .into_iter()
                        .flatten()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .collect(),
            allowed_next: allowed_next(lead)
                .into_iter()
                .map(|word| command_word(word, fr))
                .collect::<Vec<_>>()
                .join(", "),
            registration_fields: registration.map(|r| r.fields.clone()).unwrap_or_default(),
            registration_status: registration
                .map(|r| registration_label(r.status, fr))
                .unwrap_or_default()
                .into(),
            review_note: registration
                .and_then(|r| r.review_note.clone())
                .unwrap_or_default(),
        }
    }
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub(crate) fn kind_label(kind: LeadKind, fr: bool) -> &'static str {
    match (kind, fr) {
        (LeadKind::CustomerInquiry, false) => "Customer inquiry",
        (LeadKind::CustomerInquiry, true) => "Demande client",
        (LeadKind::MarketingQualified, false) => "Marketing qualified lead",
        (LeadKind::MarketingQualified, true) => "Lead qualifié par le marketing",
        (LeadKind::SalesQualified, false) => "Sales qualified lead",
        (LeadKind::SalesQualified, true) => "Lead qualifié par les ventes",
    }
}

/// A state as the reader says it.
pub fn state_label(state: LeadState, fr: bool) -> &'static str {
    if !fr {
        return state.as_str();
    }
    match state {
        LeadState::Received => "reçue",
        LeadState::Accepted => "acceptée",
        LeadState::Declined => "refusée",
        LeadState::Expired => "expirée",
        LeadState::Won => "gagnée",
        LeadState::Lost => "perdue",
    }
}

fn registration_label(status: RegistrationStatus, fr: bool) -> &'static str {
    match (status, fr) {
        (RegistrationStatus::Submitted, false) => "submitted",
        (RegistrationStatus::Submitted, true) => "soumis",
        (RegistrationStatus::InfoRequested, false) => "information requested",
        (RegistrationStatus::InfoRequested, true) => "informations demandées",
        (RegistrationStatus::Approved, false) => "approved",
        (RegistrationStatus::Approved, true) => "approuvé",
        (RegistrationStatus::Rejected, false) => "rejected",
        (RegistrationStatus::Rejected, true) => "rejeté",
    }
}

/// Command words in the reader's language, from the grammar's own table (it reads both).
fn command_word(word: &'static str, fr: bool) -> &'static str {
    let language = if fr { Language::Fr } else { Language::En };
    CommandKind::ALL
        .iter()
        .find(|kind| kind.word(Language::En) == word)
        .map_or(word, |kind| kind.word(language))
}

/// A filled-in ACCEPT the contact can copy, built from what the lead already says.
fn accept_example(lead: &Lead, fr: bool) -> String {
    let company = lead
        .customer
        .company
        .clone()
        .or_else(|| lead.customer.name.clone())
        .unwrap_or_else(|| lead.id.to_string());
    if fr {
        format!(
            "ACCEPTER\nNom de l'affaire: {company}\nValeur: 25000 EUR\nDélai: T1 2027\n\
             Notes: premier appel prévu"
        )
    } else {
        format!(
            "ACCEPT\nDeal name: {company}\nValue: 25000 EUR\nTimeframe: Q1 2027\n\
             Notes: first call booked"
        )
    }
}

fn decline_example(fr: bool) -> String {
    if fr {
        "REFUSER 2\nNotes: équipe complète jusqu'en mars".into()
    } else {
        "DECLINE 2\nNotes: team fully booked until March".into()
    }
}

/// The DECLINE reply body: the command, then the numbered reasons to choose from.
fn decline_mailto_body(fr: bool, reasons: &[(usize, &str)]) -> String {
    let mut body = String::from(if fr {
        "REFUSER <numéro du motif>\nNotes:\n\n"
    } else {
        "DECLINE <reason number>\nNotes:\n\n"
    });
    for (number, label) in reasons {
        body.push_str(&format!("{number}. {label}\n"));
    }
    body
}

/// A `mailto:` URL that opens a reply with subject and body filled in (RFC 6068).
fn mailto(to: &str, subject: &str, body: &str) -> String {
    if to.is_empty() {
        return String::new();
    }
    let body = body.replace('\n', "\r\n");
    format!(
        "mailto:{}?subject={}&body={}",
        percent_encode(to),
        percent_encode(subject),
        percent_encode(&body)
    )
}

/// Percent-encodes everything but RFC 3986 unreserved characters (and `@`, `+` in addresses
/// are encoded too, which every client decodes).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~@".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

// ─────────────────────────── the template files ───────────────────────────

/// Declares one askama template over [`Page`] per file.
macro_rules! page_templates {
    ($($name:ident => $path:literal),+ $(,)?) => {$(
        #[derive(Template)]
        #[template(path = $path)]
        struct $name<'a> {
            p: &'a Page,
        }
    )+};
}

page_templates! {
    NewLeadText => "new_lead.txt",
    NewLeadHtml => "new_lead.html",
    AcknowledgementText => "acknowledgement.txt",
    AcknowledgementHtml => "acknowledgement.html",
    ConfirmationText => "confirmation.txt",
    ConfirmationHtml => "confirmation.html",
    ErrorAnswerText => "error_answer.txt",
    ErrorAnswerHtml => "error_answer.html",
    InformationText => "information.txt",
    InformationHtml => "information.html",
    CustomerDeclinedText => "customer_declined.txt",
    CustomerDeclinedHtml => "customer_declined.html",
    CustomerExpiredText => "customer_expired.txt",
    CustomerExpiredHtml => "customer_expired.html",
    ReferrerExpiredText => "referrer_expired.txt",
    ReferrerExpiredHtml => "referrer_expired.html",
    ContactsExpiredText => "contacts_expired.txt",
    ContactsExpiredHtml => "contacts_expired.html",
    ReminderText => "reminder.txt",
    ReminderHtml => "reminder.html",
    HotWindowClosedText => "hot_window_closed.txt",
    HotWindowClosedHtml => "hot_window_closed.html",
    ReferrerClosedText => "referrer_closed.txt",
    ReferrerClosedHtml => "referrer_closed.html",
    RegistrationForReviewText => "registration_for_review.txt",
    RegistrationForReviewHtml => "registration_for_review.html",
    RegistrationReviewedText => "registration_reviewed.txt",
    RegistrationReviewedHtml => "registration_reviewed.html",
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::domain::{
        Customer, Deal, Decline, LeadContact, Money, Referrer, ReferrerKind, Registration,
    };

    fn received_at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
    }

    fn lead() -> Lead {
        Lead {
            id: LeadId(1042),
            kind: LeadKind::CustomerInquiry,
            state: LeadState::Received,
            partner_id: "contoso".into(),
            profile_id: "contoso-fr".into(),
            customer: Customer {
                name: Some("Chloé Dubois".into()),
                email: Some("chloe@client.test".into()),
                company: Some("Fabrikam SA".into()),
                phone: Some("+33 6 12 34 56 78".into()),
            },
            context: Default::default(),
            need: "Migrate 200 mailboxes to Teams before March.".into(),
            hot_until: Some(received_at() + Duration::hours(72)),
            favorite: false,
            deal: Deal::default(),
            decline: None,
            contacts: Vec::new(),
            referrer: None,
            registration: None,
            received_at: received_at(),
            expires_at: received_at() + Duration::days(14),
            first_response_at: None,
            closed_at: None,
            version: 1,
        }
    }

    fn accepted() -> Lead {
        Lead {
            state: LeadState::Accepted,
            deal: Deal {
                name: Some("Fabrikam Teams rollout".into()),
                value: Some(Money {
                    amount: "25000".parse().unwrap(),
                    currency: "EUR".into(),
                }),
                timeframe: Some("Q1 2027".into()),
                ..Deal::default()
            },
            contacts: vec![LeadContact {
                name: "Jean Martin".into(),
                phone: Some("+33 1 00 00 00 00".into()),
                email: None,
            }],
            ..lead()
        }
    }

    fn referred(state: LeadState) -> Lead {
        Lead {
            kind: LeadKind::SalesQualified,
            state,
            referrer: Some(Referrer {
                kind: ReferrerKind::Staff,
                email: "sam@microsoft.test".into(),
                name: Some("Sam Seller".into()),
            }),
            decline: (state == LeadState::Declined).then(|| Decline {
                reason: DeclineReason::NoCapacity,
                notes: Some("Fully booked until March".into()),
            }),
            ..lead()
        }
    }

    fn registered(status: RegistrationStatus, note: Option<&str>) -> Lead {
        Lead {
            state: LeadState::Won,
            registration: Some(Registration {
                status,
                fields: vec![
                    ("Solution".into(), "Teams Phone".into()),
                    ("Seats".into(), "200".into()),
                ],
                review_note: note.map(String::from),
            }),
            ..accepted()
        }
    }

    const REPLY_TO: &str = "leads+l1042c7-abcdefghijklmnop@leads.example.test";

    /// Every template, with the leads that make it say the most.
    fn every_notification<'a>(
        leads: &'a [Lead; 7],
        results: &'a [CommandResult],
    ) -> Vec<(&'static str, Notification<'a>)> {
        let [fresh, accepted, declined, expired, won, submitted, reviewed] = leads;
        vec![
            (
                "new_lead",
                Notification::NewLead {
                    lead: fresh,
                    reply_to: REPLY_TO,
                    now: received_at(),
                },
            ),
            (
                "acknowledgement",
                Notification::Acknowledgement { lead: fresh },
            ),
            (
                "confirmation",
                Notification::Confirmation {
                    lead: accepted,
                    results,
                },
            ),
            (
                "error_answer",
                Notification::ErrorAnswer {
                    lead: Some(LeadId(1042)),
                    problem: "`Value: lots` cannot be read: expected an amount and a currency",
                    written: "ACCEPT\nValue: lots",
                    example: "ACCEPT\nValue: 25000 EUR",
                },
            ),
            (
                "customer_declined",
                Notification::CustomerDeclined { lead: fresh },
            ),
            (
                "customer_expired",
                Notification::CustomerExpired { lead: fresh },
            ),
            (
                "referrer_expired",
                Notification::ReferrerExpired { lead: expired },
            ),
            (
                "contacts_expired",
                Notification::ContactsExpired { lead: fresh },
            ),
            (
                "reminder_first",
                Notification::Reminder {
                    lead: fresh,
                    reminder: Reminder::First,
                    reply_to: REPLY_TO,
                },
            ),
            (
                "reminder_final",
                Notification::Reminder {
                    lead: fresh,
                    reminder: Reminder::Final,
                    reply_to: REPLY_TO,
                },
            ),
            (
                "hot_window_closed",
                Notification::HotWindowClosed {
                    lead: fresh,
                    reply_to: REPLY_TO,
                },
            ),
            (
                "referrer_closed_declined",
                Notification::ReferrerClosed { lead: declined },
            ),
            (
                "referrer_closed_won",
                Notification::ReferrerClosed { lead: won },
            ),
            (
                "registration_for_review",
                Notification::RegistrationForReview {
                    lead: submitted,
                    reply_to: REPLY_TO,
                },
            ),
            (
                "registration_reviewed",
                Notification::RegistrationReviewed {
                    lead: reviewed,
                    reply_to: REPLY_TO,
                },
            ),
        ]
    }

    fn sample_leads() -> [Lead; 7] {
        [
            lead(),
            accepted(),
            referred(LeadState::Declined),
            referred(LeadState::Expired),
            referred(LeadState::Won),
            registered(RegistrationStatus::Submitted, None),
            registered(
                RegistrationStatus::InfoRequested,
                Some("How many seats are new licences?"),
            ),
        ]
    }

    fn transcript() -> Vec<CommandResult> {
        vec![
            CommandResult {
                command: "ACCEPT".into(),
                result: "accepted; deal name, value and timeframe recorded".into(),
                applied: true,
            },
            CommandResult {
                command: "FAVORITE".into(),
                result: "the lead is in your favorites".into(),
                applied: true,
            },
        ]
    }

    #[test]
    fn every_template_in_both_languages() {
        let leads = sample_leads();
        let results = transcript();
        for (name, notification) in every_notification(&leads, &results) {
            for locale in [Locale::En, Locale::Fr] {
                let rendered = render(&notification, locale).unwrap();
                assert!(
                    rendered.subject.starts_with("[L-1042] "),
                    "{name}: {}",
                    rendered.subject
                );
                let shown = format!(
                    "Subject: {}\n\n----- text -----\n{}\n----- html -----\n{}",
                    rendered.subject, rendered.text, rendered.html
                );
                insta::assert_snapshot!(format!("{name}_{}", locale.as_str()), shown);
            }
        }
    }

    #[test]
    fn customer_text_is_escaped_in_html_and_kept_in_text() {
        let mut lead = lead();
        lead.need = "<script>alert('x')</script> & more".into();
        lead.customer.company = Some("<b>Evil</b> Corp".into());
        let notification = Notification::NewLead {
            lead: &lead,
            reply_to: REPLY_TO,
            now: received_at(),
        };
        for locale in [Locale::En, Locale::Fr] {
            let rendered = render(&notification, locale).unwrap();
            assert!(!rendered.html.contains("<script>"), "{}", rendered.html);
            assert!(!rendered.html.contains("<b>Evil"), "{}", rendered.html);
            assert!(
                rendered.html.contains("&#60;script&#62;")
                    || rendered.html.contains("&lt;script&gt;")
            );
            assert!(rendered.text.contains("<script>alert('x')</script> & more"));
        }
    }

    #[test]
    fn the_flame_notice_shows_only_while_the_customer_waits_for_a_call() {
        let lead = lead();
        let hot = |now| {
            render(
                &Notification::NewLead {
                    lead: &lead,
                    reply_to: REPLY_TO,
                    now,
                },
                Locale::En,
            )
            .unwrap()
        };
        let early = hot(received_at());
        assert!(early.text.contains("asked to be contacted directly"));
        assert!(early.subject.contains("contact requested"));
        let late = hot(received_at() + Duration::hours(73));
        assert!(!late.text.contains("asked to be contacted directly"));
        assert!(!late.subject.contains("contact requested"));
    }

    #[test]
    fn the_new_lead_html_opens_prefilled_replies() {
        let lead = lead();
        let rendered = render(
            &Notification::NewLead {
                lead: &lead,
                reply_to: REPLY_TO,
                now: received_at(),
            },
            Locale::En,
        )
        .unwrap();
        let accept = "mailto:leads%2Bl1042c7-abcdefghijklmnop@leads.example.test?subject=Re%3A%20%5BL-1042%5D";
        assert!(rendered.html.contains(accept), "{}", rendered.html);
        assert!(
            rendered
                .html
                .contains("body=ACCEPT%0D%0ADeal%20name%3A%20Fabrikam%20SA")
        );
        assert!(
            rendered
                .html
                .contains("body=DECLINE%20%3Creason%20number%3E")
        );
        assert!(rendered.html.contains("2.%20No%20capacity%20right%20now"));
    }

    #[test]
    fn mail_about_no_lead_has_no_tag() {
        let rendered = render(
            &Notification::ErrorAnswer {
                lead: None,
                problem: "no command found",
                written: "thanks!",
                example: "ACCEPT",
            },
            Locale::En,
        )
        .unwrap();
        assert_eq!(rendered.subject, "Your reply could not be applied");
        assert!(rendered.text.contains("  > thanks!"));
    }
}
