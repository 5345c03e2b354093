//! What a partner admin's daily digest says, decided from the partner's leads and profile
//! statistics at `now`. Pure: the workflow loads the rows, the templates write the words.

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;

use super::lead::{LeadId, LeadKind, LeadState, Money};
use super::stats::ProfileStats;
pub use super::stats::STATS_WINDOW;

/// Leads expiring within this span are "at risk".
pub const EXPIRING_WITHIN: TimeDelta = TimeDelta::hours(48);
/// The period of a first digest (no earlier one to count from).
pub const FIRST_PERIOD: TimeDelta = TimeDelta::hours(24);

/// A lead as the digest needs it: no need text, no deal details beyond its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestLead {
    pub id: LeadId,
    pub kind: LeadKind,
    pub state: LeadState,
    pub profile_id: String,
    /// Name and company, or whatever is known of the customer.
    pub customer: String,
    pub hot_until: Option<DateTime<Utc>>,
    pub deal_value: Option<Money>,
    pub received_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// How long the first response took, in the buckets the chart shows; leads whose answer is
/// overdue and still missing (or that expired) are a bucket of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseBucket {
    UnderAnHour,
    UnderFourHours,
    UnderADay,
    UnderThreeDays,
    Longer,
    Unanswered,
}

impl ResponseBucket {
    pub const ALL: [Self; 6] = [
        Self::UnderAnHour,
        Self::UnderFourHours,
        Self::UnderADay,
        Self::UnderThreeDays,
        Self::Longer,
        Self::Unanswered,
    ];

    pub fn of(delta: TimeDelta) -> Self {
        if delta < TimeDelta::hours(1) {
            Self::UnderAnHour
        } else if delta < TimeDelta::hours(4) {
            Self::UnderFourHours
        } else if delta < TimeDelta::days(1) {
            Self::UnderADay
        } else if delta < TimeDelta::days(3) {
            Self::UnderThreeDays
        } else {
            Self::Longer
        }
    }
}

/// One partner's digest at `now`, covering `period_start..now`.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub partner_id: String,
    pub partner_name: String,
    pub period_start: DateTime<Utc>,
    pub now: DateTime<Utc>,
    /// The response target the statistics use (configuration).
    pub response_target: TimeDelta,
    // What needs action, most urgent first.
    /// Waiting, and the customer asked to be called while the window is still open.
    pub hot_unanswered: Vec<DigestLead>,
    /// Waiting, and expiring within [`EXPIRING_WITHIN`], soonest first.
    pub expiring_soon: Vec<DigestLead>,
    /// Still waiting for ACCEPT or DECLINE, oldest first (their age is `now - received_at`).
    pub awaiting: Vec<DigestLead>,
    // What happened in the period.
    /// Received in the period, oldest first.
    pub new_leads: Vec<DigestLead>,
    pub accepted: Vec<DigestLead>,
    pub declined: Vec<DigestLead>,
    /// Expired unanswered in the period.
    pub expired: Vec<DigestLead>,
    pub won: Vec<DigestLead>,
    pub lost: Vec<DigestLead>,
    /// Accepted deals' value, one sum per currency, by currency code.
    pub pipeline: Vec<Money>,
    /// Each profile's record over [`STATS_WINDOW`] (see [`crate::domain::stats`]).
    pub profiles: Vec<ProfileStats>,
    /// All profiles together.
    pub total: ProfileStats,
    /// Leads received in [`STATS_WINDOW`], by state now (every state, zeros included).
    pub by_state: Vec<(LeadState, usize)>,
    /// Leads received in [`STATS_WINDOW`] whose answer is due, by first response time.
    pub response_times: Vec<(ResponseBucket, usize)>,
}

impl Digest {
    /// `leads`: the partner's open leads and those received or closed since
    /// `min(period_start, now - STATS_WINDOW)`; any others are ignored. `profiles`: the
    /// partner's profile statistics over [`STATS_WINDOW`] at `now`.
    pub fn build(
        partner_id: &str,
        partner_name: &str,
        mut leads: Vec<DigestLead>,
        profiles: Vec<ProfileStats>,
        response_target: TimeDelta,
        period_start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        leads.sort_by_key(|l| (l.received_at, l.id));
        let in_period =
            |at: Option<DateTime<Utc>>| at.is_some_and(|at| period_start <= at && at < now);
        let pick = |keep: &dyn Fn(&DigestLead) -> bool| -> Vec<DigestLead> {
            leads.iter().filter(|l| keep(l)).cloned().collect()
        };
        let waiting = |l: &DigestLead| l.state == LeadState::Received && now < l.expires_at;
        let closed_as =
            |state: LeadState| move |l: &DigestLead| l.state == state && in_period(l.closed_at);

        let mut expiring_soon = pick(&|l| waiting(l) && l.expires_at <= now + EXPIRING_WITHIN);
        expiring_soon.sort_by_key(|l| (l.expires_at, l.id));

        let recent: Vec<&DigestLead> = leads
            .iter()
            .filter(|l| l.received_at >= now - STATS_WINDOW && l.received_at < now)
            .collect();
        let bucket = |l: &DigestLead| match l.first_response_at {
            Some(at) => Some(ResponseBucket::of(at - l.received_at)),
            None if now - l.received_at > response_target => Some(ResponseBucket::Unanswered),
            None => None,
        };
        let response_times = ResponseBucket::ALL
            .iter()
            .map(|b| (*b, recent.iter().filter(|l| bucket(l) == Some(*b)).count()))
            .collect();
        let by_state = LeadState::ALL
            .iter()
            .map(|state| (*state, recent.iter().filter(|l| l.state == *state).count()))
            .collect();

        Self {
            partner_id: partner_id.into(),
            partner_name: partner_name.into(),
            period_start,
            now,
            response_target,
            hot_unanswered: pick(&|l| waiting(l) && l.hot_until.is_some_and(|until| now < until)),
            expiring_soon,
            awaiting: pick(&waiting),
            new_leads: pick(&|l| in_period(Some(l.received_at))),
            accepted: pick(&|l| in_period(l.accepted_at)),
            declined: pick(&closed_as(LeadState::Declined)),
            expired: pick(&closed_as(LeadState::Expired)),
            won: pick(&closed_as(LeadState::Won)),
            lost: pick(&closed_as(LeadState::Lost)),
            pipeline: pipeline(&leads),
            total: total(&profiles),
            profiles,
            by_state,
            response_times,
        }
    }
}

/// The accepted leads' deal values, one sum per currency, by currency code.
fn pipeline(leads: &[DigestLead]) -> Vec<Money> {
    let mut sums: Vec<Money> = Vec::new();
    for value in leads
        .iter()
        .filter(|l| l.state == LeadState::Accepted)
        .filter_map(|l| l.deal_value.as_ref())
    {
        match sums.iter_mut().find(|m| m.currency == value.currency) {
            Some(sum) => sum.amount += value.amount,
            None => sums.push(Money {
                amount: value.amount,
                currency: value.currency.clone(),
            }),
        }
    }
    sums.retain(|m| m.amount > Decimal::ZERO);
    sums.sort_by(|a, b| a.currency.cmp(&b.currency));
    sums
}

/// The profiles' counts added up; a median cannot be added, so the total has none.
fn total(profiles: &[ProfileStats]) -> ProfileStats {
    let mut sum = ProfileStats::default();
    for p in profiles {
        sum.leads += p.leads;
        sum.marketplace += p.marketplace;
        sum.qualified += p.qualified;
        sum.accepted += p.accepted;
        sum.declined += p.declined;
        sum.expired += p.expired;
        sum.won += p.won;
        sum.lost += p.lost;
        sum.waiting += p.waiting;
        sum.response_due += p.response_due;
        sum.answered_in_time += p.answered_in_time;
    }
    sum
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap()
    }

    fn lead(id: i64, state: LeadState, received_hours_ago: i64) -> DigestLead {
        let received_at = now() - TimeDelta::hours(received_hours_ago);
        DigestLead {
            id: LeadId(id),
            kind: LeadKind::CustomerInquiry,
            state,
            profile_id: "p".into(),
            customer: format!("customer {id}"),
            hot_until: None,
            deal_value: None,
            received_at,
            expires_at: received_at + TimeDelta::days(14),
            first_response_at: None,
            accepted_at: None,
            closed_at: None,
        }
    }

    fn money(amount: i64, currency: &str) -> Option<Money> {
        Some(Money {
            amount: Decimal::from(amount),
            currency: currency.into(),
        })
    }

    fn build(leads: Vec<DigestLead>) -> Digest {
        Digest::build(
            "contoso",
            "Contoso",
            leads,
            Vec::new(),
            TimeDelta::hours(24),
            now() - FIRST_PERIOD,
            now(),
        )
    }

    fn ids(leads: &[DigestLead]) -> Vec<i64> {
        leads.iter().map(|l| l.id.0).collect()
    }

    #[test]
    fn each_section_takes_its_leads() {
        let fresh = DigestLead {
            hot_until: Some(now() + TimeDelta::hours(60)),
            ..lead(1, LeadState::Received, 12)
        };
        let old = lead(2, LeadState::Received, 13 * 24); // expires in 24 h
        let accepted = |id, amount, currency| DigestLead {
            deal_value: money(amount, currency),
            first_response_at: Some(now() - TimeDelta::hours(40)),
            accepted_at: Some(now() - TimeDelta::hours(40)),
            ..lead(id, LeadState::Accepted, 48)
        };
        let accepted_today = DigestLead {
            accepted_at: Some(now() - TimeDelta::hours(1)),
            first_response_at: Some(now() - TimeDelta::hours(1)),
            ..lead(8, LeadState::Accepted, 20)
        };
        let won = DigestLead {
            closed_at: Some(now() - TimeDelta::hours(2)),
            first_response_at: Some(now() - TimeDelta::hours(90)),
            ..lead(6, LeadState::Won, 100)
        };
        let lost_long_ago = DigestLead {
            closed_at: Some(now() - TimeDelta::hours(30)),
            ..lead(7, LeadState::Lost, 200)
        };
        let expired_today = DigestLead {
            closed_at: Some(now() - TimeDelta::hours(3)),
            ..lead(9, LeadState::Expired, 14 * 24 + 3)
        };
        let declined_today = DigestLead {
            closed_at: Some(now() - TimeDelta::hours(5)),
            first_response_at: Some(now() - TimeDelta::hours(5)),
            ..lead(10, LeadState::Declined, 30)
        };
        let digest = build(vec![
            won,
            fresh,
            old,
            accepted(3, 1000, "EUR"),
            accepted(4, 500, "EUR"),
            accepted(5, 700, "USD"),
            lost_long_ago,
            accepted_today,
            expired_today,
            declined_today,
        ]);
        assert_eq!(ids(&digest.new_leads), [8, 1]);
        assert_eq!(ids(&digest.awaiting), [2, 1]);
        assert_eq!(ids(&digest.hot_unanswered), [1]);
        assert_eq!(ids(&digest.expiring_soon), [2]);
        assert_eq!(ids(&digest.accepted), [8]);
        assert_eq!(ids(&digest.declined), [10]);
        assert_eq!(ids(&digest.expired), [9]);
        assert_eq!(ids(&digest.won), [6]);
        assert!(digest.lost.is_empty(), "lost before the period");
        let pipeline: Vec<String> = digest.pipeline.iter().map(ToString::to_string).collect();
        assert_eq!(pipeline, ["1,500.00 EUR", "700.00 USD"]);
        let by_state: Vec<usize> = digest.by_state.iter().map(|(_, n)| *n).collect();
        assert_eq!(by_state, [2, 4, 1, 1, 1, 1]);
        // 8 h ×3, 19 h, 10 h (won), 25 h (declined); the expired, the lost and the
        // 13-day-old one unanswered; the 12-hour-old one is not late yet.
        let buckets: Vec<usize> = digest.response_times.iter().map(|(_, n)| *n).collect();
        assert_eq!(buckets, [0, 0, 5, 1, 0, 3]);
    }

    #[test]
    fn the_total_adds_the_profiles_up() {
        let profile = |accepted, expired| ProfileStats {
            leads: accepted + expired,
            accepted,
            expired,
            response_due: accepted + expired,
            answered_in_time: accepted,
            median_response: Some(TimeDelta::hours(1)),
            ..ProfileStats::default()
        };
        let total = total(&[profile(2, 5), profile(1, 0)]);
        assert_eq!((total.leads, total.accepted, total.expired), (8, 3, 5));
        assert_eq!(total.on_time().map(|f| (f.part, f.whole)), Some((3, 8)));
        assert_eq!(total.median_response, None);
    }

    #[test]
    fn response_buckets_have_closed_lower_bounds() {
        assert_eq!(
            ResponseBucket::of(TimeDelta::minutes(59)),
            ResponseBucket::UnderAnHour
        );
        assert_eq!(
            ResponseBucket::of(TimeDelta::hours(1)),
            ResponseBucket::UnderFourHours
        );
        assert_eq!(
            ResponseBucket::of(TimeDelta::hours(24)),
            ResponseBucket::UnderThreeDays
        );
        assert_eq!(
            ResponseBucket::of(TimeDelta::days(3)),
            ResponseBucket::Longer
        );
    }
}
