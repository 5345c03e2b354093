//! Reading an amount of money the way partners write it in a mail: `25,000 EUR`, `12 500 €`,
//! `$40k`, `1.250.000,00 EUR`, `€ 3,5k`, `1.5M USD`.
//!
//! The text is cut into pieces (a number, words, currency symbols, a minus sign) in one pass;
//! then the number's separators are interpreted, a `k`/`M` multiplier applied and the currency
//! chosen. Every refusal says what to write instead.

use std::str::FromStr;

use rust_decimal::Decimal;

use super::lead::Money;

/// The largest amount accepted: anything above is a typo, not a deal.
const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// Why a written amount was refused. The messages are meant to be shown to the person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("no amount was given: write a number and a currency, e.g. 25,000 EUR")]
    Empty,
    #[error("`{written}` has no number in it: write e.g. 25,000 EUR")]
    NoNumber { written: String },
    #[error(
        "`{written}` has more than one number: write a single amount (no range), e.g. 25,000 EUR"
    )]
    SeveralNumbers { written: String },
    #[error("`{written}` is negative: a deal value must be more than zero")]
    Negative { written: String },
    #[error("`{written}` is zero: a deal value must be more than zero")]
    Zero { written: String },
    #[error("`{written}` is more than 1,000,000,000,000: check the number of zeros")]
    TooLarge { written: String },
    #[error(
        "`{number}` in `{written}` is not a number we can read: group thousands by three, e.g. 1,250,000.00 or 1 250 000,00"
    )]
    BadNumber { written: String, number: String },
    #[error(
        "`{written}` contains `{found}`, which is not part of an amount: write e.g. 25,000 EUR"
    )]
    Unexpected { written: String, found: String },
    #[error(
        "`{word}` in `{written}` is not a currency: use a 3-letter code (EUR, USD, GBP, CHF) or €, $, £"
    )]
    UnknownCurrency { written: String, word: String },
    #[error("`{written}` names two currencies ({first} and {second}): keep one")]
    TwoCurrencies {
        written: String,
        first: String,
        second: String,
    },
    #[error("`{written}` has no currency: add one, e.g. {written} EUR")]
    NoCurrency { written: String },
}

impl MoneyError {
    /// The same refusal for a French reader (Display is the English text).
    pub fn message_fr(&self) -> String {
        match self {
            Self::Empty => {
                "aucun montant n'est donné : écrivez un nombre et une devise, par exemple \
                 25 000 EUR"
                    .into()
            }
            Self::NoNumber { written } => {
                format!("`{written}` ne contient pas de nombre : écrivez par exemple 25 000 EUR")
            }
            Self::SeveralNumbers { written } => format!(
                "`{written}` contient plusieurs nombres : écrivez un seul montant (pas de \
                 fourchette), par exemple 25 000 EUR"
            ),
            Self::Negative { written } => format!(
                "`{written}` est négatif : la valeur d'une affaire doit être supérieure à zéro"
            ),
            Self::Zero { written } => format!(
                "`{written}` vaut zéro : la valeur d'une affaire doit être supérieure à zéro"
            ),
            Self::TooLarge { written } => {
                format!("`{written}` dépasse 1 000 000 000 000 : vérifiez le nombre de zéros")
            }
            Self::BadNumber { written, number } => format!(
                "`{number}` dans `{written}` n'est pas un nombre lisible : groupez les milliers \
                 par trois, par exemple 1 250 000,00"
            ),
            Self::Unexpected { written, found } => format!(
                "`{written}` contient `{found}`, qui ne fait pas partie d'un montant : écrivez \
                 par exemple 25 000 EUR"
            ),
            Self::UnknownCurrency { written, word } => format!(
                "`{word}` dans `{written}` n'est pas une devise : utilisez un code à trois \
                 lettres (EUR, USD, GBP, CHF) ou €, $, £"
            ),
            Self::TwoCurrencies {
                written,
                first,
                second,
            } => format!("`{written}` nomme deux devises ({first} et {second}) : gardez-en une"),
            Self::NoCurrency { written } => {
                format!("`{written}` n'a pas de devise : ajoutez-en une, par exemple {written} EUR")
            }
        }
    }
}

impl Money {
    /// Reads an amount as written in a mail. `default_currency` is used only when the text
    /// names none; without it, a missing currency is an error asking to add one.
    pub fn parse(raw: &str, default_currency: Option<&str>) -> Result<Money, MoneyError> {
        // A sentence may end right after the amount: "25,000 EUR."
        let written = raw.trim().trim_end_matches('.').trim_end();
        if written.is_empty() {
            return Err(MoneyError::Empty);
        }
        let pieces = cut_into_pieces(written)?;
        let reading = Reading::from_pieces(written, &pieces)?;
        let amount = reading.amount(written)?;
        let currency = match reading.currency {
            Some(code) => code,
            None => default_currency
                .map(str::to_ascii_uppercase)
                .ok_or_else(|| MoneyError::NoCurrency {
                    written: written.to_string(),
                })?,
        };
        Ok(Money { amount, currency })
    }
}

/// One meaningful piece of a written amount.
#[derive(Debug, PartialEq)]
enum Piece<'a> {
    /// Digits with their separators as written: `1.250.000,00`, `12 500`.
    Number(&'a str),
    /// A run of letters: a currency code, a multiplier (`k`, `M`) or something unknown.
    Word(&'a str),
    /// €, $ or £, already translated to its code.
    Symbol(&'static str),
    Minus,
}

/// Characters that may separate groups of digits inside one number.
fn is_digit_separator(c: char) -> bool {
    matches!(
        c,
        ',' | '.' | ' ' | '\'' | '\u{a0}' | '\u{202f}' | '\u{2009}'
    )
}

fn symbol_code(c: char) -> Option<&'static str> {
    match c {
        '€' => Some("EUR"),
        '$' => Some("USD"),
        '£' => Some("GBP"),
        _ => None,
    }
}

/// Cuts the text in one left-to-right pass. A separator belongs to a number only when a
/// digit follows it, so "25 000 EUR" is one number and a word.
fn cut_into_pieces(written: &str) -> Result<Vec<Piece<'_>>, MoneyError> {
    let mut pieces = Vec::new();
    let mut chars = written.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c.is_ascii_digit() {
            let mut end = start + c.len_utf8();
            while let Some(&(i, next)) = chars.peek() {
                let continues = next.is_ascii_digit()
                    || (is_digit_separator(next)
                        && written[i + next.len_utf8()..]
                            .chars()
                            .next()
                            .is_some_and(|after| after.is_ascii_digit()));
                if !continues {
                    break;
                }
                end = i + next.len_utf8();
                chars.next();
            }
            pieces.push(Piece::Number(&written[start..end]));
        } else if c.is_alphabetic() {
            let mut end = start + c.len_utf8();
            while let Some(&(i, next)) = chars.peek() {
                if !next.is_alphabetic() {
                    break;
                }
                end = i + next.len_utf8();
                chars.next();
            }
            pieces.push(Piece::Word(&written[start..end]));
        } else if let Some(code) = symbol_code(c) {
            pieces.push(Piece::Symbol(code));
        } else if matches!(c, '-' | '\u{2212}') {
            pieces.push(Piece::Minus);
        } else if !c.is_whitespace() {
            return Err(MoneyError::Unexpected {
                written: written.to_string(),
                found: c.to_string(),
            });
        }
    }
    Ok(pieces)
}

/// What the pieces say, before the number is interpreted.
struct Reading<'a> {
    number: &'a str,
    multiplier: i64,
    negative: bool,
    currency: Option<String>,
}

impl<'a> Reading<'a> {
    fn from_pieces(written: &str, pieces: &[Piece<'a>]) -> Result<Self, MoneyError> {
        let owned = || written.to_string();
        let numbers: Vec<&str> = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Number(n) => Some(*n),
                _ => None,
            })
            .collect();
        let number = match numbers.as_slice() {
            [] => return Err(MoneyError::NoNumber { written: owned() }),
            [one] => *one,
            _ => return Err(MoneyError::SeveralNumbers { written: owned() }),
        };
        let negative = pieces.contains(&Piece::Minus);

        let mut multiplier = 1;
        let mut codes = Vec::new();
        let mut symbols = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Symbol(code) => symbols.push(code.to_string()),
                Piece::Word(word) => {
                    let (factor, code) = read_word(written, word)?;
                    if factor > 1 {
                        multiplier = factor;
                    }
                    codes.extend(code);
                }
                Piece::Number(_) | Piece::Minus => {}
            }
        }
        // A written code is more precise than a symbol ("$40 CAD" is Canadian dollars).
        let currency = match (single_currency(written, codes)?, symbols) {
            (Some(code), _) => Some(code),
            (None, symbols) => single_currency(written, symbols)?,
        };
        Ok(Self {
            number,
            multiplier,
            negative,
            currency,
        })
    }

    fn amount(&self, written: &str) -> Result<Decimal, MoneyError> {
        let owned = || written.to_string();
        if self.negative {
            return Err(MoneyError::Negative { written: owned() });
        }
        let plain = plain_number(self.number).ok_or_else(|| MoneyError::BadNumber {
            written: owned(),
            number: self.number.to_string(),
        })?;
        let too_large = || MoneyError::TooLarge { written: owned() };
        let amount = Decimal::from_str(&plain)
            .map_err(|_| too_large())?
            .checked_mul(Decimal::from(self.multiplier))
            .ok_or_else(too_large)?
            .normalize();
        if amount.is_zero() {
            Err(MoneyError::Zero { written: owned() })
        } else if amount > Decimal::from(MAX_AMOUNT) {
            Err(too_large())
        } else {
            Ok(amount)
        }
    }
}

/// A word is a multiplier (`k`, `M`, `Mio`), a currency (`EUR`, `euros`), or both at once
/// (`kEUR`). Returns the multiplier (1 if none) and the currency code, if any.
fn read_word(written: &str, word: &str) -> Result<(i64, Option<String>), MoneyError> {
    if let Some(factor) = multiplier(word) {
        return Ok((factor, None));
    }
    if let Some(code) = currency_word(word) {
        return Ok((1, Some(code)));
    }
    let mut chars = word.chars();
    let first = chars.next().map(|c| c.to_string()).unwrap_or_default();
    match (multiplier(&first), currency_word(chars.as_str())) {
        (Some(factor), Some(code)) => Ok((factor, Some(code))),
        _ => Err(MoneyError::UnknownCurrency {
            written: written.to_string(),
            word: word.to_string(),
        }),
    }
}

fn multiplier(word: &str) -> Option<i64> {
    match word {
        "k" | "K" => Some(1_000),
        "m" | "M" | "mio" | "Mio" | "MIO" => Some(1_000_000),
        _ => None,
    }
}

/// Any three ASCII letters are taken as an ISO 4217 code; `euro(s)` is common enough in
/// French mail to be worth reading.
fn currency_word(word: &str) -> Option<String> {
    let lower = word.to_lowercase();
    if lower == "euro" || lower == "euros" {
        return Some("EUR".into());
    }
    (word.len() == 3 && word.chars().all(|c| c.is_ascii_alphabetic()))
        .then(|| word.to_ascii_uppercase())
}

/// At most one distinct currency may be named in one group (codes, or symbols).
fn single_currency(written: &str, found: Vec<String>) -> Result<Option<String>, MoneyError> {
    let mut chosen: Option<String> = None;
    for code in found {
        match &chosen {
            Some(first) if *first != code => {
                return Err(MoneyError::TwoCurrencies {
                    written: written.to_string(),
                    first: first.clone(),
                    second: code,
                });
            }
            _ => chosen = Some(code),
        }
    }
    Ok(chosen)
}

/// Turns a written number into `1250000.00` form, or `None` when its separators make no
/// sense. Rules: spaces and apostrophes always group thousands; of `.` and `,`, when both
/// appear the last one is the decimal mark; when only one appears, it groups thousands if it
/// repeats or is followed by exactly three digits (and no space grouping is used), otherwise
/// it is the decimal mark.
fn plain_number(number: &str) -> Option<String> {
    let last_dot = number.rfind('.');
    let last_comma = number.rfind(',');
    let spaced = number.chars().any(|c| c.is_whitespace() || c == '\'');
    let decimal_mark = match (last_dot, last_comma) {
        (Some(dot), Some(comma)) => Some(if dot > comma { '.' } else { ',' }),
        (Some(_), None) => single_mark_meaning(number, '.', spaced),
        (None, Some(_)) => single_mark_meaning(number, ',', spaced),
        (None, None) => None,
    };
    let (whole, fraction) = match decimal_mark {
        Some(mark) => number.rsplit_once(mark)?,
        None => (number, ""),
    };
    let groups: Vec<&str> = whole.split(|c: char| !c.is_ascii_digit()).collect();
    let grouped_by_thousands = groups.iter().enumerate().all(|(i, g)| {
        if i == 0 {
            (1..=3).contains(&g.len())
        } else {
            g.len() == 3
        }
    });
    let fraction_ok = fraction.chars().all(|c| c.is_ascii_digit());
    if (groups.len() > 1 && !grouped_by_thousands) || !fraction_ok {
        return None;
    }
    let digits: String = groups.concat();
    Some(if fraction.is_empty() {
        digits
    } else {
        format!("{digits}.{fraction}")
    })
}

/// Decides whether a lone kind of mark (`.` or `,`) is the decimal mark.
fn single_mark_meaning(number: &str, mark: char, spaced: bool) -> Option<char> {
    let repeated = number.matches(mark).count() > 1;
    let digits_after = number
        .rsplit_once(mark)
        .map_or(0, |(_, after)| after.chars().count());
    let groups_thousands = repeated || (digits_after == 3 && !spaced);
    (!groups_thousands).then_some(mark)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read(raw: &str) -> String {
        match Money::parse(raw, None) {
            Ok(money) => money.to_string(),
            Err(error) => panic!("`{raw}` was refused: {error}"),
        }
    }

    #[test]
    fn reads_every_documented_format() {
        let cases = [
            ("25,000 EUR", "25,000.00 EUR"),
            ("25000€", "25,000.00 EUR"),
            ("12 500 €", "12,500.00 EUR"),
            ("12\u{a0}500\u{a0}€", "12,500.00 EUR"),
            ("12\u{202f}500 €", "12,500.00 EUR"),
            ("$40k", "40,000.00 USD"),
            ("40k USD", "40,000.00 USD"),
            ("40 000,50 EUR", "40,000.50 EUR"),
            ("1.250.000,00 EUR", "1,250,000.00 EUR"),
            ("€ 3,5k", "3,500.00 EUR"),
            ("EUR 25000", "25,000.00 EUR"),
            ("1.5M USD", "1,500,000.00 USD"),
            ("£2,000", "2,000.00 GBP"),
            ("CHF 1'500", "1,500.00 CHF"),
            ("1,250,000.00 USD", "1,250,000.00 USD"),
            ("25 000 euros", "25,000.00 EUR"),
            ("25kEUR", "25,000.00 EUR"),
            ("3k€", "3,000.00 EUR"),
            ("25,000 eur.", "25,000.00 EUR"),
        ];
        for (raw, expected) in cases {
            assert_eq!(read(raw), expected, "{raw}");
        }
    }

    #[test]
    fn one_mark_followed_by_one_or_two_digits_is_decimal() {
        assert_eq!(read("12,5 EUR"), "12.50 EUR");
        assert_eq!(read("12.50 EUR"), "12.50 EUR");
        assert_eq!(read("1.500 EUR"), "1,500.00 EUR");
        assert_eq!(
            read("12 500,000 EUR"),
            "12,500.00 EUR",
            "spaces already group"
        );
    }

    #[test]
    fn a_written_code_wins_over_a_symbol() {
        assert_eq!(read("$40 CAD"), "40.00 CAD");
    }

    #[test]
    fn the_default_currency_applies_only_when_none_is_written() {
        let money = Money::parse("25 000", Some("eur")).expect("default applies");
        assert_eq!(money.to_string(), "25,000.00 EUR");
        let money = Money::parse("$25", Some("EUR")).expect("symbol wins");
        assert_eq!(money.currency, "USD");
    }

    #[test]
    fn refuses_with_a_message_that_says_what_to_do() {
        let refused = |raw: &str| Money::parse(raw, None).expect_err(raw);
        assert_eq!(
            refused("25000").to_string(),
            "`25000` has no currency: add one, e.g. 25000 EUR"
        );
        assert!(matches!(refused("-500 EUR"), MoneyError::Negative { .. }));
        assert!(matches!(refused("0 EUR"), MoneyError::Zero { .. }));
        assert!(matches!(refused("0,00 €"), MoneyError::Zero { .. }));
        assert!(matches!(
            refused("2000000M EUR"),
            MoneyError::TooLarge { .. }
        ));
        assert!(matches!(
            refused("99999999999999999999999999999999 EUR"),
            MoneyError::TooLarge { .. }
        ));
        assert!(matches!(refused(""), MoneyError::Empty));
        assert!(matches!(refused("EUR"), MoneyError::NoNumber { .. }));
        assert!(matches!(
            refused("25-30k EUR"),
            MoneyError::SeveralNumbers { .. }
        ));
        assert!(matches!(refused("1,2,3 EUR"), MoneyError::BadNumber { .. }));
        assert!(matches!(
            refused("25 dollars"),
            MoneyError::UnknownCurrency { .. }
        ));
        assert!(matches!(
            refused("25 EUR USD"),
            MoneyError::TwoCurrencies { .. }
        ));
        assert!(matches!(refused("25 #"), MoneyError::Unexpected { .. }));
        assert!(refused("-5 EUR").to_string().contains("more than zero"));
    }

    #[test]
    fn the_upper_bound_is_inclusive() {
        assert_eq!(read("1000000M EUR"), "1,000,000,000,000.00 EUR");
    }

    proptest! {
        #[test]
        fn never_panics(raw in "\\PC{0,40}") {
            let _ = Money::parse(&raw, None);
            let _ = Money::parse(&raw, Some("EUR"));
        }

        #[test]
        fn never_panics_on_money_like_text(raw in "[-0-9 .,'kKmM€$£a-zA-Z\u{a0}\u{202f}]{0,24}") {
            let _ = Money::parse(&raw, None);
        }
    }
}
