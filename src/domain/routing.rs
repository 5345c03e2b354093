//! Sharing leads among the profiles that match a request equally well: responsive profiles
//! get more, nobody gets none. A profile's weight comes from its [`ProfileStats`] over the
//! last 30 days, so a profile that lets leads expire gets fewer — never fewer than the floor
//! share — and wins its share back as it answers again.

use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::stats::{Fraction, ProfileStats};

/// Each competing profile's least share of leads (or an equal share, among more than five).
pub const FLOOR_SHARE: f64 = 0.2;
/// What an unknown rate counts as: a new profile is neither favoured nor starved.
const UNKNOWN_RATE: f64 = 0.5;

/// A profile's routing weight, 0..=1, and what it is made of.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Weight {
    /// The mean of the two rates below, an unknown one counting as one half.
    pub value: f64,
    /// Answered within the response target, of the leads whose answer is due.
    pub on_time: Option<Fraction>,
    /// Accepted, of the leads decided or expired.
    pub acceptance: Option<Fraction>,
}

impl Weight {
    pub fn of(stats: Option<&ProfileStats>) -> Self {
        let on_time = stats.and_then(ProfileStats::on_time);
        let acceptance = stats.and_then(ProfileStats::acceptance);
        let rate = |f: Option<Fraction>| f.map_or(UNKNOWN_RATE, Fraction::rate);
        Self {
            value: (rate(on_time) + rate(acceptance)) / 2.0,
            on_time,
            acceptance,
        }
    }
}

/// Each profile's share of leads, in the order of `weights`: the floor share each, the rest
/// in proportion to the weights (equally when all are zero). The shares sum to 1.
pub fn shares(weights: &[f64]) -> Vec<f64> {
    let count = weights.len();
    if count == 0 {
        return Vec::new();
    }
    let floor = FLOOR_SHARE.min(1.0 / count as f64);
    let rest = 1.0 - floor * count as f64;
    let total: f64 = weights.iter().map(|w| w.max(0.0)).sum();
    weights
        .iter()
        .map(|w| match total > 0.0 {
            true => floor + rest * w.max(0.0) / total,
            false => 1.0 / count as f64,
        })
        .collect()
}

/// The index of the profile a lead goes to: a draw over [`shares`], seeded by `seed` (the
/// lead's source message), so the same lead always goes the same way.
pub fn choose(weights: &[f64], seed: u64) -> Option<usize> {
    let shares = shares(weights);
    let draw: f64 = rand::rngs::StdRng::seed_from_u64(seed).r#gen();
    let mut cumulative = 0.0;
    for (index, share) in shares.iter().enumerate() {
        cumulative += share;
        if draw < cumulative {
            return Some(index);
        }
    }
    // Rounding left the draw just above the sum: the last profile.
    shares.len().checked_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(answered_in_time: i64, due: i64, accepted: i64, expired: i64) -> ProfileStats {
        ProfileStats {
            response_due: due,
            answered_in_time,
            accepted,
            expired,
            ..ProfileStats::default()
        }
    }

    #[test]
    fn a_weight_is_the_mean_of_answering_in_time_and_accepting() {
        let mostly_expired = Weight::of(Some(&stats(2, 7, 2, 5)));
        assert!((mostly_expired.value - 2.0 / 7.0).abs() < 1e-9);
        assert_eq!(Weight::of(None).value, 0.5);
        assert_eq!(Weight::of(Some(&stats(3, 3, 3, 0))).value, 1.0);
    }

    #[test]
    fn nobody_falls_below_the_floor_share() {
        let two = shares(&[1.0, 0.0]);
        assert!((two[0] - 0.8).abs() < 1e-9 && (two[1] - 0.2).abs() < 1e-9);
        assert_eq!(shares(&[0.0, 0.0]), [0.5, 0.5]);
        let six = shares(&[1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert!(six.iter().all(|s| (s - 1.0 / 6.0).abs() < 1e-9), "{six:?}");
        assert!((shares(&[0.3, 0.6, 0.1]).iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_draw_follows_the_shares_and_repeats_for_a_seed() {
        let weights = [1.0, 0.0];
        let picks: Vec<usize> = (0..10_000)
            .filter_map(|seed| choose(&weights, seed))
            .collect();
        let second = picks.iter().filter(|i| **i == 1).count() as f64 / picks.len() as f64;
        assert!(
            (second - 0.2).abs() < 0.02,
            "second profile's share {second}"
        );
        assert_eq!(choose(&weights, 42), choose(&weights, 42));
        assert_eq!(choose(&[], 1), None);
    }
}
