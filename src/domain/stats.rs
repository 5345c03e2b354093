//! How a profile answers its leads: response time, acceptance and win rates, lead mix.
//! Filled by `store::stats` from leads and their events; read by digests and routing.

use chrono::TimeDelta;
use serde::Serialize;

/// One profile's record over a window of received leads.
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
    /// Leads the profile accepted or declined.
    pub answered: i64,
    pub accepted: i64,
    pub declined: i64,
    pub won: i64,
    pub lost: i64,
    pub expired: i64,
    /// Median of (first response − receipt) over the answered leads; `None` without any.
    #[serde(serialize_with = "as_seconds")]
    pub median_first_response: Option<TimeDelta>,
}

impl ProfileStats {
    /// Accepted / answered (accepted or declined); `None` before any answer.
    pub fn acceptance_rate(&self) -> Option<f64> {
        ratio(self.accepted, self.answered)
    }

    /// Won / closed after accepting (won or lost); `None` before any such close.
    pub fn win_rate(&self) -> Option<f64> {
        ratio(self.won, self.won + self.lost)
    }
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn as_seconds<S: serde::Serializer>(value: &Option<TimeDelta>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(delta) => s.serialize_some(&delta.num_seconds()),
        None => s.serialize_none(),
    }
}

/// The median of `durations` (the mean of the middle two for an even count).
pub fn median(durations: &mut [TimeDelta]) -> Option<TimeDelta> {
    if durations.is_empty() {
        return None;
    }
    durations.sort();
    let mid = durations.len() / 2;
    Some(if durations.len() % 2 == 1 {
        durations[mid]
    } else {
        (durations[mid - 1] + durations[mid]) / 2
    })
}

/// A short human duration: `45m`, `5h`, `2d 3h`.
pub fn short_duration(delta: TimeDelta) -> String {
    let minutes = delta.num_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{mins}m"),
        (0, h) if mins == 0 => format!("{h}h"),
        (0, h) => format!("{h}h {mins:02}m"),
        (d, 0) => format!("{d}d"),
        (d, h) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_need_a_denominator() {
        let stats = ProfileStats {
            answered: 4,
            accepted: 3,
            won: 1,
            lost: 1,
            ..ProfileStats::default()
        };
        assert_eq!(stats.acceptance_rate(), Some(0.75));
        assert_eq!(stats.win_rate(), Some(0.5));
        assert_eq!(ProfileStats::default().acceptance_rate(), None);
        assert_eq!(ProfileStats::default().win_rate(), None);
    }

    #[test]
    fn the_median_of_odd_and_even_counts() {
        let h = TimeDelta::hours;
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [h(5), h(1), h(3)]), Some(h(3)));
        assert_eq!(median(&mut [h(4), h(1), h(2), h(10)]), Some(h(3)));
    }

    #[test]
    fn durations_read_short() {
        assert_eq!(short_duration(TimeDelta::minutes(45)), "45m");
        assert_eq!(short_duration(TimeDelta::hours(5)), "5h");
        assert_eq!(short_duration(TimeDelta::minutes(90)), "1h 30m");
        assert_eq!(short_duration(TimeDelta::hours(51)), "2d 3h");
        assert_eq!(short_duration(TimeDelta::days(3)), "3d");
    }
}
