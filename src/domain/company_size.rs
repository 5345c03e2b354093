//! A customer's company size as leadbot stores it, and how it meets a profile's preferences.
//!
//! Stored as text in one of two forms: an employee count when the customer gave a number
//! ("about 400 staff" → `400`), or a range as a form offers it (`50-249`, `1000+`).
//! Profiles list ranges (`company_sizes = ["1-49", "50-249"]`); a count fits a range that
//! holds it, a range fits a range that contains it.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompanySize {
    Employees(u32),
    /// `max: None` is open-ended (`1000+`).
    Range {
        min: u32,
        max: Option<u32>,
    },
}

impl CompanySize {
    /// Reads `400`, `2,000`, `2 000`, `50-249`, `50–249`, `1000+`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Some(min) = text.strip_suffix('+') {
            return Some(Self::Range {
                min: number(min)?,
                max: None,
            });
        }
        if let Some((min, max)) = text.split_once(['-', '–']) {
            let (min, max) = (number(min)?, number(max)?);
            return (min <= max).then_some(Self::Range {
                min,
                max: Some(max),
            });
        }
        number(text).filter(|n| *n > 0).map(Self::Employees)
    }

    /// Whether this size falls within a profile's range.
    pub fn fits(self, range: Self) -> bool {
        let Self::Range {
            min: low,
            max: high,
        } = range
        else {
            return self == range;
        };
        let below_high = |n: u32| high.is_none_or(|h| n <= h);
        match self {
            Self::Employees(n) => n >= low && below_high(n),
            Self::Range { min, max } => min >= low && max.map_or(high.is_none(), below_high),
        }
    }

    /// In the reader's language: "400 employees", "50–249 salariés", "1,000+ employees".
    pub fn label(self, fr: bool) -> String {
        let n = |v: u32| group_thousands(v, fr);
        let unit = if fr { "salariés" } else { "employees" };
        match self {
            Self::Employees(v) => format!("{} {unit}", n(v)),
            Self::Range {
                min,
                max: Some(max),
            } => format!("{}–{} {unit}", n(min), n(max)),
            Self::Range { min, max: None } => format!("{}+ {unit}", n(min)),
        }
    }
}

/// The stored form.
impl fmt::Display for CompanySize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Employees(n) => write!(f, "{n}"),
            Self::Range {
                min,
                max: Some(max),
            } => write!(f, "{min}-{max}"),
            Self::Range { min, max: None } => write!(f, "{min}+"),
        }
    }
}

/// Whether a stored size fits one of a profile's ranges; unreadable values compare as text.
pub fn fits_any(size: &str, ranges: &[String]) -> bool {
    match CompanySize::parse(size) {
        Some(size) => ranges
            .iter()
            .filter_map(|r| CompanySize::parse(r))
            .any(|range| size.fits(range)),
        None => ranges.iter().any(|r| r.trim() == size.trim()),
    }
}

/// Digits with `,`, `.`, spaces or narrow spaces as thousands separators.
fn number(text: &str) -> Option<u32> {
    let digits: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, ',' | '.' | ' ' | '\u{a0}' | '\u{202f}'))
        .collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `2,000` in English, `2 000` (narrow no-break space) in French.
fn group_thousands(value: u32, fr: bool) -> String {
    let digits = value.to_string();
    let separator = if fr { '\u{202f}' } else { ',' };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_ranges_read_and_print_back() {
        assert_eq!(CompanySize::parse("400"), Some(CompanySize::Employees(400)));
        assert_eq!(
            CompanySize::parse("2 000"),
            Some(CompanySize::Employees(2000))
        );
        assert_eq!(
            CompanySize::parse("50–249").map(|s| s.to_string()),
            Some("50-249".into())
        );
        assert_eq!(
            CompanySize::parse("1000+").map(|s| s.to_string()),
            Some("1000+".into())
        );
        assert_eq!(CompanySize::parse("big"), None);
        assert_eq!(CompanySize::parse("0"), None);
        assert_eq!(CompanySize::parse("300-100"), None);
    }

    #[test]
    fn a_count_fits_the_range_that_holds_it() {
        let ranges = ["1-49".to_string(), "50-249".into(), "250-999".into()];
        assert!(fits_any("400", &ranges));
        assert!(fits_any("120", &ranges));
        assert!(!fits_any("2000", &ranges), "2,000 is not 1–999");
        assert!(fits_any("2000", &["1000+".to_string()]));
        assert!(fits_any("50-249", &ranges));
        assert!(!fits_any("50-500", &ranges));
        assert!(!fits_any("1000+", &ranges));
        assert!(fits_any("Enterprise", &["Enterprise".to_string()]));
    }

    #[test]
    fn labels_follow_the_reader() {
        assert_eq!(CompanySize::Employees(2000).label(false), "2,000 employees");
        assert_eq!(
            CompanySize::Employees(2000).label(true),
            "2\u{202f}000 salariés"
        );
        assert_eq!(
            CompanySize::Range {
                min: 50,
                max: Some(249)
            }
            .label(true),
            "50–249 salariés"
        );
    }
}
