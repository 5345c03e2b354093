//! Every mail leadbot writes, from one entry point: [`render`] turns a [`Notification`] and a
//! [`Locale`] into a subject, a plain-text part and an HTML part.
//!
//! The words live in `templates/<name>.txt` and `templates/<name>.html` (askama), each with an
//! English and a French branch. This module only prepares the values they show: dates,
//! localized labels, reply examples and pre-filled `mailto:` links. The HTML templates are
//! escaped by askama (everything a customer or contact wrote is untrusted); the text
//! templates are not, since plain text has nothing to escape.
//!
//! Where things are: this file names every mail and renders it (with its subject);
//! `page` prepares the values the templates show; `labels` says the domain's values in the
//! reader's words; `prefill` writes the pre-filled replies and `mailto:` links.

mod labels;
mod page;
mod prefill;

pub(crate) use labels::kind_label;
use labels::{capitalized, pick};
pub use labels::{registration_label, state_label};
use page::Page;

use askama::Template;
use chrono::{DateTime, Utc};

use super::typography::finish;
use crate::domain::Locale;
use crate::domain::command::{CommandKind, Language};
use crate::domain::{Lead, LeadId};

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
mod tests;
