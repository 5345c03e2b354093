//! Who signed a request: the person, their company, phone and city, from a signature
//! block in its common shapes —
//! lines (`Jacques Leroy` / `Directeur informatique` / `Grand Groupe`),
//! `Priya Shah | Head of IT | Fabrikam Retail`, `CISO, Woodgrove Bank`,
//! `Head of IT at Fabrikam`. A line is a person's name, a job title, a company, a phone,
//! an address or something else; only what is recognised is kept.

use std::borrow::Cow;

use super::facts::country_in;
use crate::mail::lowercase::lowercase;

/// What a signature says; every field is `None` unless the signature says it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signed {
    pub person: Option<String>,
    pub company: Option<String>,
    pub phone: Option<String>,
    pub city: Option<String>,
    pub country: Option<&'static str>,
}

/// Words of job titles (lower-case, accents kept), in English and French.
const TITLE_WORDS: &[&str] = &[
    "head",
    "director",
    "manager",
    "ceo",
    "cto",
    "cio",
    "ciso",
    "cfo",
    "coo",
    "vp",
    "vice",
    "president",
    "officer",
    "chief",
    "lead",
    "engineer",
    "architect",
    "consultant",
    "administrator",
    "admin",
    "founder",
    "co-founder",
    "owner",
    "partner",
    "buyer",
    "procurement",
    "purchasing",
    "analyst",
    "specialist",
    "coordinator",
    "assistant",
    "directeur",
    "directrice",
    "responsable",
    "chef",
    "président",
    "présidente",
    "gérant",
    "gérante",
    "dsi",
    "rssi",
    "ingénieur",
    "ingénieure",
    "acheteur",
    "acheteuse",
    "fondateur",
    "fondatrice",
    "associé",
    "associée",
    "chargé",
    "chargée",
    "adjoint",
    "adjointe",
    "dg",
    "pdg",
    "daf",
    "informatique",
    "achats",
    "it",
    "operations",
];

/// Words that end or make a company name.
const COMPANY_MARKERS: &[&str] = &[
    "sa",
    "sas",
    "sarl",
    "sasu",
    "eurl",
    "ltd",
    "ltd.",
    "limited",
    "inc",
    "inc.",
    "llc",
    "plc",
    "gmbh",
    "ag",
    "bv",
    "nv",
    "spa",
    "srl",
    "corp",
    "corp.",
    "corporation",
    "group",
    "groupe",
    "bank",
    "banque",
    "retail",
    "industries",
    "solutions",
    "services",
    "company",
    "co.",
    "holding",
    "partners",
    "associates",
    "consulting",
    "technologies",
    "systems",
];

/// Reads a signature block; `sender_name` is the From display name, if any.
pub fn read(signature: &str, sender_name: Option<&str>) -> Signed {
    let mut signed = Signed::default();
    let mut candidates: Vec<String> = Vec::new();
    for (i, raw) in signature.lines().enumerate() {
        let line = raw.trim().trim_start_matches("--").trim();
        if line.is_empty() || (i == 0 && is_closing_line(line)) || is_mobile_footer(line) {
            continue;
        }
        let labelled = line
            .split_once(':')
            .map(|(label, value)| (label.trim(), value.trim()));
        let unlabelled = labelled.map_or(line, |(_, value)| value);
        if signed.phone.is_none() && looks_like_phone(unlabelled) {
            signed.phone = Some(unlabelled.to_string());
            continue;
        }
        if line.contains('@') || line.contains("www.") || line.contains("://") {
            continue;
        }
        if let Some(city) = city_of_address_line(line) {
            signed.city.get_or_insert(city);
            signed.country = signed.country.or(country_in(line));
            continue;
        }
        if labelled.is_some() || line.chars().count() > 60 {
            continue;
        }
        // "Name | Title | Company", "Title, Company", "Title at Company": split in parts.
        let parts: Vec<&str> = split_parts(line);
        for part in parts {
            candidates.push(part.to_string());
        }
    }
    let sender_name = sender_name.map(str::trim).filter(|n| !n.is_empty());
    let is_sender = |part: &str| sender_name.is_some_and(|n| n.eq_ignore_ascii_case(part));
    // A first name alone right after the closing ("Thanks,\nAnn") signs, it names no company.
    let first_name_only = candidates
        .first()
        .is_some_and(|p| !p.contains(' ') && !is_title(p));
    let named: Vec<&String> = candidates
        .iter()
        .skip(usize::from(first_name_only))
        .filter(|p| !is_title(p))
        .collect();
    signed.person = named
        .iter()
        .find(|p| looks_like_person(p))
        .or_else(|| named.iter().find(|p| is_sender(p)))
        .map(|p| p.to_string());
    let others = || {
        named
            .iter()
            .copied()
            .filter(|p| Some(*p) != signed.person.as_ref())
    };
    // A company named like a person ("Leroy Conseil") counts once the person is known.
    signed.company = others()
        .find(|p| !looks_like_person(p))
        .or_else(|| others().find(|_| signed.person.is_some()))
        .cloned();
    signed
}

/// "Priya Shah | Head of IT | Fabrikam Retail" → three parts; "CISO, Woodgrove Bank" →
/// two when the first is a title; "Head of IT at Fabrikam" → title and company.
fn split_parts(line: &str) -> Vec<&str> {
    for separator in [" | ", "|", " · ", " • ", " – ", " - "] {
        if line.contains(separator) {
            return line
                .split(separator.trim())
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
        }
    }
    if let Some((first, rest)) = line.split_once(", ")
        && is_title(first)
    {
        return vec![first.trim(), rest.trim()];
    }
    for joint in [" at ", " chez ", " @ "] {
        if let Some((first, rest)) = line.split_once(joint)
            && is_title(first)
        {
            return vec![first.trim(), rest.trim()];
        }
    }
    vec![line]
}

fn words(text: &str) -> Vec<Cow<'_, str>> {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == '/' || c == '&')
        .filter(|w| !w.is_empty())
        .map(lowercase)
        .collect()
}

/// A job title: holds a title word and no company marker.
fn is_title(text: &str) -> bool {
    let words = words(text);
    words.iter().any(|w| TITLE_WORDS.contains(&w.as_ref()))
        && !words.iter().any(|w| COMPANY_MARKERS.contains(&w.as_ref()))
}

/// Two to four capitalised words of letters, none a title word or company marker.
pub(super) fn looks_like_person(text: &str) -> bool {
    let parts: Vec<&str> = text.split_whitespace().collect();
    (2..=4).contains(&parts.len())
        && parts.iter().all(|p| {
            let letters = p.chars().all(|c| c.is_alphabetic() || "-'’.".contains(c));
            letters && p.chars().next().is_some_and(char::is_uppercase)
        })
        && !words(text)
            .iter()
            .any(|w| COMPANY_MARKERS.contains(&w.as_ref()) || TITLE_WORDS.contains(&w.as_ref()))
}

fn is_closing_line(line: &str) -> bool {
    line.ends_with(',') || line.ends_with('.') || line.ends_with('!')
}

fn is_mobile_footer(line: &str) -> bool {
    let lower = line.to_lowercase();
    lower.starts_with("sent from")
        || lower.starts_with("envoyé de")
        || lower.starts_with("get outlook")
}

fn looks_like_phone(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let phoney = text
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().\u{a0}/".contains(c));
    digits >= 7 && phoney
}

/// The city of a postal-address line: `75008 Paris`, `12 rue X, 69002 Lyon`,
/// `Dublin 2, Ireland`, `London EC2A 4BX`.
fn city_of_address_line(line: &str) -> Option<String> {
    let last = line
        .rsplit(',')
        .map(str::trim)
        .find(|p| country_in(p).is_none())?;
    let tokens: Vec<&str> = last.split_whitespace().collect();
    // French-style: five-digit postcode, then the city.
    if let Some(at) = tokens
        .iter()
        .position(|t| t.len() == 5 && t.bytes().all(|b| b.is_ascii_digit()))
    {
        let city = tokens[at + 1..].join(" ");
        return city
            .chars()
            .next()
            .is_some_and(char::is_uppercase)
            .then_some(city)
            .filter(|c| c.chars().all(|ch| ch.is_alphabetic() || " -'".contains(ch)));
    }
    // "City, Country" with a known country.
    let has_country = line
        .rsplit(',')
        .next()
        .is_some_and(|p| country_in(p).is_some());
    if has_country && line.contains(',') {
        let city: String = last
            .split_whitespace()
            .take_while(|t| t.chars().all(char::is_alphabetic))
            .collect::<Vec<_>>()
            .join(" ");
        return (!city.is_empty() && city.chars().next().is_some_and(char::is_uppercase))
            .then_some(city);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipes_give_the_person_and_the_company() {
        let signed = read(
            "Best,\nPriya Shah | Head of IT | Fabrikam Retail\n+44 20 7946 0018",
            None,
        );
        assert_eq!(signed.person.as_deref(), Some("Priya Shah"));
        assert_eq!(signed.company.as_deref(), Some("Fabrikam Retail"));
        assert_eq!(signed.phone.as_deref(), Some("+44 20 7946 0018"));
    }

    #[test]
    fn a_title_comma_company_line_gives_the_company() {
        let signed = read("Regards,\nDana Kim\nCISO, Woodgrove Bank", Some("Dana Kim"));
        assert_eq!(signed.person.as_deref(), Some("Dana Kim"));
        assert_eq!(signed.company.as_deref(), Some("Woodgrove Bank"));
    }

    #[test]
    fn lines_are_told_apart_whatever_the_display_name() {
        // The From display name is the company's: the person is the signature's.
        let signed = read(
            "Cordialement,\nJacques Leroy\nDirecteur informatique\nGrand Groupe\n8 avenue de l'Europe, 69003 Lyon",
            Some("Grand Groupe"),
        );
        assert_eq!(signed.person.as_deref(), Some("Jacques Leroy"));
        assert_eq!(signed.company.as_deref(), Some("Grand Groupe"));
        assert_eq!(signed.city.as_deref(), Some("Lyon"));
    }

    #[test]
    fn nothing_recognised_stays_empty() {
        let signed = read("Thanks,\nA.", None);
        assert_eq!(signed, Signed::default());
    }
}
