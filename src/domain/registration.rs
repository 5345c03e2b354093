//! What a deal registration must carry for a reviewer to decide on it, and whether a
//! REGISTER reply carries it: every configured field, each readable (an amount for a
//! value, a date for a date), the solution among the eligible ones.
//!
//! Fields are configured as `English label|libellé français` (`bot.registration_fields`);
//! a reply may use either label, in any case, accents optional.

use chrono::NaiveDate;

use super::Locale;
use super::command::fold_label;
use super::lead::Money;

/// The registration fields asked for when `bot.registration_fields` is not set.
pub const DEFAULT_FIELDS: &[&str] = &[
    "Solution",
    "Customer organisation ID|ID de l'organisation du client",
    "Final value|Valeur finale",
    "Close date|Date de clôture",
];

/// One field a registration needs, with its label in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationField {
    pub en: String,
    pub fr: String,
}

/// How a field's value is checked, told by its English label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Solution,
    Amount,
    Date,
    Text,
}

impl RegistrationField {
    /// `"Final value|Valeur finale"`; one label serves both languages.
    pub fn parse(spec: &str) -> Self {
        let (en, fr) = spec.split_once('|').unwrap_or((spec, spec));
        Self {
            en: en.trim().to_string(),
            fr: fr.trim().to_string(),
        }
    }

    pub fn label(&self, locale: Locale) -> &str {
        match locale {
            Locale::En => &self.en,
            Locale::Fr => &self.fr,
        }
    }

    fn is_named(&self, written: &str) -> bool {
        let written = fold_label(written);
        written == fold_label(&self.en) || written == fold_label(&self.fr)
    }

    fn kind(&self) -> Kind {
        let label = fold_label(&self.en);
        if label == "solution" {
            Kind::Solution
        } else if label.contains("value") || label.contains("amount") {
            Kind::Amount
        } else if label.contains("date") {
            Kind::Date
        } else {
            Kind::Text
        }
    }
}

/// What is wrong with a registration, in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationProblem {
    pub en: String,
    pub fr: String,
}

/// Checks a REGISTER's `Label: value` lines against the required fields and the eligible
/// solutions (empty: any). Returns every problem, so one answer lists them all.
pub fn check(
    required: &[RegistrationField],
    eligible: &[String],
    written: &[(String, String)],
) -> Vec<RegistrationProblem> {
    let mut problems = Vec::new();
    for field in required {
        let Some((_, value)) = written
            .iter()
            .rev()
            .find(|(label, _)| field.is_named(label))
        else {
            problems.push(RegistrationProblem {
                en: format!("`{}:` is missing", field.en),
                fr: format!("`{} :` manque", field.fr),
            });
            continue;
        };
        let value = value.trim();
        match field.kind() {
            Kind::Solution if !eligible.is_empty() => {
                let known = eligible
                    .iter()
                    .any(|solution| fold_label(solution) == fold_label(value));
                if !known {
                    problems.push(RegistrationProblem {
                        en: format!(
                            "`{value}` is not an eligible solution ({})",
                            eligible.join(", ")
                        ),
                        fr: format!(
                            "`{value}` n'est pas une solution éligible ({})",
                            eligible.join(", ")
                        ),
                    });
                }
            }
            Kind::Amount => {
                if let Err(error) = Money::parse(value, None) {
                    problems.push(RegistrationProblem {
                        en: format!("{}: {error}", field.en),
                        fr: format!("{} : {}", field.fr, error.message_fr()),
                    });
                }
            }
            Kind::Date if read_date(value).is_none() => {
                problems.push(RegistrationProblem {
                    en: format!(
                        "{}: `{value}` is not a date: write e.g. 2027-03-31 or 31/03/2027",
                        field.en
                    ),
                    fr: format!(
                        "{} : `{value}` n'est pas une date : écrivez par exemple 31/03/2027",
                        field.fr
                    ),
                });
            }
            _ => {}
        }
    }
    problems
}

/// The REGISTER reply to fill in: the command and one empty line per field.
pub fn form(required: &[RegistrationField], locale: Locale) -> String {
    let command = match locale {
        Locale::En => "REGISTER",
        Locale::Fr => "ENREGISTRER",
    };
    let mut lines = vec![command.to_string()];
    for field in required {
        let colon = if locale == Locale::Fr { " :" } else { ":" };
        lines.push(locale.typeset(&format!("{}{colon}", field.label(locale))));
    }
    lines.join("\n")
}

/// `2027-03-31`, `31/03/2027`, `31.03.2027`.
fn read_date(text: &str) -> Option<NaiveDate> {
    ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y"]
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(text, format).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Vec<RegistrationField> {
        DEFAULT_FIELDS
            .iter()
            .map(|spec| RegistrationField::parse(spec))
            .collect()
    }

    fn written(lines: &[(&str, &str)]) -> Vec<(String, String)> {
        lines
            .iter()
            .map(|(l, v)| (l.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_complete_registration_passes_in_either_language() {
        let eligible = ["Teams Phone".to_string()];
        let english = written(&[
            ("Solution", "teams phone"),
            ("Customer organisation ID", "FAB-123"),
            ("Final value", "24,000 EUR"),
            ("Close date", "2027-03-31"),
        ]);
        assert_eq!(check(&defaults(), &eligible, &english), []);
        let french = written(&[
            ("Solution", "Teams Phone"),
            ("ID de l’organisation du client", "FAB-123"),
            ("Valeur finale", "24 000 €"),
            ("Date de cloture", "31/03/2027"),
        ]);
        assert_eq!(check(&defaults(), &eligible, &french), []);
    }

    #[test]
    fn every_gap_is_named_in_both_languages() {
        let eligible = ["Teams Phone".to_string()];
        let problems = check(
            &defaults(),
            &eligible,
            &written(&[
                ("Solution", "Azure"),
                ("Final value", "lots"),
                ("Close date", "soon"),
            ]),
        );
        let en: Vec<&str> = problems.iter().map(|p| p.en.as_str()).collect();
        assert_eq!(
            en,
            [
                "`Azure` is not an eligible solution (Teams Phone)",
                "`Customer organisation ID:` is missing",
                "Final value: `lots` has no number in it: write e.g. 25,000 EUR",
                "Close date: `soon` is not a date: write e.g. 2027-03-31 or 31/03/2027",
            ]
        );
        assert_eq!(problems[1].fr, "`ID de l'organisation du client :` manque");
    }

    #[test]
    fn the_form_lists_every_field_empty() {
        assert_eq!(
            form(&defaults(), Locale::Fr),
            "ENREGISTRER\nSolution\u{a0}:\nID de l'organisation du client\u{a0}:\n\
             Valeur finale\u{a0}:\nDate de clôture\u{a0}:"
        );
    }
}
