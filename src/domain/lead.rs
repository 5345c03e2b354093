//! What a lead is: its kind, its state, the customer behind it and the deal it may become.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

/// A lead's number, shown to people as `L-1042` (subject tags, CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct LeadId(pub i64);

impl LeadId {
    /// Accepts `1042`, `L-1042` and `l-1042`.
    pub fn parse(raw: &str) -> Option<Self> {
        let trimmed = raw.trim();
        let digits = trimmed
            .strip_prefix("L-")
            .or_else(|| trimmed.strip_prefix("l-"))
            .unwrap_or(trimmed);
        digits.parse::<i64>().ok().filter(|n| *n > 0).map(Self)
    }

    /// The tag that goes into subjects: `[L-1042]`.
    pub fn tag(self) -> String {
        format!("[L-{}]", self.0)
    }
}

impl fmt::Display for LeadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "L-{}", self.0)
    }
}

/// Declares a string-backed enum with `as_str`, `FromStr`, `Display` and snake_case serde,
/// so database columns, JSON and CLI flags all spell a value the same way.
macro_rules! spelled_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(raw: &str) -> Result<Self, String> {
                let wanted = raw.trim().to_ascii_lowercase();
                $name::ALL.iter().copied().find(|v| v.as_str() == wanted).ok_or_else(|| {
                    let known: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    format!("unknown {} `{raw}` (expected one of: {})",
                        stringify!($name), known.join(", "))
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

spelled_enum!(
    /// Where a lead is in its life cycle (DESIGN.md).
    LeadState {
        Received => "received",
        Accepted => "accepted",
        Declined => "declined",
        Expired => "expired",
        Won => "won",
        Lost => "lost",
    }
);

impl LeadState {
    /// Terminal states: nothing moves the lead any more.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            Self::Declined | Self::Expired | Self::Won | Self::Lost
        )
    }

    /// Still waiting for the partner to act on it.
    pub fn is_open(self) -> bool {
        !self.is_closed()
    }
}

spelled_enum!(
    /// Marketplace leads come from the public; qualified leads are forwarded by staff.
    LeadKind {
        CustomerInquiry => "customer_inquiry",
        MarketingQualified => "marketing_qualified",
        SalesQualified => "sales_qualified",
    }
);

impl LeadKind {
    pub fn is_qualified(self) -> bool {
        !matches!(self, Self::CustomerInquiry)
    }
}

spelled_enum!(
    /// A partner contact's role. Members read; admins act.
    ContactRole {
        PartnerAdmin => "partner_admin",
        ReferralsAdmin => "referrals_admin",
        Member => "member",
    }
);

impl ContactRole {
    pub fn may_act(self) -> bool {
        !matches!(self, Self::Member)
    }
}

spelled_enum!(
    /// The fixed list a partner picks from when declining (by number or by words).
    DeclineReason {
        NotAFit => "not_a_fit",
        NoCapacity => "no_capacity",
        OutsideRegion => "outside_region",
        BudgetTooSmall => "budget_too_small",
        NotReachable => "not_reachable",
        Duplicate => "duplicate",
        Other => "other",
    }
);

impl DeclineReason {
    /// Human wording, in the order partners see the numbered list.
    pub fn label(self) -> &'static str {
        match self {
            Self::NotAFit => "Not a fit for our offering",
            Self::NoCapacity => "No capacity right now",
            Self::OutsideRegion => "Outside our region",
            Self::BudgetTooSmall => "Budget too small",
            Self::NotReachable => "Customer not reachable",
            Self::Duplicate => "Duplicate of another lead",
            Self::Other => "Other",
        }
    }

    pub fn label_fr(self) -> &'static str {
        match self {
            Self::NotAFit => "Ne correspond pas à notre offre",
            Self::NoCapacity => "Pas de disponibilité actuellement",
            Self::OutsideRegion => "Hors de notre région",
            Self::BudgetTooSmall => "Budget trop faible",
            Self::NotReachable => "Client injoignable",
            Self::Duplicate => "Doublon d'une autre demande",
            Self::Other => "Autre",
        }
    }

    /// 1-based position in the list, as shown in notifications.
    pub fn number(self) -> usize {
        Self::ALL
            .iter()
            .position(|r| *r == self)
            .map_or(0, |i| i + 1)
    }

    pub fn from_number(n: usize) -> Option<Self> {
        n.checked_sub(1).and_then(|i| Self::ALL.get(i)).copied()
    }
}

/// An amount of money in a currency: `25,000.00 EUR`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Money {
    pub amount: Decimal,
    /// ISO 4217 code, upper case.
    pub currency: String,
}

impl fmt::Display for Money {
    /// The locale-neutral form for logs and the command line: `25,000.00 EUR`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let amount = super::Locale::En.decimal(self.amount, 2);
        write!(f, "{amount} {}", self.currency)
    }
}

/// The person (and company) who asked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Customer {
    pub name: Option<String>,
    pub email: Option<String>,
    pub company: Option<String>,
    pub phone: Option<String>,
}

/// What else is known about a lead's request: where the customer is and how big their
/// company is (as they said it), the referrer's note, and whether mail to the customer
/// bounces. Every field stays empty unless somebody said it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LeadContext {
    /// A country, spelled as profiles spell regions.
    pub region: Option<String>,
    pub city: Option<String>,
    /// An employee count or a range: see [`crate::domain::company_size`].
    pub company_size: Option<String>,
    /// A staff referrer's own words about the customer.
    pub referrer_note: Option<String>,
    /// Why mail to the customer's address bounced; contacts should use another way.
    pub customer_email_failure: Option<String>,
}

/// What the partner records about the deal when accepting, and edits later.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Deal {
    pub name: Option<String>,
    pub value: Option<Money>,
    pub timeframe: Option<String>,
    pub notes: Option<String>,
    pub crm_id: Option<String>,
    pub campaign_id: Option<String>,
}

/// A person on the customer's side added to the lead by the partner.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LeadContact {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decline {
    pub reason: DeclineReason,
    pub notes: Option<String>,
}

spelled_enum!(
    /// Who passed the lead on: a staff member (qualified leads) or another partner's contact.
    ReferrerKind {
        Staff => "staff",
        Partner => "partner",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Referrer {
    pub kind: ReferrerKind,
    pub email: String,
    pub name: Option<String>,
}

spelled_enum!(
    /// Where a won deal's registration stands with the reviewers.
    RegistrationStatus {
        Submitted => "submitted",
        InfoRequested => "info_requested",
        Approved => "approved",
        Rejected => "rejected",
    }
);

/// Deal registration, asked for after WON on eligible solutions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registration {
    pub status: RegistrationStatus,
    /// Field lines as the contact wrote them (`Solution: …`), in order.
    pub fields: Vec<(String, String)>,
    /// The reviewer's rejection reason or question, when there is one.
    pub review_note: Option<String>,
}

/// A lead as the domain sees it: enough to decide any transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lead {
    pub id: LeadId,
    pub kind: LeadKind,
    pub state: LeadState,
    pub partner_id: String,
    pub profile_id: String,
    pub customer: Customer,
    pub need: String,
    pub context: LeadContext,
    /// End of the customer's "contact me directly" window; `None` if they did not ask.
    pub hot_until: Option<DateTime<Utc>>,
    pub favorite: bool,
    pub deal: Deal,
    pub decline: Option<Decline>,
    pub contacts: Vec<LeadContact>,
    pub referrer: Option<Referrer>,
    pub registration: Option<Registration>,
    pub received_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Bumped by every change; the store refuses a write based on a stale version.
    pub version: i32,
}

impl Lead {
    pub fn is_hot(&self, now: DateTime<Utc>) -> bool {
        self.hot_until.is_some_and(|until| now < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros_free::dec;

    /// `rust_decimal` without its macro crate: parse from a literal string.
    mod rust_decimal_macros_free {
        pub fn dec(text: &str) -> rust_decimal::Decimal {
            text.parse().expect("test literal")
        }
    }

    #[test]
    fn lead_ids_read_with_or_without_prefix() {
        assert_eq!(LeadId::parse("1042"), Some(LeadId(1042)));
        assert_eq!(LeadId::parse("L-1042"), Some(LeadId(1042)));
        assert_eq!(LeadId::parse(" l-7 "), Some(LeadId(7)));
        assert_eq!(LeadId::parse("L-"), None);
        assert_eq!(LeadId::parse("-3"), None);
        assert_eq!(LeadId::parse("abc"), None);
        assert_eq!(LeadId(1042).tag(), "[L-1042]");
    }

    #[test]
    fn states_spell_the_same_everywhere() {
        for state in LeadState::ALL {
            assert_eq!(state.as_str().parse::<LeadState>(), Ok(*state));
        }
        let error = "sleeping".parse::<LeadState>().unwrap_err();
        assert!(error.contains("received, accepted, declined, expired, won, lost"));
    }

    #[test]
    fn only_received_and_accepted_are_open() {
        let open: Vec<_> = LeadState::ALL.iter().filter(|s| s.is_open()).collect();
        assert_eq!(open, [&LeadState::Received, &LeadState::Accepted]);
    }

    #[test]
    fn members_cannot_act() {
        assert!(ContactRole::PartnerAdmin.may_act());
        assert!(ContactRole::ReferralsAdmin.may_act());
        assert!(!ContactRole::Member.may_act());
    }

    #[test]
    fn decline_reasons_are_numbered_from_one() {
        assert_eq!(DeclineReason::from_number(1), Some(DeclineReason::NotAFit));
        assert_eq!(DeclineReason::from_number(0), None);
        assert_eq!(DeclineReason::from_number(99), None);
        for reason in DeclineReason::ALL {
            assert_eq!(DeclineReason::from_number(reason.number()), Some(*reason));
        }
    }

    #[test]
    fn money_prints_grouped_with_two_decimals() {
        let money = |amount: &str| Money {
            amount: dec(amount),
            currency: "EUR".into(),
        };
        assert_eq!(money("25000").to_string(), "25,000.00 EUR");
        assert_eq!(money("40000.5").to_string(), "40,000.50 EUR");
        assert_eq!(money("999").to_string(), "999.00 EUR");
        assert_eq!(money("1234567.891").to_string(), "1,234,567.89 EUR");
        assert_eq!(money("-1500").to_string(), "-1,500.00 EUR");
    }
}
