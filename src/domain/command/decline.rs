//! A decline reason as partners write it: a number from the list, or their own words.

use super::DeclineReason;
use super::text::{fold, trim_separators};

/// A decline reason by number ("2", "2. No capacity", "2 - booked until March") or by words
/// of its label in either language or its snake name. Returns extra words after a number
/// that are not the reason's label, to keep as notes.
pub(super) fn read_reason(written: &str) -> Option<(DeclineReason, Option<String>)> {
    let written = written.trim();
    let digits_end = written
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(written.len());
    if digits_end == 0 {
        return reason_by_words(written).map(|reason| (reason, None));
    }
    let reason = written[..digits_end]
        .parse::<usize>()
        .ok()
        .and_then(DeclineReason::from_number)?;
    let rest = trim_separators(&written[digits_end..])
        .trim_start_matches(')')
        .trim();
    let repeats_label = rest.is_empty() || reason_by_words(rest) == Some(reason);
    Some((reason, (!repeats_label).then(|| rest.to_string())))
}

pub(super) fn reason_by_words(written: &str) -> Option<DeclineReason> {
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
