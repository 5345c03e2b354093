//! Finding the command line: every command word in both languages, the lead tag beside
//! it, and — when none is found — whether a line was a near miss worth a precise answer.

use super::fields::inline_field;
use super::messages::CommandError;
use super::text::{fold, is_blank, is_quoted, trim_separators};
use super::{CommandKind, Language, LeadId};

impl CommandKind {
    /// The command the life cycle names by its English word (`Action::name`, `allowed_next`).
    pub fn from_english(word: &str) -> Option<CommandKind> {
        CommandKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.word(Language::En) == word)
    }

    /// The word to write, as shown in examples and help.
    pub fn word(self, language: Language) -> &'static str {
        use CommandKind::*;
        match (self, language) {
            (Accept, Language::En) => "ACCEPT",
            (Accept, Language::Fr) => "ACCEPTER",
            (Decline, Language::En) => "DECLINE",
            (Decline, Language::Fr) => "REFUSER",
            (Won, Language::En) => "WON",
            (Won, Language::Fr) => "GAGNÉ",
            (Lost, Language::En) => "LOST",
            (Lost, Language::Fr) => "PERDU",
            (Edit, Language::En) => "EDIT",
            (Edit, Language::Fr) => "MODIFIER",
            (AddContact, Language::En) => "CONTACT",
            (AddContact, Language::Fr) => "AJOUTER CONTACT",
            (Favorite, Language::En) => "FAVORITE",
            (Favorite, Language::Fr) => "FAVORI",
            (Unfavorite, Language::En) => "UNFAVORITE",
            (Unfavorite, Language::Fr) => "RETIRER FAVORI",
            (Register, Language::En) => "REGISTER",
            (Register, Language::Fr) => "ENREGISTRER",
            (Answer, Language::En) => "ANSWER",
            (Answer, Language::Fr) => "RÉPONSE",
            (Approve, Language::En) => "APPROVE",
            (Approve, Language::Fr) => "APPROUVER",
            (Reject, Language::En) => "REJECT",
            (Reject, Language::Fr) => "REJETER",
            (Info, _) => "INFO",
            (Status, Language::En) => "STATUS",
            (Status, Language::Fr) => "STATUT",
            (List, Language::En) => "LIST",
            (List, Language::Fr) => "LISTE",
            (Help, Language::En) => "HELP",
            (Help, Language::Fr) => "AIDE",
        }
    }

    /// Commands that change a lead take nothing but a lead tag (or a field) on their line,
    /// so that a sentence starting with "Accept…" or "Lost…" is never taken for one.
    pub(super) fn takes_no_argument(self) -> bool {
        use CommandKind::*;
        matches!(
            self,
            Accept | Edit | Register | Won | Lost | Favorite | Unfavorite | Approve
        )
    }
}

/// How many short lines ("Hi,", "Bonjour Alice,") may come before the command.
pub(super) const MAX_LINES_BEFORE_COMMAND: usize = 2;
pub(super) const MAX_GREETING_CHARS: usize = 40;

/// The command line, found.
pub(super) struct CommandLine<'a> {
    pub(super) index: usize,
    pub(super) kind: CommandKind,
    pub(super) language: Language,
    /// The lead tag as written and the lead it names.
    pub(super) tag: Option<(&'a str, LeadId)>,
    /// What follows the command word and tag on the line, trimmed.
    pub(super) argument: &'a str,
}

pub(super) fn find_command_line<'a>(lines: &[&'a str]) -> Result<CommandLine<'a>, CommandError> {
    let mut before = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        if is_blank(line) || is_quoted(line) {
            continue;
        }
        if let Some(found) = read_command_line(index, line.trim()) {
            return Ok(found);
        }
        before.push(line.trim());
        if line.trim().chars().count() > MAX_GREETING_CHARS
            || before.len() > MAX_LINES_BEFORE_COMMAND
        {
            break;
        }
    }
    Err(before
        .iter()
        .find_map(|line| attempted_command(line))
        .unwrap_or(CommandError::NoCommand))
}

/// Reads `line` as a command line, or says it is not one.
pub(super) fn read_command_line(index: usize, line: &str) -> Option<CommandLine<'_>> {
    let (kind, language, rest) = match_command_word(line)?;
    let (tag, argument) = take_lead_tag(trim_separators(rest));
    let argument_fits = !kind.takes_no_argument()
        || argument.is_empty()
        || is_politeness(argument)
        || inline_field(kind, argument).is_some();
    argument_fits.then_some(CommandLine {
        index,
        kind,
        language,
        tag,
        argument,
    })
}

/// Every accepted spelling, folded (lower case, no accents), with its command and language.
pub(super) const SPELLINGS: &[(&str, CommandKind, Language)] = {
    use CommandKind::*;
    use Language::{En, Fr};
    &[
        ("accept", Accept, En),
        ("accepter", Accept, Fr),
        ("accepte", Accept, Fr),
        ("decline", Decline, En),
        ("refuser", Decline, Fr),
        ("won", Won, En),
        ("gagne", Won, Fr),
        ("lost", Lost, En),
        ("perdu", Lost, Fr),
        ("edit", Edit, En),
        ("modifier", Edit, Fr),
        ("contact", AddContact, En),
        ("add contact", AddContact, En),
        ("ajouter contact", AddContact, Fr),
        ("favorite", Favorite, En),
        ("favourite", Favorite, En),
        ("favori", Favorite, Fr),
        ("unfavorite", Unfavorite, En),
        ("unfavourite", Unfavorite, En),
        ("retirer favori", Unfavorite, Fr),
        ("register", Register, En),
        ("enregistrer", Register, Fr),
        ("answer", Answer, En),
        ("reponse", Answer, Fr),
        ("approve", Approve, En),
        ("approuver", Approve, Fr),
        ("reject", Reject, En),
        ("rejeter", Reject, Fr),
        ("info", Info, En),
        ("status", Status, En),
        ("statut", Status, Fr),
        ("list", List, En),
        ("liste", List, Fr),
        ("help", Help, En),
        ("aide", Help, Fr),
    ]
};

/// Punctuation that may stick to a command word: "ACCEPT:", "Accepted!" is not, "LOST." is.
pub(super) const WORD_PUNCTUATION: &[char] = &[':', ',', '.', ';', '!', '?'];

/// Matches the longest spelling at the start of the line, whole words only (so "won't" is
/// not WON). Returns the text after the matched words.
pub(super) fn match_command_word(line: &str) -> Option<(CommandKind, Language, &str)> {
    let spans = word_spans(line, 2);
    let folded: Vec<String> = spans
        .iter()
        .map(|&(start, end)| {
            fold(&line[start..end])
                .trim_end_matches(WORD_PUNCTUATION)
                .to_string()
        })
        .collect();
    let mut best: Option<(usize, CommandKind, Language)> = None;
    for &(spelling, kind, language) in SPELLINGS {
        let words: Vec<&str> = spelling.split(' ').collect();
        let matches =
            words.len() <= folded.len() && words.iter().zip(&folded).all(|(want, got)| want == got);
        if matches && best.is_none_or(|(len, _, _)| words.len() > len) {
            best = Some((words.len(), kind, language));
        }
    }
    let (len, kind, language) = best?;
    let end = spans.get(len - 1).map_or(line.len(), |&(_, end)| end);
    Some((kind, language, line.get(end..).unwrap_or("")))
}

/// The byte spans of the first `limit` whitespace-separated words of `text`.
pub(super) fn word_spans(text: &str, limit: usize) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                spans.push((s, i));
                start = None;
                if spans.len() == limit {
                    return spans;
                }
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

/// A lead tag — `L-1042`, `[L-1042]`, `(l-7)` — as the first word of the argument, or as
/// the last after at most one word ("DECLINE 2 [L-7]"). The `L-` is required: in
/// "DECLINE 2", 2 is a reason, not a lead. A tag ending a sentence ("REFUSER — doublon de
/// L-1038") is part of the sentence.
pub(super) fn take_lead_tag(argument: &str) -> (Option<(&str, LeadId)>, &str) {
    let as_tag = |word: &str| {
        let inner = word.trim_matches(|c: char| "[](),.:;#".contains(c));
        let prefixed =
            inner.len() > 2 && inner.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("l-"));
        LeadId::parse(inner).filter(|_| prefixed)
    };
    let first_end = argument.find(char::is_whitespace).unwrap_or(argument.len());
    let (first, after_first) = argument.split_at(first_end);
    if let Some(id) = as_tag(first) {
        return (Some((first, id)), trim_separators(after_first));
    }
    let last_start = argument
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8());
    let (before_last, last) = argument.split_at(last_start);
    match as_tag(last) {
        Some(id) if before_last.split_whitespace().count() <= 1 => {
            (Some((last, id)), before_last.trim_end())
        }
        _ => (None, argument),
    }
}

/// "thanks", "merci !", "please": harmless words after a command.
pub(super) fn is_politeness(text: &str) -> bool {
    const POLITE: &[&str] = &[
        "thanks",
        "thank",
        "you",
        "please",
        "ok",
        "merci",
        "beaucoup",
        "svp",
        "s'il",
        "vous",
        "plait",
        "cordialement",
        "regards",
        "best",
    ];
    fold(text)
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .all(|w| POLITE.contains(&w))
}

/// When no command was found: was one of the lines before an attempt at one?
/// ALL-CAPS words ("ACEPT", "CANCEL") and near misses ("Acept") count; exact but misused
/// command words ("ACCEPT 25k EUR") get a precise message.
pub(super) fn attempted_command(line: &str) -> Option<CommandError> {
    let first = line.split_whitespace().next()?;
    let word = first.trim_end_matches(WORD_PUNCTUATION);
    let letters_only = !word.is_empty() && word.chars().all(char::is_alphabetic);
    if !letters_only {
        return None;
    }
    let all_caps = word.chars().count() >= 3 && word.chars().all(char::is_uppercase);
    let folded = fold(word);
    if let Some(&(_, kind, _)) = SPELLINGS.iter().find(|(s, _, _)| *s == folded) {
        return all_caps.then(|| CommandError::UnexpectedText {
            command: kind,
            line: line.to_string(),
        });
    }
    let suggestion = nearest_command(&folded);
    (all_caps || suggestion.is_some()).then(|| CommandError::UnknownCommand {
        word: word.to_string(),
        line: line.to_string(),
        suggestion,
    })
}

/// The command whose first word is within a small edit distance of `folded`.
pub(super) fn nearest_command(folded: &str) -> Option<(CommandKind, Language)> {
    let length = folded.chars().count();
    if !(4..=24).contains(&length) {
        return None;
    }
    let allowed = if length <= 5 { 1 } else { 2 };
    SPELLINGS
        .iter()
        .map(|&(spelling, kind, language)| {
            let first = spelling.split(' ').next().unwrap_or(spelling);
            (edit_distance(folded, first), kind, language)
        })
        .filter(|(distance, _, _)| *distance <= allowed)
        .min_by_key(|(distance, _, _)| *distance)
        .map(|(_, kind, language)| (kind, language))
}

/// Levenshtein distance; only ever called on short words.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            let deletion = previous[j + 1] + 1;
            let insertion = current[j] + 1;
            current.push(substitution.min(deletion).min(insertion));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}
