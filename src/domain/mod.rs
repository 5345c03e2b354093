//! The domain: leads, who may act on them and how they move through their life cycle.
//!
//! Everything here is pure — no database, no mail, no clock. Callers pass `now` in, and get
//! back values (new state, events, notices) that the workflow layer persists and sends.

pub mod address;
pub mod command;
pub mod company_size;
pub mod country;
pub mod digest;
pub mod directory;
pub mod lead;
pub mod lifecycle;
pub mod locale;
pub mod money;
pub mod registration;
pub mod routing;
pub mod stats;

pub use address::EmailAddress;
pub use lead::{
    ContactRole, Customer, Deal, Decline, DeclineReason, Lead, LeadContact, LeadContext, LeadId,
    LeadKind, LeadState, Money, Referrer, ReferrerKind, Registration, RegistrationStatus,
};
pub use lifecycle::{
    Action, Actor, DealChanges, EventKind, LeadEvent, Notice, Outcome, ReviewVerdict,
    TransitionError,
};
pub use locale::Locale;
