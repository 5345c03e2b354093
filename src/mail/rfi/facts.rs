//! Facts customers state in their own words: how big the company is, which country, and
//! whether they want a call. Each reader answers only what the text says plainly; when
//! the text is vague or says two things, the answer is `None` (never a guess).

use std::sync::LazyLock;

use crate::domain::company_size::CompanySize;
use crate::mail::lowercase::lowercase;
use crate::mail::patterns::{Phrases, single_spaced};

/// Nouns that count a company's people whatever precedes them.
const STAFF_NOUNS: &[&str] = &[
    "employees",
    "employee",
    "staff",
    "fte",
    "ftes",
    "headcount",
    "salariés",
    "salaries",
    "salarié",
    "employés",
    "employes",
    "collaborateurs",
    "collaboratrices",
    "mitarbeiter",
    "empleados",
    "dipendenti",
];

/// Nouns that count people only when the company is the subject ("a company of 120
/// people", "PME de 120 personnes"); "Teams for 30 people" counts users, not the company.
const PEOPLE_NOUNS: &[&str] = &["people", "persons", "personnes", "personnels"];

/// Words that, just before a number of people, make it the company's size.
const COMPANY_WORDS: &[&str] = &[
    "company",
    "business",
    "firm",
    "organisation",
    "organization",
    "we",
    "are",
    "team",
    "pme",
    "tpe",
    "eti",
    "entreprise",
    "société",
    "societe",
    "groupe",
    "sommes",
    "cabinet",
];

/// The company's size stated in `text` ("about 400 staff", "PME de 120 personnes",
/// "2 000 salariés en France"), in the stored form; `None` if it says none or two.
pub fn company_size_in(text: &str) -> Option<String> {
    // Numbers read the same in any case: only the words around one are lower-cased, to
    // be compared with the nouns.
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() && c != '\u{a0}' && c != '\u{202f}')
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '+'))
        .collect();
    let mut sizes: Vec<u32> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        // "a 300-person company", "a 40-employee firm".
        if let Some((count, noun)) = words[i].split_once('-')
            && let Some(value) = plain_number(count)
            && ["person", "people", "employee", "staff", "strong"].contains(&&*lowercase(noun))
        {
            sizes.push(value);
            i += 1;
            continue;
        }
        // "2 000" is two words: join digit groups of three.
        let Some(mut value) = plain_number(words[i]) else {
            i += 1;
            continue;
        };
        let start = i;
        while words
            .get(i + 1)
            .is_some_and(|w| w.len() == 3 && w.bytes().all(|b| b.is_ascii_digit()))
        {
            value = value * 1000 + words[i + 1].parse::<u32>().unwrap_or(0);
            i += 1;
        }
        let noun = lowercase(words.get(i + 1).copied().unwrap_or_default());
        let before = &words[start.saturating_sub(4)..start];
        let counts_staff = STAFF_NOUNS.contains(&&*noun)
            || (PEOPLE_NOUNS.contains(&&*noun)
                && before
                    .iter()
                    .any(|w| COMPANY_WORDS.contains(&&*lowercase(w))));
        if counts_staff && value > 0 {
            sizes.push(value);
        }
        i += 1;
    }
    sizes.dedup();
    match sizes.as_slice() {
        [one] => Some(CompanySize::Employees(*one).to_string()),
        _ => None,
    }
}

/// `400`, `2,000`, `1.200`, `~400`: a whole number, grouping allowed.
fn plain_number(word: &str) -> Option<u32> {
    let word = word.trim_start_matches(['~', '≈']);
    if word.is_empty() || !word.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = word.chars().filter(|c| !matches!(c, ',' | '.')).collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 7 {
        return None;
    }
    // "1.5" or "3,5" are not head counts: separators group exactly three digits.
    let groups_ok = word.split([',', '.']).skip(1).all(|group| group.len() == 3);
    groups_ok.then(|| digits.parse().ok()).flatten()
}

/// The country a word names (English or French), as profiles spell it; `next` is the
/// word after it, for the names of two words ("united kingdom"). A `match` on the word
/// is one comparison per word of the text, whatever the number of countries.
fn country_named(word: &str, next: Option<&str>) -> Option<&'static str> {
    Some(match word {
        "france" => "France",
        "belgium" | "belgique" => "Belgium",
        "luxembourg" => "Luxembourg",
        "switzerland" | "suisse" => "Switzerland",
        "royaume-uni" | "uk" | "england" | "scotland" => "United Kingdom",
        "ireland" | "irlande" => "Ireland",
        "germany" | "allemagne" | "deutschland" => "Germany",
        "spain" | "espagne" => "Spain",
        "italy" | "italie" => "Italy",
        "netherlands" | "pays-bas" => "Netherlands",
        "portugal" => "Portugal",
        "canada" => "Canada",
        "usa" | "états-unis" | "etats-unis" => "United States",
        "maroc" | "morocco" => "Morocco",
        "japan" | "japon" => "Japan",
        "united" => match next {
            Some("kingdom") => "United Kingdom",
            Some("states") => "United States",
            _ => return None,
        },
        _ => return None,
    })
}

/// The one country `text` names, as profiles spell it; `None` for none or several.
pub fn country_in(text: &str) -> Option<&'static str> {
    country_in_lowered(&text.to_lowercase())
}

/// [`country_in`] of a text already lower-cased as a whole (`str::to_lowercase`), so
/// that one copy of a long request serves this reader and [`asks_for_a_call_lowered`].
pub fn country_in_lowered(lower: &str) -> Option<&'static str> {
    let mut words = lower
        .split(|c: char| !c.is_alphanumeric() && c != '-' && c != 'é')
        .filter(|w| !w.is_empty())
        .peekable();
    let mut found = None;
    while let Some(word) = words.next() {
        match (found, country_named(word, words.peek().copied())) {
            (_, None) => {}
            (None, named) => found = named,
            (Some(one), Some(other)) if one != other => return None,
            (Some(_), Some(_)) => {}
        }
    }
    found
}

/// Calling codes that name exactly one country (+1 and +7 are shared: not here).
const CALLING_CODES: &[(&str, &str)] = &[
    ("33", "France"),
    ("32", "Belgium"),
    ("352", "Luxembourg"),
    ("41", "Switzerland"),
    ("44", "United Kingdom"),
    ("353", "Ireland"),
    ("49", "Germany"),
    ("34", "Spain"),
    ("39", "Italy"),
    ("31", "Netherlands"),
    ("351", "Portugal"),
    ("43", "Austria"),
    ("45", "Denmark"),
    ("46", "Sweden"),
    ("47", "Norway"),
    ("358", "Finland"),
    ("48", "Poland"),
    ("212", "Morocco"),
    ("216", "Tunisia"),
    ("213", "Algeria"),
    ("221", "Senegal"),
    ("377", "Monaco"),
    ("81", "Japan"),
    ("61", "Australia"),
    ("64", "New Zealand"),
    ("91", "India"),
    ("86", "China"),
    ("55", "Brazil"),
    ("52", "Mexico"),
];

/// The country of an international number (`+33 1 …`, `0033 1 …`), when its calling
/// code names one.
pub fn country_of_phone(phone: &str) -> Option<&'static str> {
    let phone = phone.trim();
    let rest = phone
        .strip_prefix('+')
        .or_else(|| phone.strip_prefix("00"))?;
    let digits: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ' ' || *c == '(' || *c == ')')
        .filter(char::is_ascii_digit)
        .collect();
    // Longest code first: +353 is Ireland, not +35.
    (1..=3)
        .rev()
        .filter_map(|len| digits.get(..len))
        .find_map(|code| CALLING_CODES.iter().find(|(c, _)| *c == code))
        .map(|(_, country)| *country)
}

/// An explicit request to be called or contacted directly (English or French), and
/// not "please don't call".
pub fn asks_for_a_call(text: &str) -> bool {
    asks_for_a_call_lowered(&text.to_lowercase())
}

/// [`asks_for_a_call`] of a text already lower-cased as a whole (`str::to_lowercase`).
pub fn asks_for_a_call_lowered(lower: &str) -> bool {
    let lower = single_spaced(lower);
    CALL_ASKED.found_in(&lower) && !CALL_REFUSED.found_in(&lower)
}

static CALL_ASKED: LazyLock<Phrases> = LazyLock::new(|| Phrases::new(CALL_ASKS));
static CALL_REFUSED: LazyLock<Phrases> = LazyLock::new(|| Phrases::new(CALL_REFUSALS));

/// Ways to ask for a call, lower-cased, one space between words.
const CALL_ASKS: &[&str] = &[
    "call me",
    "give me a call",
    "please call",
    "could you call",
    "can you call",
    "could someone call",
    "can someone call",
    "phone me",
    "ring me",
    "contact me directly",
    "reach me directly",
    "contact me by phone",
    "call us",
    "appelez-moi",
    "appelez moi",
    "rappelez-moi",
    "rappelez moi",
    "me rappeler",
    "m'appeler",
    "m’appeler",
    "nous appeler",
    "nous rappeler",
    "me téléphoner",
    "me telephoner",
    "contactez-moi directement",
    "me contacter directement",
    "me contacter par téléphone",
];

/// Ways to say "no call", which win over any request for one.
const CALL_REFUSALS: &[&str] = &[
    "don't call",
    "do not call",
    "don’t call",
    "please no calls",
    "no phone calls",
    "no calls",
    "don't phone",
    "do not phone",
    "by email only",
    "email only",
    "ne pas m'appeler",
    "ne pas m’appeler",
    "ne m'appelez pas",
    "ne m’appelez pas",
    "ne pas me téléphoner",
    "ne pas me rappeler",
    "pas d'appel",
    "pas d’appel",
    "par e-mail uniquement",
    "par mail uniquement",
    "uniquement par e-mail",
    "uniquement par mail",
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // The readers index words and bytes by hand: any text, however odd, gives an
        // answer and never a panic.
        #[test]
        fn any_text_is_read_without_a_panic(
            text in "([a-zA-Z0-9 ,.~+-]|\\PC|[\u{a0}\u{202f}≈İΣ’])*"
        ) {
            let _ = company_size_in(&text);
            let _ = country_in(&text);
            let _ = asks_for_a_call(&text);
            let _ = country_of_phone(&text);
        }

        // One lower-cased copy serves both readers: exactly what each made for itself
        // (the same `str::to_lowercase` of the same text), final sigma and `İ` included.
        #[test]
        fn a_shared_lowercase_copy_reads_the_same(
            text in "([a-zA-Z ,.'’-]|\\PC|[İIΣσς]|france|call me|don't call|united kingdom)*"
        ) {
            let lower = text.to_lowercase();
            prop_assert_eq!(country_in_lowered(&lower), country_in(&text));
            prop_assert_eq!(asks_for_a_call_lowered(&lower), asks_for_a_call(&text));
        }
    }

    #[test]
    fn sizes_as_customers_write_them() {
        assert_eq!(
            company_size_in("we are about 400 staff"),
            Some("400".into())
        );
        assert_eq!(
            company_size_in("Nous sommes une PME de 120 personnes"),
            Some("120".into())
        );
        assert_eq!(
            company_size_in("2 000 salariés en France"),
            Some("2000".into())
        );
        assert_eq!(
            company_size_in("a company of 1,200 people"),
            Some("1200".into())
        );
        assert_eq!(
            company_size_in("We are a 300-person company in Lyon"),
            Some("300".into())
        );
        assert_eq!(company_size_in("Teams for 30 people"), None);
        assert_eq!(company_size_in("200 boîtes mail et 40 serveurs"), None);
        assert_eq!(
            company_size_in("between 50 staff here and 80 staff there"),
            None
        );
        assert_eq!(company_size_in("a big company"), None);
    }

    #[test]
    fn one_country_named_is_the_region() {
        assert_eq!(country_in("2 000 salariés en France"), Some("France"));
        assert_eq!(country_in("offices in Belgique"), Some("Belgium"));
        assert_eq!(country_in("Dublin, Ireland"), Some("Ireland"));
        assert_eq!(country_in("France and Germany"), None);
        assert_eq!(country_in("Francesca Rossi"), None);
        assert_eq!(country_in("London, United Kingdom"), Some("United Kingdom"));
        assert_eq!(
            country_in("the United Kingdom (UK)"),
            Some("United Kingdom")
        );
        assert_eq!(country_in("United States or the United Kingdom"), None);
        assert_eq!(country_in("a united team"), None);
    }

    #[test]
    fn a_calling_code_names_a_country_unless_shared() {
        assert_eq!(country_of_phone("+33 1 02 03 04 05"), Some("France"));
        assert_eq!(country_of_phone("+353 1 234 5678"), Some("Ireland"));
        assert_eq!(
            country_of_phone("0044 20 7946 0000"),
            Some("United Kingdom")
        );
        assert_eq!(country_of_phone("+1 425 555 0100"), None);
        assert_eq!(country_of_phone("01 02 03 04 05"), None);
    }

    #[test]
    fn a_call_request_is_explicit_and_not_refused() {
        assert!(asks_for_a_call("Could you call me directly tomorrow?"));
        assert!(asks_for_a_call("Merci de me rappeler au 06 12 34 56 78."));
        assert!(!asks_for_a_call("Please don't call me, email only."));
        assert!(!asks_for_a_call("Merci de ne pas m'appeler."));
        assert!(!asks_for_a_call("We need a call center solution."));
    }
}
