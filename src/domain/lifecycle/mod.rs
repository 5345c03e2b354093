//! The lead life cycle as one pure function: `apply(lead, actor, action, now)`.
//!
//! ```text
//!  received ──ACCEPT──▶ accepted ──WON──▶ won ──REGISTER──▶ (reviewers: APPROVE/REJECT/INFO)
//!     │  └──DECLINE──▶ declined          └─LOST─▶ lost
//!     └── unanswered until expires_at ─▶ expired
//! ```
//! EDIT and CONTACT work while received or accepted; FAVORITE at any time (it is the
//! partner's bookmark, not a step of the life cycle). Declined, expired, won and lost are
//! closed: apart from bookmarking and a won deal's registration, they take no action.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::lead::{
    ContactRole, Deal, Decline, DeclineReason, Lead, LeadContact, LeadKind, LeadState, Money,
    Registration, RegistrationStatus,
};

/// Who asks for a change. Authorization by partner membership happens before (the store
/// finds the sender among the lead's partner's contacts); the role check happens here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Contact {
        name: String,
        email: String,
        role: ContactRole,
    },
    /// A configured deal-registration reviewer.
    Reviewer { email: String },
    /// The scheduler's timed rules (expiry).
    Scheduler,
    /// An operator at the command line.
    Operator,
}

impl Actor {
    /// How the actor is written into the lead's events.
    pub fn label(&self) -> String {
        match self {
            Self::Contact { name, email, .. } if name.is_empty() => email.clone(),
            Self::Contact { name, email, .. } => format!("{name} <{email}>"),
            Self::Reviewer { email } => format!("reviewer <{email}>"),
            Self::Scheduler => "scheduler".into(),
            Self::Operator => "operator".into(),
        }
    }
}

/// Deal fields to set; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DealChanges {
    pub name: Option<String>,
    pub value: Option<Money>,
    pub timeframe: Option<String>,
    pub notes: Option<String>,
    pub crm_id: Option<String>,
    pub campaign_id: Option<String>,
}

impl DealChanges {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Writes the given fields into `deal` and returns a JSON object of what was set.
    fn apply_to(&self, deal: &mut Deal) -> serde_json::Value {
        let mut changed = serde_json::Map::new();
        let mut set = |key: &str, source: &Option<String>, target: &mut Option<String>| {
            if let Some(value) = source {
                *target = Some(value.clone());
                changed.insert(key.into(), json!(value));
            }
        };
        set("name", &self.name, &mut deal.name);
        set("timeframe", &self.timeframe, &mut deal.timeframe);
        set("notes", &self.notes, &mut deal.notes);
        set("crm_id", &self.crm_id, &mut deal.crm_id);
        set("campaign_id", &self.campaign_id, &mut deal.campaign_id);
        if let Some(value) = &self.value {
            deal.value = Some(value.clone());
            changed.insert(
                "value".into(),
                json!({"amount": value.amount.to_string(), "currency": value.currency}),
            );
        }
        serde_json::Value::Object(changed)
    }
}

/// A reviewer's answer to a deal registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewVerdict {
    Approve,
    Reject { reason: String },
    RequestInfo { question: String },
}

/// Everything that can happen to a lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Accept {
        deal: DealChanges,
        contacts: Vec<LeadContact>,
    },
    Decline {
        reason: DeclineReason,
        notes: Option<String>,
    },
    Won {
        notes: Option<String>,
    },
    Lost {
        notes: Option<String>,
    },
    Edit {
        deal: DealChanges,
    },
    AddContact(LeadContact),
    SetFavorite(bool),
    Register {
        fields: Vec<(String, String)>,
    },
    /// The contact answers a reviewer's question about the registration.
    AnswerReviewer {
        answer: String,
    },
    Review(ReviewVerdict),
    Expire,
}

impl Action {
    /// The command word a person would use, for messages and transcripts.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Accept { .. } => "ACCEPT",
            Self::Decline { .. } => "DECLINE",
            Self::Won { .. } => "WON",
            Self::Lost { .. } => "LOST",
            Self::Edit { .. } => "EDIT",
            Self::AddContact(_) => "CONTACT",
            Self::SetFavorite(true) => "FAVORITE",
            Self::SetFavorite(false) => "UNFAVORITE",
            Self::Register { .. } => "REGISTER",
            Self::AnswerReviewer { .. } => "ANSWER",
            Self::Review(ReviewVerdict::Approve) => "APPROVE",
            Self::Review(ReviewVerdict::Reject { .. }) => "REJECT",
            Self::Review(ReviewVerdict::RequestInfo { .. }) => "INFO",
            Self::Expire => "EXPIRE",
        }
    }
}

/// What an event records. Spelled in snake_case in the database and JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Received,
    Accepted,
    Declined,
    Won,
    Lost,
    Expired,
    Edited,
    ContactAdded,
    Favorited,
    Unfavorited,
    RegistrationSubmitted,
    RegistrationAnswered,
    RegistrationApproved,
    RegistrationRejected,
    RegistrationInfoRequested,
    FirstReminderSent,
    FinalReminderSent,
    HotWindowClosed,
    /// The customer wrote again (a reply to their acknowledgement); passed to the contacts.
    CustomerMessage,
    /// Mail about the lead bounced: the customer's or a contact's address fails.
    MailBounced,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Won => "won",
            Self::Lost => "lost",
            Self::Expired => "expired",
            Self::Edited => "edited",
            Self::ContactAdded => "contact_added",
            Self::Favorited => "favorited",
            Self::Unfavorited => "unfavorited",
            Self::RegistrationSubmitted => "registration_submitted",
            Self::RegistrationAnswered => "registration_answered",
            Self::RegistrationApproved => "registration_approved",
            Self::RegistrationRejected => "registration_rejected",
            Self::RegistrationInfoRequested => "registration_info_requested",
            Self::MailBounced => "mail_bounced",
            Self::FirstReminderSent => "first_reminder_sent",
            Self::FinalReminderSent => "final_reminder_sent",
            Self::HotWindowClosed => "hot_window_closed",
            Self::CustomerMessage => "customer_message",
        }
    }
}

/// One line of a lead's append-only history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeadEvent {
    pub kind: EventKind,
    pub actor: String,
    pub data: serde_json::Value,
}

/// Mail the life cycle calls for, besides the answer to whoever acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    /// The customer is asked to choose another partner.
    CustomerDeclined,
    CustomerExpired,
    /// The referrer hears that the lead they sent was declined, won or lost.
    ReferrerClosed,
    ReferrerExpired,
    /// The profile's contacts hear that the lead expired unanswered.
    ContactsExpired,
    /// A deal registration (or an answer to a reviewer) goes to the reviewers.
    RegistrationForReview,
    /// A reviewer's verdict or question goes back to the partner's contacts.
    RegistrationReviewed,
}

/// The result of a successful transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub lead: Lead,
    pub events: Vec<LeadEvent>,
    pub notices: Vec<Notice>,
}

impl Outcome {
    /// True when the action left the lead as it was (FAVORITE on a favorite).
    pub fn changed_nothing(&self) -> bool {
        self.events.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("{action} is not possible while the lead is {state}")]
    NotAllowed {
        action: &'static str,
        state: LeadState,
    },
    #[error("the lead is {state}: it is closed and takes no more actions")]
    Closed {
        action: &'static str,
        state: LeadState,
    },
    #[error("{who} is a member of the partner: members can read leads but not act on them")]
    MemberCannotAct { who: String },
    #[error("{action} is not for {who} to do")]
    WrongActor { action: &'static str, who: String },
    #[error("EDIT needs at least one field to change")]
    NothingToEdit,
    #[error("{action} needs a deal registration in state {expected}, but it is {found}")]
    RegistrationNotPending {
        action: &'static str,
        expected: &'static str,
        found: String,
    },
}

/// The command words a contact may send next, for transcripts and help.
pub fn allowed_next(lead: &Lead) -> Vec<&'static str> {
    let favorite = if lead.favorite {
        "UNFAVORITE"
    } else {
        "FAVORITE"
    };
    match lead.state {
        LeadState::Received => vec!["ACCEPT", "DECLINE", "EDIT", "CONTACT", favorite],
        LeadState::Accepted => vec!["WON", "LOST", "EDIT", "CONTACT", favorite],
        LeadState::Won => match lead.registration.as_ref().map(|r| r.status) {
            None | Some(RegistrationStatus::Rejected) => vec!["REGISTER", favorite],
            Some(RegistrationStatus::InfoRequested) => vec!["ANSWER", favorite],
            Some(_) => vec![favorite],
        },
        LeadState::Declined | LeadState::Expired | LeadState::Lost => vec![favorite],
    }
}

/// Decides one transition. Pure: the same inputs always give the same answer.
pub fn apply(
    lead: &Lead,
    actor: &Actor,
    action: Action,
    now: DateTime<Utc>,
) -> Result<Outcome, TransitionError> {
    authorize(actor, &action)?;
    check_state(lead, &action)?;

    let mut next = lead.clone();
    let mut events = Vec::new();
    let mut notices = Vec::new();
    let mut record = |kind: EventKind, data: serde_json::Value| {
        events.push(LeadEvent {
            kind,
            actor: actor.label(),
            data,
        });
    };

    match action {
        Action::Accept { deal, contacts } => {
            next.state = LeadState::Accepted;
            let fields = deal.apply_to(&mut next.deal);
            next.contacts.extend(contacts.iter().cloned());
            record(
                EventKind::Accepted,
                json!({"deal": fields, "contacts": contacts}),
            );
        }
        Action::Decline { reason, notes } => {
            next.state = LeadState::Declined;
            next.closed_at = Some(now);
            record(
                EventKind::Declined,
                json!({"reason": reason.as_str(), "notes": notes}),
            );
            next.decline = Some(Decline { reason, notes });
            notices.extend(decline_notices(lead));
        }
        Action::Won { notes } => {
            next.state = LeadState::Won;
            next.closed_at = Some(now);
            record(EventKind::Won, json!({"notes": notes}));
            notices.extend(lead.referrer.as_ref().map(|_| Notice::ReferrerClosed));
        }
        Action::Lost { notes } => {
            next.state = LeadState::Lost;
            next.closed_at = Some(now);
            record(EventKind::Lost, json!({"notes": notes}));
            notices.extend(lead.referrer.as_ref().map(|_| Notice::ReferrerClosed));
        }
        Action::Edit { deal } => {
            if deal.is_empty() {
                return Err(TransitionError::NothingToEdit);
            }
            let fields = deal.apply_to(&mut next.deal);
            record(EventKind::Edited, json!({"deal": fields}));
        }
        Action::AddContact(contact) => {
            record(EventKind::ContactAdded, json!(contact));
            next.contacts.push(contact);
        }
        Action::SetFavorite(favorite) => {
            if lead.favorite != favorite {
                next.favorite = favorite;
                let kind = if favorite {
                    EventKind::Favorited
                } else {
                    EventKind::Unfavorited
                };
                record(kind, json!({}));
            }
        }
        Action::Register { fields } => {
            record(EventKind::RegistrationSubmitted, json!({"fields": fields}));
            next.registration = Some(Registration {
                status: RegistrationStatus::Submitted,
                fields,
                review_note: None,
            });
            notices.push(Notice::RegistrationForReview);
        }
        Action::AnswerReviewer { answer } => {
            record(EventKind::RegistrationAnswered, json!({"answer": answer}));
            if let Some(registration) = next.registration.as_mut() {
                registration.status = RegistrationStatus::Submitted;
                registration.fields.push(("Answer".into(), answer));
            }
            notices.push(Notice::RegistrationForReview);
        }
        Action::Review(verdict) => {
            let (status, note, kind) = match verdict {
                ReviewVerdict::Approve => (
                    RegistrationStatus::Approved,
                    None,
                    EventKind::RegistrationApproved,
                ),
                ReviewVerdict::Reject { reason } => (
                    RegistrationStatus::Rejected,
                    Some(reason),
                    EventKind::RegistrationRejected,
                ),
                ReviewVerdict::RequestInfo { question } => (
                    RegistrationStatus::InfoRequested,
                    Some(question),
                    EventKind::RegistrationInfoRequested,
                ),
            };
            record(kind, json!({"note": note}));
            if let Some(registration) = next.registration.as_mut() {
                registration.status = status;
                registration.review_note = note;
            }
            notices.push(Notice::RegistrationReviewed);
        }
        Action::Expire => {
            next.state = LeadState::Expired;
            next.closed_at = Some(now);
            record(EventKind::Expired, json!({"expires_at": lead.expires_at}));
            notices.push(Notice::ContactsExpired);
            if lead.kind == LeadKind::CustomerInquiry && lead.referrer.is_none() {
                notices.push(Notice::CustomerExpired);
            }
            if lead.referrer.is_some() {
                notices.push(Notice::ReferrerExpired);
            }
        }
    }

    if !events.is_empty() {
        next.version = lead.version + 1;
        let is_partner_response = matches!(actor, Actor::Contact { .. } | Actor::Operator);
        if is_partner_response && next.first_response_at.is_none() {
            next.first_response_at = Some(now);
        }
    }
    Ok(Outcome {
        lead: next,
        events,
        notices,
    })
}

/// Declined: an inquiring customer is asked to choose another partner; whoever referred the
/// lead hears that it closed (for qualified leads the staff referrer picks the next partner).
fn decline_notices(lead: &Lead) -> Vec<Notice> {
    let mut notices = Vec::new();
    if lead.kind == LeadKind::CustomerInquiry && lead.referrer.is_none() {
        notices.push(Notice::CustomerDeclined);
    }
    if lead.referrer.is_some() {
        notices.push(Notice::ReferrerClosed);
    }
    notices
}

/// Each action has its own kind of actor; members of a partner only read.
fn authorize(actor: &Actor, action: &Action) -> Result<(), TransitionError> {
    let wrong_actor = || TransitionError::WrongActor {
        action: action.name(),
        who: actor.label(),
    };
    match action {
        Action::Expire => match actor {
            Actor::Scheduler | Actor::Operator => Ok(()),
            _ => Err(wrong_actor()),
        },
        Action::Review(_) => match actor {
            Actor::Reviewer { .. } | Actor::Operator => Ok(()),
            _ => Err(wrong_actor()),
        },
        _ => match actor {
            Actor::Contact { role, .. } if !role.may_act() => {
                Err(TransitionError::MemberCannotAct { who: actor.label() })
            }
            Actor::Contact { .. } | Actor::Operator => Ok(()),
            Actor::Reviewer { .. } | Actor::Scheduler => Err(wrong_actor()),
        },
    }
}

/// Which states each action may start from.
fn check_state(lead: &Lead, action: &Action) -> Result<(), TransitionError> {
    let state = lead.state;
    let registration = lead.registration.as_ref().map(|r| r.status);
    let allowed = match action {
        Action::Accept { .. } | Action::Decline { .. } | Action::Expire => {
            state == LeadState::Received
        }
        Action::Won { .. } | Action::Lost { .. } => state == LeadState::Accepted,
        Action::Edit { .. } | Action::AddContact(_) => state.is_open(),
        Action::SetFavorite(_) => true,
        Action::Register { .. } | Action::AnswerReviewer { .. } | Action::Review(_) => {
            if state != LeadState::Won {
                false
            } else {
                let (expected, ok) = match action {
                    Action::Register { .. } => (
                        "none or rejected",
                        matches!(registration, None | Some(RegistrationStatus::Rejected)),
                    ),
                    Action::AnswerReviewer { .. } => (
                        "info_requested",
                        registration == Some(RegistrationStatus::InfoRequested),
                    ),
                    _ => (
                        "submitted",
                        registration == Some(RegistrationStatus::Submitted),
                    ),
                };
                if !ok {
                    return Err(TransitionError::RegistrationNotPending {
                        action: action.name(),
                        expected,
                        found: registration.map_or("none".into(), |s| s.as_str().into()),
                    });
                }
                true
            }
        }
    };
    match (allowed, state.is_closed()) {
        (true, _) => Ok(()),
        (false, true) => Err(TransitionError::Closed {
            action: action.name(),
            state,
        }),
        (false, false) => Err(TransitionError::NotAllowed {
            action: action.name(),
            state,
        }),
    }
}

#[cfg(test)]
mod tests;
