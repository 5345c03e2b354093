//! Where "now" comes from. Every use case takes `now` as an argument; only the daemon and
//! the command line ask a clock, so tests and `--now` can pin time.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// The machine's clock.
    #[default]
    System,
    /// Always the same instant (tests, `leadbot tick --now`).
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// A fixed clock when an instant is given, else the system clock.
    pub fn fixed_or_system(at: Option<DateTime<Utc>>) -> Self {
        at.map_or(Self::System, Self::Fixed)
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Self::System => Utc::now(),
            Self::Fixed(at) => *at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_stands_still() {
        let at = DateTime::parse_from_rfc3339("2026-11-20T08:00:00Z")
            .unwrap()
            .to_utc();
        let clock = Clock::fixed_or_system(Some(at));
        assert_eq!((clock.now(), clock.now()), (at, at));
        assert!(Clock::fixed_or_system(None).now() > at - chrono::TimeDelta::days(36500));
    }
}
