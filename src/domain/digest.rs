//! What a partner admin's daily digest says, decided from the partner's leads and profile
//! statistics at `now`. Pure: the workflow loads the rows, the templates write the words.

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;

use super::lead::{LeadId, LeadKind, LeadState, Money};
use super::stats::{ProfileStats, median};

/// Leads expiring within this span are "at risk".
pub const EXPIRING_WITHIN: TimeDelta = TimeDelta::hours(48);
/// The window the statistics, the pipeline chart and the median cover.
pub const STATS_WINDOW: TimeDelta = TimeDelta::days(30);
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
    pub closed_at: Option<DateTime<Utc>>,
}

/// How long the first response took, in the buckets the chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseBucket {
    UnderAnHour,
    UnderFourHours,
    UnderADay,
    UnderThreeDays,
    Longer,
}

impl ResponseBucket {
    pub const ALL: [Self; 5] = [
        Self::UnderAnHour,
        Self::UnderFourHours,
        Self::UnderADay,
        Self::UnderThreeDays,
        Self::Longer,
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

    pub fn label(self, fr: bool) -> &'static str {
        match (self, fr) {
            (Self::UnderAnHour, _) => "< 1h",
            (Self::UnderFourHours, _) => "1–4h",
            (Self::UnderADay, false) => "4–24h",
            (Self::UnderADay, true) => "4–24 h",
            (Self::UnderThreeDays, false) => "1–3 days",
            (Self::UnderThreeDays, true) => "1–3 jours",
            (Self::Longer, false) => "> 3 days",
            (Self::Longer, true) => "> 3 jours",
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
    /// Received in the period, oldest first.
    pub new_leads: Vec<DigestLead>,
    /// Still waiting for ACCEPT or DECLINE, oldest first (their age is `now - received_at`).
    pub awaiting: Vec<DigestLead>,
    /// Waiting, and the customer asked to be called while the window is still open.
    pub hot_unanswered: Vec<DigestLead>,
    /// Waiting, and expiring within [`EXPIRING_WITHIN`], soonest first.
    pub expiring_soon: Vec<DigestLead>,
    /// Accepted deals' value, one sum per currency, by currency code.
    pub pipeline: Vec<Money>,
    /// Closed as won / lost in the period.
    pub won: Vec<DigestLead>,
    pub lost: Vec<DigestLead>,
    /// Over the leads received in [`STATS_WINDOW`] that were answered.
    pub median_first_response: Option<TimeDelta>,
    pub profiles: Vec<ProfileStats>,
    /// Leads received in [`STATS_WINDOW`], by state now (every state, zeros included).
    pub by_state: Vec<(LeadState, usize)>,
    /// First responses to the leads received in [`STATS_WINDOW`], by bucket.
    pub response_times: Vec<(ResponseBucket, usize)>,
}

impl Digest {
    /// `leads`: the partner's open leads and those received or closed since
    /// `min(period_start, now - STATS_WINDOW)`; any others are ignored.
    pub fn build(
        partner_id: &str,
        partner_name: &str,
        mut leads: Vec<DigestLead>,
        profiles: Vec<ProfileStats>,
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

        let mut expiring_soon = pick(&|l| waiting(l) && l.expires_at <= now + EXPIRING_WITHIN);
        expiring_soon.sort_by_key(|l| (l.expires_at, l.id));

        let mut pipeline: Vec<Money> = Vec::new();
        for value in leads
            .iter()
            .filter(|l| l.state == LeadState::Accepted)
            .filter_map(|l| l.deal_value.as_ref())
        {
            match pipeline.iter_mut().find(|m| m.currency == value.currency) {
                Some(sum) => sum.amount += value.amount,
                None => pipeline.push(Money {
                    amount: value.amount,
                    currency: value.currency.clone(),
                }),
            }
        }
        pipeline.retain(|m| m.amount > Decimal::ZERO);
        pipeline.sort_by(|a, b| a.currency.cmp(&b.currency));

        let recent: Vec<&DigestLead> = leads
            .iter()
            .filter(|l| l.received_at >= now - STATS_WINDOW && l.received_at < now)
            .collect();
        let mut response_delays: Vec<TimeDelta> = recent
            .iter()
            .filter_map(|l| l.first_response_at.map(|at| at - l.received_at))
            .collect();
        let response_times = ResponseBucket::ALL
            .iter()
            .map(|bucket| {
                let count = response_delays
                    .iter()
                    .filter(|d| ResponseBucket::of(**d) == *bucket)
                    .count();
                (*bucket, count)
            })
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
            new_leads: pick(&|l| in_period(Some(l.received_at))),
            awaiting: pick(&waiting),
            hot_unanswered: pick(&|l| waiting(l) && l.hot_until.is_some_and(|until| now < until)),
            expiring_soon,
            pipeline,
            won: pick(&|l| l.state == LeadState::Won && in_period(l.closed_at)),
            lost: pick(&|l| l.state == LeadState::Lost && in_period(l.closed_at)),
            median_first_response: median(&mut response_delays),
            profiles,
            by_state,
            response_times,
        }
    }
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
            closed_at: None,
        }
    }

    fn money(amount: i64, currency: &str) -> Option<Money> {
        Some(Money {
            amount: Decimal::from(amount),
            currency: currency.into(),
        })
    }

    #[test]
    fn each_section_takes_its_leads() {
        let period_start = now() - FIRST_PERIOD;
        let fresh = DigestLead {
            hot_until: Some(now() + TimeDelta::hours(60)),
            ..lead(1, LeadState::Received, 12)
        };
        let old = lead(2, LeadState::Received, 13 * 24); // expires in 24 h
        let accepted = |id, amount, currency| DigestLead {
            deal_value: money(amount, currency),
            first_response_at: Some(now() - TimeDelta::hours(40)),
            ..lead(id, LeadState::Accepted, 48)
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
        let digest = Digest::build(
            "contoso",
            "Contoso",
            vec![
                won,
                fresh,
                old,
                accepted(3, 1000, "EUR"),
                accepted(4, 500, "EUR"),
                accepted(5, 700, "USD"),
                lost_long_ago,
            ],
            Vec::new(),
            period_start,
            now(),
        );
        let ids = |leads: &[DigestLead]| leads.iter().map(|l| l.id.0).collect::<Vec<_>>();
        assert_eq!(ids(&digest.new_leads), [1]);
        assert_eq!(ids(&digest.awaiting), [2, 1]);
        assert_eq!(ids(&digest.hot_unanswered), [1]);
        assert_eq!(ids(&digest.expiring_soon), [2]);
        assert_eq!(ids(&digest.won), [6]);
        assert!(digest.lost.is_empty(), "lost before the period");
        let pipeline: Vec<String> = digest.pipeline.iter().map(ToString::to_string).collect();
        assert_eq!(pipeline, ["1,500.00 EUR", "700.00 USD"]);
        // Accepted leads answered after 8 h; the won one after 10 h.
        assert_eq!(digest.median_first_response, Some(TimeDelta::hours(8)));
        let by_state: Vec<usize> = digest.by_state.iter().map(|(_, n)| *n).collect();
        assert_eq!(by_state, [2, 3, 0, 0, 1, 1]);
        let buckets: Vec<usize> = digest.response_times.iter().map(|(_, n)| *n).collect();
        assert_eq!(buckets, [0, 0, 4, 0, 0]);
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
