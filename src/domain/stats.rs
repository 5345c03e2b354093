//! How a profile answers its leads, in the definitions an admin can trust: the same numbers
//! in the digest, in `leadbot partner stats` and in routing (README, "Statistics").
//!
//! Every figure counts the leads *received* in a window (the last [`STATS_WINDOW`]), so an
//! expired lead or one nobody has answered yet weighs as much as an answered one: a rate
//! that hides expiries is not a rate. `store::stats` fills [`ProfileStats`] with one SQL
//! aggregate; everything derived from it is computed here.

use chrono::TimeDelta;
use serde::Serialize;

/// The window every statistic covers: leads received in the last 30 days.
pub const STATS_WINDOW: TimeDelta = TimeDelta::days(30);

/// One profile's record over the leads it received in a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProfileStats {
    pub profile_id: String,
    pub partner_id: String,
    /// Leads received in the window.
    pub leads: i64,
    /// Customer inquiries from the public.
    pub marketplace: i64,
    /// Marketing or sales qualified leads, forwarded by staff.
    pub qualified: i64,
    /// Accepted (and still so, or since won or lost).
    pub accepted: i64,
    pub declined: i64,
    /// Expired without an answer.
    pub expired: i64,
    pub won: i64,
    pub lost: i64,
    /// Still waiting for ACCEPT or DECLINE, not expired yet.
    pub waiting: i64,
    /// Leads whose answer is due: answered, or unanswered and older than the response target.
    /// A lead younger than the target that nobody answered yet is not late, and not counted.
    pub response_due: i64,
    /// Of those, answered within the response target.
    pub answered_in_time: i64,
    /// Median time to the first response over the `response_due` leads, a still-unanswered
    /// (or expired) lead counting the time it waited; `None` without any such lead.
    #[serde(serialize_with = "as_seconds")]
    pub median_response: Option<TimeDelta>,
}

/// `part of whole`, kept as counts so that each reader formats it (`3 of 7`, `43%`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Fraction {
    pub part: u64,
    pub whole: u64,
}

impl Fraction {
    fn of(part: i64, whole: i64) -> Option<Self> {
        (whole > 0).then(|| Self {
            part: part.max(0) as u64,
            whole: whole as u64,
        })
    }

    pub fn rate(self) -> f64 {
        self.part as f64 / self.whole as f64
    }
}

impl ProfileStats {
    /// Leads the profile decided (accepted or declined) or let expire.
    pub fn decided_or_expired(&self) -> i64 {
        self.accepted + self.declined + self.expired
    }

    /// Accepted / (accepted + declined + expired); `None` before any of them.
    pub fn acceptance(&self) -> Option<Fraction> {
        Fraction::of(self.accepted, self.decided_or_expired())
    }

    /// Answered within the response target / answer due; `None` while no answer is due.
    pub fn on_time(&self) -> Option<Fraction> {
        Fraction::of(self.answered_in_time, self.response_due)
    }

    /// Won / closed after accepting (won or lost); `None` before any such close.
    pub fn wins(&self) -> Option<Fraction> {
        Fraction::of(self.won, self.won + self.lost)
    }
}

fn as_seconds<S: serde::Serializer>(value: &Option<TimeDelta>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(delta) => s.serialize_some(&delta.num_seconds()),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The month the issue describes: 7 leads, 2 accepted within a day, 5 expired.
    fn mostly_expired() -> ProfileStats {
        ProfileStats {
            leads: 7,
            accepted: 2,
            expired: 5,
            response_due: 7,
            answered_in_time: 2,
            ..ProfileStats::default()
        }
    }

    #[test]
    fn expiries_count_against_acceptance_and_response() {
        let stats = mostly_expired();
        assert_eq!(stats.acceptance(), Some(Fraction { part: 2, whole: 7 }));
        assert_eq!(stats.on_time(), Some(Fraction { part: 2, whole: 7 }));
        assert_eq!(stats.wins(), None);
    }

    #[test]
    fn rates_need_a_denominator() {
        let stats = ProfileStats {
            accepted: 3,
            declined: 1,
            won: 1,
            lost: 1,
            ..ProfileStats::default()
        };
        assert_eq!(stats.acceptance().map(Fraction::rate), Some(0.75));
        assert_eq!(stats.wins().map(Fraction::rate), Some(0.5));
        assert_eq!(ProfileStats::default().acceptance(), None);
        assert_eq!(ProfileStats::default().on_time(), None);
    }
}
