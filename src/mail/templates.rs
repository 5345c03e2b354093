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

use super::quote::bounded_quote;
use super::typography::{finish, quotation_marks, theirs, unmarked};
use crate::domain::Locale;
use crate::domain::command::{CommandKind, Language};
use crate::domain::company_size::CompanySize;
use crate::domain::country::country_name;
use crate::domain::lifecycle::allowed_next;
use crate::domain::{
    DeclineReason, Lead, LeadId, LeadKind, LeadState, ReferrerKind, RegistrationStatus,
};

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
    /// The transcript answering a contact's reply: the command and each value it carried,
    /// echoed as written, with what came of them.
    Confirmation {
        lead: &'a Lead,
        command: CommandKind,
        results: &'a [CommandResult],
        /// What the contact should send next, ready to copy (WON: the registration form);
        /// empty when nothing is asked.
        next_step: &'a str,
        /// A deal reviewer acted: the transcript speaks of the registration, not the lead.
        for_reviewer: bool,
    },
    /// To the profile's other contacts: a colleague accepted, declined, won or lost the lead
    /// (its state says which), so two people never work one lead blindly.
    ColleagueActed {
        lead: &'a Lead,
        who: &'a str,
        at: DateTime<Utc>,
    },
    /// To the profile's contacts: the customer answered their acknowledgement (a phone
    /// number, more details); `text` is what they wrote.
    CustomerWrote { lead: &'a Lead, text: &'a str },
    /// "We received your request" for a request no profile matched yet: a person will
    /// look at it. It never echoes the request: its sender is not verified, and an echo
    /// would make leadbot a reflector.
    RequestReceived { name: &'a str },
    /// To the operator: a request no profile matched, with why, to route by hand.
    RequestUnmatched {
        from: &'a str,
        subject: &'a str,
        need: &'a str,
        reason: &'a str,
    },
    /// The answer to STATUS: the lead, its deal, contacts, deadline and history.
    Status {
        lead: &'a Lead,
        history: &'a [HistoryLine],
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

/// One event of a lead's history, as its reader says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryLine {
    pub at: String,
    pub what: String,
    pub who: String,
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
            Self::Status { .. } => "status",
            Self::ColleagueActed { .. } => "colleague_acted",
            Self::CustomerWrote { .. } => "customer_wrote",
            Self::RequestReceived { .. } => "request_received",
            Self::RequestUnmatched { .. } => "request_unmatched",
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
            Self::ErrorAnswer { .. }
            | Self::Information { .. }
            | Self::RequestReceived { .. }
            | Self::RequestUnmatched { .. } => None,
            Self::NewLead { lead, .. }
            | Self::Acknowledgement { lead }
            | Self::Confirmation { lead, .. }
            | Self::Status { lead, .. }
            | Self::ColleagueActed { lead, .. }
            | Self::CustomerWrote { lead, .. }
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
    let marked = render_marked(notification, locale)?;
    // Typeset the mail's own text, around (never inside) what people wrote.
    Ok(Rendered {
        subject: finish(locale, &marked.subject),
        text: finish(locale, &marked.text),
        html: finish(locale, &marked.html),
    })
}

/// The mail with what people wrote still marked (see `typography`).
fn render_marked(notification: &Notification, locale: Locale) -> Result<Rendered, RenderError> {
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
        Notification::RequestReceived { .. } => (
            RequestReceivedText { p: &page }.render(),
            RequestReceivedHtml { p: &page }.render(),
        ),
        Notification::RequestUnmatched { .. } => (
            RequestUnmatchedText { p: &page }.render(),
            RequestUnmatchedHtml { p: &page }.render(),
        ),
        Notification::CustomerWrote { .. } => (
            CustomerWroteText { p: &page }.render(),
            CustomerWroteHtml { p: &page }.render(),
        ),
        Notification::ColleagueActed { .. } => (
            ColleagueActedText { p: &page }.render(),
            ColleagueActedHtml { p: &page }.render(),
        ),
        Notification::Status { .. } => (
            StatusText { p: &page }.render(),
            StatusHtml { p: &page }.render(),
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
        Notification::Confirmation { command, .. } => {
            let language = if fr { Language::Fr } else { Language::En };
            let word = command.word(language);
            match fr {
                false => format!("Done: {word}"),
                true => format!("C'est fait : {word}"),
            }
        }
        Notification::Status { .. } => pick(fr, "Lead status", "État de la demande"),
        Notification::RequestReceived { .. } => pick(
            fr,
            "We received your request",
            "Nous avons bien reçu votre demande",
        ),
        Notification::RequestUnmatched { .. } => pick(
            fr,
            "A request no profile matches",
            "Une demande qu'aucun profil ne couvre",
        ),
        Notification::CustomerWrote { .. } => match fr {
            false => format!("{who} wrote again"),
            true => format!("{who} a écrit de nouveau"),
        },
        Notification::ColleagueActed { .. } => match fr {
            false => format!("{} by {}", capitalized(&page.lead.state), page.colleague),
            true => format!("{} par {}", capitalized(&page.lead.state), page.colleague),
        },
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

/// "acceptée" → "Acceptée", for a state opening a subject.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
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
    next_step: String,
    /// The reader is a deal reviewer: registration status and reviewer commands.
    reviewer: bool,
    history: Vec<HistoryLine>,
    /// The colleague who acted, and when.
    colleague: String,
    acted_at: String,
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
    /// The state's stable name (`accepted`), for templates to choose their words by.
    state_code: &'static str,
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
fn notification_time(notification: &Notification) -> Option<DateTime<Utc>> {
    match notification {
        Notification::NewLead { now, .. } => Some(*now),
        _ => None,
    }
}

impl LeadView {
    /// Everything a person wrote is marked with [`theirs`], so typography leaves it alone.
    fn new(lead: &Lead, now: Option<DateTime<Utc>>, locale: Locale) -> Self {
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

/// A registration status as the reader says it.
pub fn registration_label(status: RegistrationStatus, fr: bool) -> &'static str {
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

/// What a reviewer may still send: a verdict or a question while the registration waits.
fn reviewer_commands(lead: &Lead, fr: bool) -> String {
    let waiting = lead
        .registration
        .as_ref()
        .is_some_and(|r| r.status == RegistrationStatus::Submitted);
    if !waiting {
        return String::new();
    }
    let language = if fr { Language::Fr } else { Language::En };
    [CommandKind::Approve, CommandKind::Reject, CommandKind::Info]
        .map(|kind| kind.word(language))
        .join(", ")
}

/// Command words in the reader's language, from the grammar's own table (it reads both).
fn command_word(word: &'static str, fr: bool) -> &'static str {
    let language = if fr { Language::Fr } else { Language::En };
    CommandKind::from_english(word).map_or(word, |kind| kind.word(language))
}

/// The ACCEPT reply a contact can copy or open: the command, the deal name when the
/// customer's company is known, and empty lines for what only the partner can tell. An
/// empty line means "not given", so the reply sent as is stores nothing invented. The
/// labels are typeset for the locale (the parser reads no-break spaces); `company` goes
/// through `wrap` (marked as the customer's words when shown, as is in a link).
fn accept_example(lead: &Lead, locale: Locale, wrap: fn(&str) -> String) -> String {
    let company = wrap(lead.customer.company.as_deref().unwrap_or_default());
    let labels = match locale {
        Locale::Fr => [
            "ACCEPTER",
            "Nom de l'affaire : ",
            "Valeur :",
            "Délai :",
            "Notes :",
        ],
        Locale::En => ["ACCEPT", "Deal name: ", "Value:", "Timeframe:", "Notes:"],
    };
    let mut lines: Vec<String> = labels.iter().map(|l| locale.typeset(l)).collect();
    lines[1] = format!("{}{company}", lines[1]).trim_end().to_string();
    lines.join("\n")
}

/// The DECLINE reply: the command and empty Reason and Notes lines. Sent as is, it declines
/// for "Other" with no words added.
fn decline_example(locale: Locale) -> String {
    locale.typeset(match locale {
        Locale::Fr => "REFUSER\nMotif :\nNotes :",
        Locale::En => "DECLINE\nReason:\nNotes:",
    })
}

/// The DECLINE reply body: the command, then the numbered reasons to choose from, below a
/// blank line (never read as part of the command).
fn decline_mailto_body(locale: Locale, reasons: &[(usize, &str)]) -> String {
    let mut body = decline_example(locale);
    body.push_str(&locale.typeset(match locale {
        Locale::Fr => "\n\n(Motif : un numéro ci-dessous, ou vos propres mots)\n",
        Locale::En => "\n\n(Reason: a number below, or your own words)\n",
    }));
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

/// Everything but RFC 3986 unreserved characters and `@` is percent-encoded (a `+` in an
/// address too, which every client decodes).
const MAILTO_ENCODED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, MAILTO_ENCODED).to_string()
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
    StatusText => "status.txt",
    ColleagueActedText => "colleague_acted.txt",
    CustomerWroteText => "customer_wrote.txt",
    RequestReceivedText => "request_received.txt",
    RequestReceivedHtml => "request_received.html",
    RequestUnmatchedText => "request_unmatched.txt",
    RequestUnmatchedHtml => "request_unmatched.html",
    CustomerWroteHtml => "customer_wrote.html",
    ColleagueActedHtml => "colleague_acted.html",
    StatusHtml => "status.html",
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
        history: &'a [HistoryLine],
        answers: &'a Answers,
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
                    command: CommandKind::Accept,
                    results,
                    next_step: "",
                    for_reviewer: false,
                },
            ),
            (
                "confirmation_reviewer",
                Notification::Confirmation {
                    lead: submitted,
                    command: CommandKind::Approve,
                    results: &results[..1],
                    next_step: "",
                    for_reviewer: true,
                },
            ),
            (
                "customer_wrote",
                Notification::CustomerWrote {
                    lead: fresh,
                    text: "Best to call me on +33 6 98 76 54 32 after 2pm: thanks!",
                },
            ),
            (
                "colleague_acted",
                Notification::ColleagueActed {
                    lead: accepted,
                    who: "Alice Martin",
                    at: received_at() + Duration::minutes(102),
                },
            ),
            (
                "status",
                Notification::Status {
                    lead: accepted,
                    history,
                },
            ),
            (
                "error_answer",
                Notification::ErrorAnswer {
                    lead: Some(LeadId(1042)),
                    problem: &answers.problem,
                    written: "ACCEPT\nValue: lots",
                    example: &answers.example,
                },
            ),
            (
                "information_help",
                Notification::Information {
                    lead: Some(LeadId(1042)),
                    title: &answers.help_title,
                    body: &answers.help,
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

    /// What the reply path says back, in the reader's language.
    struct Answers {
        problem: String,
        example: String,
        help_title: String,
        help: String,
    }

    fn answers(locale: Locale) -> Answers {
        use crate::domain::command::{help_text, parse_command};
        let language = if locale == Locale::Fr {
            Language::Fr
        } else {
            Language::En
        };
        let error = parse_command("ACCEPT\nValue: lots").unwrap_err();
        Answers {
            problem: error.message(language),
            example: error.example(language),
            help_title: pick(
                locale == Locale::Fr,
                "leadbot commands",
                "Les commandes de leadbot",
            ),
            help: help_text(language),
        }
    }

    /// A transcript as the reply path words it for each reader.
    fn transcript(locale: Locale) -> Vec<CommandResult> {
        let row = |command: &str, result: &str| CommandResult {
            command: command.into(),
            result: result.into(),
            applied: true,
        };
        match locale {
            Locale::En => vec![
                row("Accept", "done: the lead is now accepted"),
                row("Value: 25k EUR", "→ €25,000.00"),
            ],
            Locale::Fr => vec![
                row("ACCEPT", "c'est fait : la demande est maintenant acceptée"),
                row("Valeur: 25 000 EUR", "→ 25\u{202f}000,00\u{a0}€"),
            ],
        }
    }

    fn history(locale: Locale) -> Vec<HistoryLine> {
        let line = |at: &str, what: &str, who: &str| HistoryLine {
            at: at.into(),
            what: what.into(),
            who: who.into(),
        };
        match locale {
            Locale::En => vec![
                line("2 Nov 2026, 09:00 UTC", "received", "chloe@client.test"),
                line(
                    "2 Nov 2026, 10:42 UTC",
                    "accepted",
                    "Alice Martin <alice@contoso.test>",
                ),
            ],
            Locale::Fr => vec![
                line("2 nov. 2026 à 09:00 UTC", "reçue", "chloe@client.test"),
                line(
                    "2 nov. 2026 à 10:42 UTC",
                    "acceptée",
                    "Alice Martin <alice@contoso.test>",
                ),
            ],
        }
    }

    #[test]
    fn every_template_in_both_languages() {
        let leads = sample_leads();
        for locale in [Locale::En, Locale::Fr] {
            let (results, history) = (transcript(locale), history(locale));
            let answers = answers(locale);
            for (name, notification) in every_notification(&leads, &results, &history, &answers) {
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

    /// No English word of the state or command vocabulary in a French mail's own text: what
    /// people wrote (echoes, customer text) aside.
    #[test]
    fn french_mail_speaks_french() {
        use super::super::typography::own_text;
        const STATES: &[&str] = &["received", "accepted", "declined", "expired", "won", "lost"];
        let commands: Vec<&str> = CommandKind::ALL
            .iter()
            .map(|kind| kind.word(Language::En))
            .filter(|word| {
                !CommandKind::ALL
                    .iter()
                    .any(|k| k.word(Language::Fr) == *word)
            })
            .collect();
        let leads = sample_leads();
        let (results, history) = (transcript(Locale::Fr), history(Locale::Fr));
        let answers = answers(Locale::Fr);
        let mut found = Vec::new();
        for (name, notification) in every_notification(&leads, &results, &history, &answers) {
            let marked = render_marked(&notification, Locale::Fr).unwrap();
            for part in [&marked.subject, &marked.text, &marked.html] {
                // "AJOUTER CONTACT" is French; CONTACT alone is the English command.
                let own = CommandKind::ALL
                    .iter()
                    .map(|kind| kind.word(Language::Fr))
                    .fold(own_text(part), |text, french| text.replace(french, " "));
                for word in own.split(|c: char| !c.is_alphanumeric()) {
                    let english_state = STATES.contains(&word.to_lowercase().as_str());
                    let english_command = commands.contains(&word);
                    if english_state || english_command {
                        found.push(format!("{name}: {word}"));
                    }
                }
            }
        }
        found.dedup();
        assert!(found.is_empty(), "English in French mail: {found:?}");
    }

    /// Mail about no lead (yet), in both languages.
    fn leadless_notifications() -> Vec<(&'static str, Notification<'static>)> {
        vec![
            (
                "request_received",
                Notification::RequestReceived {
                    name: "Chloé Dubois",
                },
            ),
            (
                "request_unmatched",
                Notification::RequestUnmatched {
                    from: "chloe@client.test",
                    subject: "Migration : serveurs",
                    need: "Nous cherchons un partenaire pour migrer nos serveurs.",
                    reason: "no profile matches the request's region, keywords or company size",
                },
            ),
        ]
    }

    #[test]
    fn mail_about_no_lead_in_both_languages() {
        use super::super::typography::own_text;
        for (name, notification) in leadless_notifications() {
            for locale in [Locale::En, Locale::Fr] {
                let rendered = render(&notification, locale).unwrap();
                assert!(!rendered.subject.contains("[L-"), "{}", rendered.subject);
                let shown = format!(
                    "Subject: {}\n\n----- text -----\n{}\n----- html -----\n{}",
                    rendered.subject, rendered.text, rendered.html
                );
                insta::assert_snapshot!(format!("{name}_{}", locale.as_str()), shown);
            }
            let marked = render_marked(&notification, Locale::Fr).unwrap();
            let own = own_text(&marked.text);
            assert!(own.contains("Bonjour"), "{own}");
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
                .contains("body=DECLINE%0D%0AReason%3A%0D%0ANotes%3A")
        );
        assert!(rendered.html.contains("2.%20No%20capacity%20right%20now"));
    }

    /// The bodies of the `mailto:` links of an HTML part, decoded as a mail client does.
    fn mailto_bodies(html: &str) -> Vec<String> {
        html.split("href=\"mailto:")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter_map(|href| {
                let href = href.replace("&#38;", "&").replace("&amp;", "&");
                let body = href.split_once("&body=")?.1.to_string();
                let decoded = percent_encoding::percent_decode_str(&body)
                    .decode_utf8()
                    .ok()?;
                Some(decoded.replace("\r\n", "\n"))
            })
            .collect()
    }

    /// Sends `body` back as the contact's reply and returns the lead it leaves.
    fn reply_unchanged(lead: &Lead, body: &str) -> Lead {
        use crate::domain::command::parse_command;
        use crate::domain::lifecycle::{Actor, apply};
        let parsed = parse_command(body).unwrap_or_else(|error| panic!("{body:?}: {error}"));
        let actor = Actor::Contact {
            name: "Alice Martin".into(),
            email: "alice@contoso.test".into(),
            role: crate::domain::ContactRole::ReferralsAdmin,
        };
        let action = parsed.command.into_action().expect("a command that acts");
        apply(lead, &actor, action, received_at() + Duration::hours(1))
            .unwrap_or_else(|error| panic!("{body:?}: {error}"))
            .lead
    }

    #[test]
    fn every_prefilled_reply_sent_back_unchanged_is_its_command_and_invents_nothing() {
        let with_company = lead();
        let without_company = Lead {
            customer: Customer {
                company: None,
                ..lead().customer
            },
            ..lead()
        };
        for lead in [&with_company, &without_company] {
            let notifications = [
                Notification::NewLead {
                    lead,
                    reply_to: REPLY_TO,
                    now: received_at(),
                },
                Notification::Reminder {
                    lead,
                    reminder: Reminder::Final,
                    reply_to: REPLY_TO,
                },
            ];
            for (notification, locale) in notifications
                .iter()
                .flat_map(|n| [(n, Locale::En), (n, Locale::Fr)])
            {
                let rendered = render(notification, locale).unwrap();
                let page = Page::new(notification, locale);
                let shown = [unmarked(&page.accept_example), page.decline_example.clone()];
                for example in &shown {
                    assert!(rendered.text.contains(example), "{}", rendered.text);
                }
                let mut bodies = mailto_bodies(&rendered.html);
                assert_eq!(bodies.len(), 2, "{}", rendered.html);
                bodies.extend(shown);
                let [accept_link, decline_link, accept_text, decline_text] =
                    <[String; 4]>::try_from(bodies).unwrap();
                for body in [accept_link, accept_text] {
                    let after = reply_unchanged(lead, &body);
                    assert_eq!(after.state, LeadState::Accepted, "{body}");
                    assert_eq!(
                        after.deal,
                        Deal {
                            name: lead.customer.company.clone(),
                            ..Deal::default()
                        },
                        "{body}"
                    );
                }
                for body in [decline_link, decline_text] {
                    let after = reply_unchanged(lead, &body);
                    assert_eq!(
                        after.decline,
                        Some(Decline {
                            reason: DeclineReason::Other,
                            notes: None,
                        }),
                        "{body}"
                    );
                }
            }
        }
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
