//! The language a person reads their mail in, and how that language writes numbers, money,
//! dates and punctuation. Every mail and the digest format values here, so a French reader
//! sees `12 500,00 €` and `2 déc. 2026 à 10:42 UTC` everywhere, never a mix.
//!
//! Two locales with fixed rules need no locale database: the whole of each convention fits
//! in this file and its tests, which is why this is not a dependency on ICU data.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use rust_decimal::Decimal;

use super::Money;

/// U+202F NARROW NO-BREAK SPACE: French digit groups, and before `;` `?` `!` `%`.
const NARROW_NBSP: char = '\u{202f}';
/// U+00A0 NO-BREAK SPACE: French space before `:` and between an amount and its currency.
const NBSP: char = '\u{a0}';

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    Fr,
}

impl Locale {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Self::En),
            "fr" => Some(Self::Fr),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fr => "fr",
        }
    }

    /// `€12,500.00` / `12 500,00 €`; currencies without a common symbol keep their code.
    pub fn money(self, money: &Money) -> String {
        let amount = self.decimal(money.amount, 2);
        let code = money.currency.as_str();
        match self {
            Self::En => {
                let (sign, digits) = split_sign(&amount);
                match code {
                    "EUR" => format!("{sign}€{digits}"),
                    "USD" => format!("{sign}${digits}"),
                    "GBP" => format!("{sign}£{digits}"),
                    _ => format!("{code} {amount}"),
                }
            }
            Self::Fr => {
                let symbol = match code {
                    "EUR" => "€",
                    "USD" => "$\u{a0}US",
                    "GBP" => "£",
                    other => other,
                };
                format!("{amount}{NBSP}{symbol}")
            }
        }
    }

    /// A whole number with the locale's digit grouping: `12,500` / `12 500`.
    pub fn integer(self, value: i64) -> String {
        let digits = value.unsigned_abs().to_string();
        let sign = if value < 0 { "-" } else { "" };
        format!("{sign}{}", self.group(&digits))
    }

    /// A decimal rounded to `places`, grouped: `1,234.50` / `1 234,50`.
    pub fn decimal(self, value: Decimal, places: u32) -> String {
        let text = format!("{:.*}", places as usize, value.round_dp(places));
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        let (sign, digits) = split_sign(whole);
        let grouped = self.group(digits);
        let separator = match self {
            Self::En => ".",
            Self::Fr => ",",
        };
        if fraction.is_empty() {
            format!("{sign}{grouped}")
        } else {
            format!("{sign}{grouped}{separator}{fraction}")
        }
    }

    /// `part` of `whole` as a rounded whole percent: `71%` / `71 %`; none of nothing.
    pub fn percent(self, part: u64, whole: u64) -> Option<String> {
        if whole == 0 {
            return None;
        }
        let rounded = (part.saturating_mul(200) + whole) / whole.saturating_mul(2);
        Some(match self {
            Self::En => format!("{rounded}%"),
            Self::Fr => format!("{rounded}{NARROW_NBSP}%"),
        })
    }

    /// `2 Dec 2026` / `2 déc. 2026` (and `1er déc. 2026`).
    pub fn date(self, date: NaiveDate) -> String {
        let month = (date.month0()) as usize;
        let name = match self {
            Self::En => MONTHS_EN[month],
            Self::Fr => MONTHS_FR[month],
        };
        // French writes the first of the month as an ordinal: 1er déc.
        let day = match (self, date.day()) {
            (Self::Fr, 1) => "1er".to_owned(),
            (_, day) => day.to_string(),
        };
        format!("{day} {name} {}", date.year())
    }

    /// `2 Dec 2026, 10:42 UTC` / `2 déc. 2026 à 10:42 UTC`.
    pub fn date_time(self, at: DateTime<Utc>) -> String {
        let date = self.date(at.date_naive());
        let time = at.format("%H:%M");
        match self {
            Self::En => format!("{date}, {time} UTC"),
            Self::Fr => format!("{date} à {time} UTC"),
        }
    }

    /// The two largest non-zero units: `3 d 4 h`, `5 h 20 min` / `3 j 4 h`; under a minute
    /// reads as `0 min`.
    pub fn duration(self, span: TimeDelta) -> String {
        let minutes = span.num_minutes().max(0);
        let day = match self {
            Self::En => "d",
            Self::Fr => "j",
        };
        let units = [
            (minutes / (24 * 60), day),
            (minutes / 60 % 24, "h"),
            (minutes % 60, "min"),
        ];
        let shown: Vec<String> = units
            .iter()
            .skip_while(|(count, _)| *count == 0)
            .take(2)
            .filter(|(count, _)| *count > 0)
            .map(|(count, unit)| format!("{count}{NBSP}{unit}"))
            .collect();
        if shown.is_empty() {
            format!("0{NBSP}min")
        } else {
            shown.join(" ")
        }
    }

    /// Applies the locale's punctuation spacing to a template's own text — never to what a
    /// person wrote. In French, a plain space before `:` becomes a no-break space and one
    /// before `;` `?` `!` a narrow no-break space, so templates write `"Besoin :"`. English
    /// text comes back as it is.
    pub fn typeset(self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 8);
        self.typeset_into(text, &mut out);
        out
    }

    /// [`Locale::typeset`], appended to `out`. The spaces are found bytewise: a space and
    /// the punctuation after it are ASCII, never part of another character in UTF-8.
    pub fn typeset_into(self, text: &str, out: &mut String) {
        match self {
            Self::En => out.push_str(text),
            Self::Fr => {
                let bytes = text.as_bytes();
                let mut copied = 0;
                for space in memchr::memchr_iter(b' ', bytes) {
                    let replacement = match bytes.get(space + 1) {
                        Some(b':') => NBSP,
                        Some(b';' | b'?' | b'!') => NARROW_NBSP,
                        _ => continue,
                    };
                    out.push_str(&text[copied..space]);
                    out.push(replacement);
                    copied = space + 1;
                }
                out.push_str(&text[copied..]);
            }
        }
    }

    /// Digit groups of three: `,` in English, U+202F in French.
    fn group(self, digits: &str) -> String {
        let separator = match self {
            Self::En => ',',
            Self::Fr => NARROW_NBSP,
        };
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 * 3);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(separator);
            }
            grouped.push(ch);
        }
        grouped
    }
}

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const MONTHS_FR: [&str; 12] = [
    "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
    "déc.",
];

fn split_sign(text: &str) -> (&str, &str) {
    text.strip_prefix('-')
        .map_or(("", text), |rest| ("-", rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::str::FromStr;

    fn money(amount: &str, currency: &str) -> Money {
        Money {
            amount: Decimal::from_str(amount).unwrap(),
            currency: currency.into(),
        }
    }

    #[test]
    fn money_in_each_locale() {
        let cases = [
            ("12500", "EUR", "€12,500.00", "12\u{202f}500,00\u{a0}€"),
            (
                "1200.5",
                "USD",
                "$1,200.50",
                "1\u{202f}200,50\u{a0}$\u{a0}US",
            ),
            ("3000", "CHF", "CHF 3,000.00", "3\u{202f}000,00\u{a0}CHF"),
            ("999", "GBP", "£999.00", "999,00\u{a0}£"),
            (
                "1234567.891",
                "EUR",
                "€1,234,567.89",
                "1\u{202f}234\u{202f}567,89\u{a0}€",
            ),
            ("-42", "EUR", "-€42.00", "-42,00\u{a0}€"),
        ];
        for (amount, currency, en, fr) in cases {
            let value = money(amount, currency);
            assert_eq!(Locale::En.money(&value), en, "{amount} {currency}");
            assert_eq!(Locale::Fr.money(&value), fr, "{amount} {currency}");
        }
    }

    #[test]
    fn integers_group_by_three() {
        assert_eq!(Locale::En.integer(0), "0");
        assert_eq!(Locale::En.integer(999), "999");
        assert_eq!(Locale::En.integer(12_500), "12,500");
        assert_eq!(Locale::Fr.integer(12_500), "12\u{202f}500");
        assert_eq!(Locale::Fr.integer(-1_000_000), "-1\u{202f}000\u{202f}000");
    }

    #[test]
    fn percent_rounds_and_refuses_an_empty_whole() {
        assert_eq!(Locale::En.percent(5, 7).as_deref(), Some("71%"));
        assert_eq!(Locale::Fr.percent(2, 7).as_deref(), Some("29\u{202f}%"));
        assert_eq!(Locale::En.percent(1, 2).as_deref(), Some("50%"));
        assert_eq!(Locale::En.percent(0, 3).as_deref(), Some("0%"));
        assert_eq!(Locale::En.percent(3, 3).as_deref(), Some("100%"));
        assert_eq!(Locale::En.percent(0, 0), None);
    }

    #[test]
    fn dates_and_times() {
        let at = Utc.with_ymd_and_hms(2026, 12, 2, 10, 42, 0).unwrap();
        assert_eq!(Locale::En.date(at.date_naive()), "2 Dec 2026");
        assert_eq!(Locale::Fr.date(at.date_naive()), "2 déc. 2026");
        assert_eq!(Locale::En.date_time(at), "2 Dec 2026, 10:42 UTC");
        assert_eq!(Locale::Fr.date_time(at), "2 déc. 2026 à 10:42 UTC");
        let august = NaiveDate::from_ymd_opt(2027, 8, 15).unwrap();
        assert_eq!(Locale::Fr.date(august), "15 août 2027");
        let first = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        assert_eq!(Locale::Fr.date(first), "1er nov. 2026");
        assert_eq!(Locale::En.date(first), "1 Nov 2026");
    }

    #[test]
    fn durations_show_the_two_largest_units() {
        let d = |minutes| TimeDelta::minutes(minutes);
        assert_eq!(
            Locale::En.duration(d(3 * 1440 + 4 * 60 + 5)),
            "3\u{a0}d 4\u{a0}h"
        );
        assert_eq!(
            Locale::Fr.duration(d(3 * 1440 + 4 * 60)),
            "3\u{a0}j 4\u{a0}h"
        );
        assert_eq!(Locale::En.duration(d(5 * 60 + 20)), "5\u{a0}h 20\u{a0}min");
        assert_eq!(Locale::En.duration(d(12)), "12\u{a0}min");
        assert_eq!(Locale::En.duration(d(2 * 1440 + 7)), "2\u{a0}d");
        assert_eq!(Locale::Fr.duration(TimeDelta::seconds(20)), "0\u{a0}min");
    }

    #[test]
    fn french_typography_spaces_punctuation_in_template_text() {
        assert_eq!(
            Locale::Fr.typeset("Besoin : migration ; prêt ? Oui !"),
            "Besoin\u{a0}: migration\u{202f}; prêt\u{202f}? Oui\u{202f}!"
        );
        // Times and links have no space before the colon and are left alone.
        assert_eq!(
            Locale::Fr.typeset("à 10:42, https://x.test"),
            "à 10:42, https://x.test"
        );
        assert_eq!(Locale::En.typeset("Need : x"), "Need : x");
    }
}
