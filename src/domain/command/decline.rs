//! A decline reason as partners write it: a number from the list, the reason's label, or
//! their own words ("not interested", "trop gros pour nous"). A decline is never refused for
//! its wording: words no phrasing matches are read as "Other" and kept as the partner wrote
//! them.

use super::DeclineReason;
use super::text::{fold, trim_separators};

/// What a decline's reason text was read as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ReadReason {
    pub(super) reason: DeclineReason,
    /// The partner's own words, when they say more than the reason's label.
    pub(super) words: Option<String>,
}

/// Why a written reason cannot be read: only a number that is not on the list (a typo in a
/// choice, not wording to interpret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct NotOnTheList;

/// Reads a reason by number ("2", "2. No capacity", "2 - booked until March"), by its label
/// or snake name in either language, by a phrasing from [`PHRASINGS`], or else as Other.
/// An empty text (no reason given) is Other too.
pub(super) fn read_reason(written: &str) -> Result<ReadReason, NotOnTheList> {
    let written = written.trim();
    let digits_end = written
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(written.len());
    if digits_end > 0 {
        let reason = written[..digits_end]
            .parse::<usize>()
            .ok()
            .and_then(DeclineReason::from_number)
            .ok_or(NotOnTheList)?;
        let rest = trim_separators(&written[digits_end..])
            .trim_start_matches(')')
            .trim();
        let repeats_label = rest.is_empty() || reason_by_label(rest) == Some(reason);
        return Ok(ReadReason {
            reason,
            words: (!repeats_label).then(|| rest.to_string()),
        });
    }
    if written.is_empty() {
        return Ok(ReadReason {
            reason: DeclineReason::Other,
            words: None,
        });
    }
    if let Some(reason) = reason_by_label(written) {
        return Ok(ReadReason {
            reason,
            words: None,
        });
    }
    Ok(ReadReason {
        reason: reason_by_phrasing(written).unwrap_or(DeclineReason::Other),
        words: Some(written.to_string()),
    })
}

/// The reason whose label (English, French or snake name) holds every word written:
/// "outside region", "budget_too_small", "Doublon".
fn reason_by_label(written: &str) -> Option<DeclineReason> {
    const FILLER: &[&str] = &[
        "a", "an", "the", "of", "our", "we", "for", "is", "de", "d", "la", "le", "les", "l", "du",
        "des", "un", "une", "notre", "nous", "est",
    ];
    let folded = fold(written);
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !FILLER.contains(w))
        .collect();
    if words.is_empty() {
        return None;
    }
    let mut matching = DeclineReason::ALL.iter().copied().filter(|reason| {
        let vocabulary = fold(&format!(
            "{} {} {}",
            reason.label(),
            reason.label_fr(),
            reason.as_str()
        ));
        let known: Vec<&str> = vocabulary.split(|c: char| !c.is_alphanumeric()).collect();
        words.iter().all(|word| {
            known
                .iter()
                .any(|k| k == word || (word.len() >= 4 && k.starts_with(word)))
        })
    });
    let first = matching.next()?;
    matching.next().is_none().then_some(first)
}

/// How partners say each reason, in English and French, folded (lower case, no accents,
/// apostrophes and punctuation as spaces). A phrasing matches whole words anywhere in the
/// text. The table is read in order and the first match wins, so the more telling reasons
/// come first: "outside our area of expertise" is about expertise (not a fit), not about a
/// region; "already in touch with us" is a duplicate before it is anything else.
const PHRASINGS: &[(DeclineReason, &[&str])] = &[
    (
        DeclineReason::Duplicate,
        &[
            "duplicate",
            "already received",
            "already have this",
            "already working with",
            "already in touch",
            "already in contact",
            "already a customer",
            "existing customer",
            "same request",
            "same lead",
            "sent twice",
            "doublon",
            "deja recu",
            "deja en contact",
            "deja client",
            "deja notre client",
            "deja en discussion",
            "deja traite",
            "meme demande",
            "recu deux fois",
        ],
    ),
    (
        DeclineReason::NotReachable,
        &[
            "unreachable",
            "customer not available",
            "client pas disponible",
            "not reachable",
            "cannot reach",
            "can t reach",
            "could not reach",
            "couldn t reach",
            "could not contact",
            "couldn t contact",
            "no answer from",
            "never answered",
            "does not answer",
            "doesn t answer",
            "not answering",
            "no response from",
            "wrong number",
            "bounced",
            "injoignable",
            "joignable",
            "pas reussi a joindre",
            "impossible de joindre",
            "impossible a joindre",
            "ne repond pas",
            "ne repond plus",
            "pas de reponse du client",
            "aucune reponse du client",
            "mauvais numero",
        ],
    ),
    (
        DeclineReason::BudgetTooSmall,
        &[
            "budget",
            "too small",
            "too little",
            "not worth",
            "deal size",
            "small deal",
            "low value",
            "too cheap",
            "trop petit",
            "trop petite",
            "trop faible",
            "pas rentable",
            "montant trop",
            "petit projet",
        ],
    ),
    (
        DeclineReason::NotAFit,
        &[
            "not a fit",
            "not a good fit",
            "good fit",
            "not really a fit",
            "no fit",
            "not interested",
            "no interest",
            "not our business",
            "not our field",
            "not our core",
            "not what we do",
            "we don t do",
            "we do not do",
            "don t offer",
            "do not offer",
            "don t sell",
            "do not sell",
            "expertise",
            "skills",
            "specialty",
            "speciality",
            "outside our scope",
            "out of scope",
            "wrong partner",
            "wrong product",
            "pas interesse",
            "pas interessee",
            "pas interesses",
            "pas interessees",
            "pas interessant",
            "ne nous interesse pas",
            "ne correspond pas",
            "pas notre metier",
            "pas notre coeur de metier",
            "pas notre domaine",
            "hors de notre domaine",
            "hors domaine",
            "hors perimetre",
            "hors de notre perimetre",
            "competence",
            "competences",
            "specialite",
            "nous ne faisons pas",
            "on ne fait pas",
            "nous ne proposons pas",
            "nous ne vendons pas",
            "pas notre offre",
        ],
    ),
    (
        DeclineReason::NoCapacity,
        &[
            "capacity",
            "fully booked",
            "booked until",
            "booked up",
            "too busy",
            "no bandwidth",
            "no resources",
            "not enough resources",
            "no availability",
            "not available",
            "unavailable",
            "no one available",
            "nobody available",
            "understaffed",
            "too big for us",
            "too large for us",
            "overloaded",
            "disponibilite",
            "pas disponible",
            "pas dispo",
            "indisponible",
            "complet",
            "complets",
            "equipe complete",
            "equipes completes",
            "trop de charge",
            "deborde",
            "debordes",
            "surcharge",
            "surcharges",
            "surchargee",
            "surchargees",
            "pas le temps",
            "pas les ressources",
            "manque de ressources",
            "pas assez de ressources",
            "trop gros",
            "trop grand",
            "trop important pour nous",
            "personne de disponible",
        ],
    ),
    (
        DeclineReason::OutsideRegion,
        &[
            "region",
            "territory",
            "geography",
            "geographic",
            "geographically",
            "too far",
            "country",
            "location",
            "we don t cover",
            "we do not cover",
            "not cover that area",
            "outside our area",
            "zone",
            "secteur geographique",
            "hors zone",
            "trop loin",
            "pays",
            "ne couvrons pas",
            "pas dans notre secteur",
            "hors de notre secteur",
        ],
    ),
];

/// The first reason of [`PHRASINGS`] one of whose phrasings the text holds.
fn reason_by_phrasing(written: &str) -> Option<DeclineReason> {
    let text = format!(" {} ", words_only(written));
    PHRASINGS.iter().find_map(|(reason, phrasings)| {
        phrasings
            .iter()
            .any(|phrasing| text.contains(&format!(" {phrasing} ")))
            .then_some(*reason)
    })
}

/// Folded words separated by single spaces: "Trop GROS, pour nous !" → "trop gros pour nous".
fn words_only(text: &str) -> String {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phrasing_is_written_folded() {
        for (reason, phrasings) in PHRASINGS {
            for phrasing in *phrasings {
                assert_eq!(words_only(phrasing), *phrasing, "{reason:?}");
            }
        }
    }

    #[test]
    fn every_reason_but_other_has_phrasings() {
        for reason in DeclineReason::ALL {
            let listed = PHRASINGS.iter().any(|(r, _)| r == reason);
            assert_eq!(listed, *reason != DeclineReason::Other, "{reason:?}");
        }
    }
}
