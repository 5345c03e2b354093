//! Words for the domain's values in the reader's language: states, kinds, statuses,
//! command words.

use crate::domain::command::{CommandKind, Language};
use crate::domain::{Lead, LeadKind, LeadState, RegistrationStatus};

/// "acceptée" → "Acceptée", for a state opening a subject.
pub(super) fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub(super) fn pick(fr: bool, en: &str, french: &str) -> String {
    if fr { french } else { en }.to_string()
}

// ─────────────────────────── what the templates see ───────────────────────────

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
pub(super) fn reviewer_commands(lead: &Lead, fr: bool) -> String {
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
pub(super) fn command_word(word: &'static str, fr: bool) -> &'static str {
    let language = if fr { Language::Fr } else { Language::En };
    CommandKind::from_english(word).map_or(word, |kind| kind.word(language))
}
