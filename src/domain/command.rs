//! The reply-command grammar: what a partner contact (or a deal reviewer) asks for in the
//! new text of a reply.
//!
//! ```text
//! Hi,                                   ← at most two short lines before the command
//! ACCEPT [L-1042]                       ← the command line: a command word, maybe a lead tag
//! Deal name: Teams rollout              ← `Field: value` lines, until a blank or other line
//! Value: 25k EUR
//!
//! Thanks, see you Monday.               ← prose: never read
//! ```
//! Only this command block executes. Words and labels are read in English and French,
//! case-insensitive, accents optional. Every value read is echoed back as [`Understood`], and
//! every refusal is a [`CommandError`] that carries a copy-pasteable example.
//!
//! Pure, panic-free and linear in the length of the text: hand-written line matching, no
//! regex. Only the few lines before the command are looked at for greetings.

use std::fmt;

use serde::Serialize;

use super::address::EmailAddress;
use super::lead::{DeclineReason, LeadContact, LeadId, Money};
use super::lifecycle::{Action, DealChanges, ReviewVerdict};

// ───────────────────────────── public types ─────────────────────────────

/// The language a person wrote their command in; answers and examples follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    En,
    Fr,
}

/// Which command, without its arguments: for examples, errors and the word table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandKind {
    Accept,
    Decline,
    Won,
    Lost,
    Edit,
    AddContact,
    Favorite,
    Unfavorite,
    Register,
    Answer,
    Approve,
    Reject,
    Info,
    Status,
    List,
    Help,
}

impl CommandKind {
    pub const ALL: &'static [CommandKind] = &[
        Self::Accept,
        Self::Decline,
        Self::Won,
        Self::Lost,
        Self::Edit,
        Self::AddContact,
        Self::Favorite,
        Self::Unfavorite,
        Self::Register,
        Self::Answer,
        Self::Approve,
        Self::Reject,
        Self::Info,
        Self::Status,
        Self::List,
        Self::Help,
    ];

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
    fn takes_no_argument(self) -> bool {
        use CommandKind::*;
        matches!(
            self,
            Accept | Edit | Register | Won | Lost | Favorite | Unfavorite | Approve
        )
    }
}

/// A command as read from a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Accept {
        deal: DealChanges,
        contacts: Vec<LeadContact>,
    },
    Decline {
        reason: DeclineReason,
        notes: Option<String>,
    },
    Won {
        notes: Option<String>,
    },
    Lost {
        notes: Option<String>,
    },
    Edit {
        deal: DealChanges,
    },
    AddContact(LeadContact),
    Favorite,
    Unfavorite,
    /// Registration fields as written, in order.
    Register {
        fields: Vec<(String, String)>,
    },
    Answer {
        answer: String,
    },
    Approve,
    Reject {
        reason: String,
    },
    Info {
        question: String,
    },
    Status,
    List,
    Help,
}

impl Command {
    /// The life-cycle action this command asks for; `None` for the read-only ones.
    pub fn into_action(self) -> Option<Action> {
        Some(match self {
            Self::Accept { deal, contacts } => Action::Accept { deal, contacts },
            Self::Decline { reason, notes } => Action::Decline { reason, notes },
            Self::Won { notes } => Action::Won { notes },
            Self::Lost { notes } => Action::Lost { notes },
            Self::Edit { deal } => Action::Edit { deal },
            Self::AddContact(contact) => Action::AddContact(contact),
            Self::Favorite => Action::SetFavorite(true),
            Self::Unfavorite => Action::SetFavorite(false),
            Self::Register { fields } => Action::Register { fields },
            Self::Answer { answer } => Action::AnswerReviewer { answer },
            Self::Approve => Action::Review(ReviewVerdict::Approve),
            Self::Reject { reason } => Action::Review(ReviewVerdict::Reject { reason }),
            Self::Info { question } => Action::Review(ReviewVerdict::RequestInfo { question }),
            Self::Status | Self::List | Self::Help => return None,
        })
    }

    pub fn kind(&self) -> CommandKind {
        match self {
            Self::Accept { .. } => CommandKind::Accept,
            Self::Decline { .. } => CommandKind::Decline,
            Self::Won { .. } => CommandKind::Won,
            Self::Lost { .. } => CommandKind::Lost,
            Self::Edit { .. } => CommandKind::Edit,
            Self::AddContact(_) => CommandKind::AddContact,
            Self::Favorite => CommandKind::Favorite,
            Self::Unfavorite => CommandKind::Unfavorite,
            Self::Register { .. } => CommandKind::Register,
            Self::Answer { .. } => CommandKind::Answer,
            Self::Approve => CommandKind::Approve,
            Self::Reject { .. } => CommandKind::Reject,
            Self::Info { .. } => CommandKind::Info,
            Self::Status => CommandKind::Status,
            Self::List => CommandKind::List,
            Self::Help => CommandKind::Help,
        }
    }

    /// The English command word, as in transcripts (matches `Action::name`).
    pub fn word(&self) -> &'static str {
        self.kind().word(Language::En)
    }
}

/// One value as the bot understood it, echoed back: `Value: 25k EUR → 25,000.00 EUR`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Understood {
    /// Canonical English label of the field.
    pub field: &'static str,
    pub written: String,
    pub read_as: String,
}

impl fmt::Display for Understood {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} → {}", self.field, self.written, self.read_as)
    }
}

/// A reply's command block, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCommand {
    pub command: Command,
    /// A lead tag written on the command line (`ACCEPT [L-1042]`). It names a lead; it never
    /// authorizes anything by itself.
    pub lead: Option<LeadId>,
    /// From the command word; CONTACT and INFO, the same in both languages, read as English.
    pub language: Language,
    pub understood: Vec<Understood>,
}

/// Why a reply's command could not be read. Each says what was wrong and where; `example`
/// gives a filled-in command to copy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error(
        "no command found: write a command (ACCEPT, DECLINE, WON, LOST, EDIT, CONTACT, HELP, …) \
         on the first line of your reply"
    )]
    NoCommand,
    #[error("`{word}` is not a command{}", did_you_mean(*suggestion))]
    UnknownCommand {
        word: String,
        line: String,
        suggestion: Option<(CommandKind, Language)>,
    },
    #[error(
        "`{line}`: {} takes nothing else on its line; write its fields on the following lines",
        command.word(Language::En)
    )]
    UnexpectedText { command: CommandKind, line: String },
    #[error("`{line}` is not a field of {}: {}", command.word(Language::En), field_names(*command))]
    UnknownField { command: CommandKind, line: String },
    #[error("{field} in `{line}` cannot be read: {reason}")]
    BadValue {
        command: CommandKind,
        field: &'static str,
        written: String,
        reason: String,
        line: String,
    },
    #[error("`{line}`: DECLINE needs a reason: give its number from the list, e.g. DECLINE 2")]
    MissingReason { line: String },
    #[error(
        "`{written}` is not one of the decline reasons: give its number from the list, \
         e.g. DECLINE 2"
    )]
    UnknownReason { written: String, line: String },
    #[error("`{line}`: EDIT needs at least one field to change on the following lines")]
    NothingToEdit { line: String },
    #[error("`{line}`: {} needs {field}", command.word(Language::En))]
    MissingField {
        command: CommandKind,
        field: &'static str,
        line: String,
    },
}

impl CommandError {
    /// What was wrong, in the reader's language (Display is the English text).
    pub fn message(&self, language: Language) -> String {
        if language == Language::En {
            return self.to_string();
        }
        let word = |kind: &CommandKind| kind.word(Language::Fr);
        match self {
            Self::NoCommand => "aucune commande trouvée : écrivez une commande (ACCEPTER, \
                REFUSER, GAGNÉ, PERDU, MODIFIER, AJOUTER CONTACT, AIDE, …) sur la première \
                ligne de votre réponse"
                .into(),
            Self::UnknownCommand {
                word: written,
                suggestion,
                ..
            } => match suggestion {
                Some((kind, _)) => format!(
                    "`{written}` n'est pas une commande — vouliez-vous dire {} ?",
                    kind.word(Language::Fr)
                ),
                None => format!(
                    "`{written}` n'est pas une commande (répondez AIDE pour la liste des commandes)"
                ),
            },
            Self::UnexpectedText { command, line } => format!(
                "`{line}` : {} ne prend rien d'autre sur sa ligne ; écrivez ses champs sur les \
                 lignes suivantes",
                word(command)
            ),
            Self::UnknownField { command, line } => {
                let names: Vec<&str> = fields_of(*command).iter().map(|f| f.label()).collect();
                format!(
                    "`{line}` n'est pas un champ de {} (ses champs : {})",
                    word(command),
                    names.join(", ")
                )
            }
            Self::BadValue {
                field,
                reason,
                line,
                ..
            } => format!("{field} dans `{line}` ne peut pas être lu : {reason}"),
            Self::MissingReason { line } => format!(
                "`{line}` : REFUSER demande un motif : donnez son numéro dans la liste, \
                 par exemple REFUSER 2"
            ),
            Self::UnknownReason { written, .. } => format!(
                "`{written}` n'est pas un des motifs de refus : donnez son numéro dans la liste, \
                 par exemple REFUSER 2"
            ),
            Self::NothingToEdit { line } => format!(
                "`{line}` : MODIFIER demande au moins un champ à changer sur les lignes suivantes"
            ),
            Self::MissingField {
                command,
                field,
                line,
            } => format!("`{line}` : {} demande {field}", word(command)),
        }
    }

    /// A correct, filled-in example of what the person attempted, ready to copy.
    pub fn example(&self, language: Language) -> String {
        match self {
            Self::NoCommand
            | Self::UnknownCommand {
                suggestion: None, ..
            } => command_summary(language),
            Self::UnknownCommand {
                suggestion: Some((kind, _)),
                ..
            } => example(*kind, language),
            Self::UnexpectedText { command, .. }
            | Self::UnknownField { command, .. }
            | Self::BadValue { command, .. }
            | Self::MissingField { command, .. } => example(*command, language),
            Self::MissingReason { .. } | Self::UnknownReason { .. } => {
                example(CommandKind::Decline, language)
            }
            Self::NothingToEdit { .. } => example(CommandKind::Edit, language),
        }
    }
}

fn did_you_mean(suggestion: Option<(CommandKind, Language)>) -> String {
    suggestion.map_or_else(
        || " (write HELP for the list of commands)".to_string(),
        |(kind, language)| format!(" — did you mean {}?", kind.word(language)),
    )
}

fn field_names(kind: CommandKind) -> String {
    let fields = fields_of(kind);
    if fields.is_empty() {
        return "it takes no fields".into();
    }
    let names: Vec<&str> = fields.iter().map(|f| f.label()).collect();
    format!("its fields are {}", names.join(", "))
}

// ───────────────────────────── parsing ─────────────────────────────

/// Reads the command block of a reply's new text. Quoted (`>`) lines are never read.
pub fn parse_command(text: &str) -> Result<ParsedCommand, CommandError> {
    let lines: Vec<&str> = text.lines().collect();
    let found = find_command_line(&lines)?;
    let mut understood = Vec::new();
    if let Some((written, id)) = &found.tag {
        understood.push(Understood {
            field: "Lead",
            written: (*written).to_string(),
            read_as: id.to_string(),
        });
    }
    let after = lines.get(found.index + 1..).unwrap_or_default();
    let mut reader = Reader {
        kind: found.kind,
        language: found.language,
        line: lines.get(found.index).map_or("", |l| l.trim()),
        understood,
    };
    let command = reader.read(found.argument, after)?;
    Ok(ParsedCommand {
        command,
        lead: found.tag.map(|(_, id)| id),
        language: found.language,
        understood: reader.understood,
    })
}

/// How many short lines ("Hi,", "Bonjour Alice,") may come before the command.
const MAX_LINES_BEFORE_COMMAND: usize = 2;
const MAX_GREETING_CHARS: usize = 40;

/// The command line, found.
struct CommandLine<'a> {
    index: usize,
    kind: CommandKind,
    language: Language,
    /// The lead tag as written and the lead it names.
    tag: Option<(&'a str, LeadId)>,
    /// What follows the command word and tag on the line, trimmed.
    argument: &'a str,
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

fn find_command_line<'a>(lines: &[&'a str]) -> Result<CommandLine<'a>, CommandError> {
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
fn read_command_line(index: usize, line: &str) -> Option<CommandLine<'_>> {
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
const SPELLINGS: &[(&str, CommandKind, Language)] = {
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
const WORD_PUNCTUATION: &[char] = &[':', ',', '.', ';', '!', '?'];

/// Matches the longest spelling at the start of the line, whole words only (so "won't" is
/// not WON). Returns the text after the matched words.
fn match_command_word(line: &str) -> Option<(CommandKind, Language, &str)> {
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
fn word_spans(text: &str, limit: usize) -> Vec<(usize, usize)> {
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

/// Strips what people put between a command word and its argument: "REJECT: …", "DECLINE - 2".
fn trim_separators(text: &str) -> &str {
    text.trim_start_matches(|c: char| c.is_whitespace() || ":,-–—.;".contains(c))
        .trim_end()
}

/// A lead tag — `L-1042`, `[L-1042]`, `(l-7)` — as the first or last word of the argument.
/// The `L-` is required there: in "DECLINE 2", 2 is a reason, not a lead.
fn take_lead_tag(argument: &str) -> (Option<(&str, LeadId)>, &str) {
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
        Some(id) => (Some((last, id)), before_last.trim_end()),
        None => (None, argument),
    }
}

/// "thanks", "merci !", "please": harmless words after a command.
fn is_politeness(text: &str) -> bool {
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
fn attempted_command(line: &str) -> Option<CommandError> {
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
fn nearest_command(folded: &str) -> Option<(CommandKind, Language)> {
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
fn edit_distance(a: &str, b: &str) -> usize {
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

// ───────────────────────────── fields ─────────────────────────────

/// A field a command may take, with its labels in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    DealName,
    Value,
    Timeframe,
    Notes,
    CrmId,
    CampaignId,
    Contact,
    Reason,
    Name,
    Phone,
    Email,
}

impl Field {
    /// Canonical English label, used in echoes and messages.
    fn label(self) -> &'static str {
        match self {
            Self::DealName => "Deal name",
            Self::Value => "Value",
            Self::Timeframe => "Timeframe",
            Self::Notes => "Notes",
            Self::CrmId => "CRM ID",
            Self::CampaignId => "Campaign ID",
            Self::Contact => "Contact",
            Self::Reason => "Reason",
            Self::Name => "Name",
            Self::Phone => "Phone",
            Self::Email => "Email",
        }
    }

    /// Accepted labels, folded (see `fold_label`).
    fn spellings(self) -> &'static [&'static str] {
        match self {
            Self::DealName => &[
                "deal name",
                "deal",
                "nom de l'affaire",
                "nom de l affaire",
                "nom affaire",
                "affaire",
            ],
            Self::Value => &["value", "deal value", "amount", "valeur", "montant"],
            Self::Timeframe => &["timeframe", "time frame", "delai", "echeance"],
            Self::Notes => &[
                "notes",
                "note",
                "comment",
                "comments",
                "remarques",
                "remarque",
                "commentaire",
                "commentaires",
            ],
            Self::CrmId => &["crm id", "crm", "id crm", "identifiant crm"],
            Self::CampaignId => &[
                "campaign id",
                "campaign",
                "id campagne",
                "campagne",
                "identifiant campagne",
            ],
            Self::Contact => &["contact"],
            Self::Reason => &["reason", "raison", "motif"],
            Self::Name => &["name", "nom", "full name", "nom complet"],
            Self::Phone => &["phone", "telephone", "tel", "mobile", "portable"],
            Self::Email => &["email", "e mail", "mail", "courriel"],
        }
    }
}

/// The fields each command reads from its block. REGISTER takes any label; ANSWER and INFO
/// take free text instead.
fn fields_of(kind: CommandKind) -> &'static [Field] {
    use Field::*;
    const DEAL: &[Field] = &[DealName, Value, Timeframe, Notes, CrmId, CampaignId];
    match kind {
        CommandKind::Accept => &[
            DealName, Value, Timeframe, Notes, CrmId, CampaignId, Contact,
        ],
        CommandKind::Edit => DEAL,
        CommandKind::Decline => &[Reason, Notes],
        CommandKind::Won => &[Notes],
        CommandKind::Lost => &[Reason, Notes],
        CommandKind::AddContact => &[Name, Phone, Email],
        CommandKind::Reject => &[Reason],
        _ => &[],
    }
}

fn field_named(kind: CommandKind, label: &str) -> Option<Field> {
    let folded = fold_label(label);
    fields_of(kind)
        .iter()
        .copied()
        .find(|field| field.spellings().contains(&folded.as_str()))
}

/// A `Label: value` line, as written.
#[derive(Debug, Clone, Copy)]
struct FieldLine<'a> {
    label: &'a str,
    value: &'a str,
    line: &'a str,
}

/// Splits a line shaped like a field: a short label of words, a colon, a value. French
/// "Valeur : 25 000 €" (space before the colon) is a field; "https://…" and "10:30" are not.
fn split_field(line: &str) -> Option<FieldLine<'_>> {
    let line = line.trim();
    let (label, value) = line.split_once(':')?;
    let label = label.trim();
    let value = value.trim();
    let label_shaped = !label.is_empty()
        && label.chars().count() <= 40
        && label.split_whitespace().count() <= 5
        && label.chars().any(char::is_alphabetic)
        && label
            .chars()
            .all(|c| c.is_alphanumeric() || c.is_whitespace() || "-_'’./()#".contains(c));
    (label_shaped && !value.starts_with("//")).then_some(FieldLine { label, value, line })
}

/// The argument on the command line itself read as a field ("ACCEPT Value: 25k EUR").
fn inline_field(kind: CommandKind, argument: &str) -> Option<FieldLine<'_>> {
    split_field(argument)
        .filter(|field| kind == CommandKind::Register || field_named(kind, field.label).is_some())
}

/// The `Field: value` lines right after the command line: the block ends at a blank line, a
/// quoted line or any line not shaped like a field (prose).
fn block_lines<'a>(after: &[&'a str]) -> Vec<FieldLine<'a>> {
    after
        .iter()
        .take_while(|line| !is_blank(line) && !is_quoted(line))
        .map_while(|line| split_field(line))
        .collect()
}

/// The block's field lines, with a field written on the command line itself put first; the
/// argument left over is returned (empty when it was that field).
fn block_with_inline_field<'a>(
    kind: CommandKind,
    argument: &'a str,
    after: &[&'a str],
) -> (&'a str, Vec<FieldLine<'a>>) {
    let mut lines = block_lines(after);
    match inline_field(kind, argument) {
        Some(field) => {
            lines.insert(0, field);
            ("", lines)
        }
        None => (argument, lines),
    }
}

/// Everything after the command line that is not quoted: ANSWER's answer, INFO's question.
fn following_text(after: &[&str]) -> String {
    let kept: Vec<&str> = after.iter().copied().filter(|l| !is_quoted(l)).collect();
    kept.join("\n").trim().to_string()
}

// ───────────────────────────── building commands ─────────────────────────────

/// Reads one command's arguments and remembers what it understood.
struct Reader<'a> {
    kind: CommandKind,
    language: Language,
    /// The command line as written, for error messages.
    line: &'a str,
    understood: Vec<Understood>,
}

impl<'a> Reader<'a> {
    fn read(&mut self, argument: &'a str, after: &[&'a str]) -> Result<Command, CommandError> {
        use CommandKind::*;
        let (argument, lines) = block_with_inline_field(self.kind, argument, after);
        match self.kind {
            Accept => self.read_accept(&self.resolve(&lines)?),
            Edit => self.read_edit(&self.resolve(&lines)?),
            Decline => self.read_decline(argument, &self.resolve(&lines)?),
            Won => {
                let fields = self.resolve(&lines)?;
                let notes = self.text_of(&fields, Field::Notes);
                Ok(Command::Won { notes })
            }
            Lost => Ok(self.read_lost(&self.resolve(&lines)?)),
            AddContact => self.read_add_contact(argument, &self.resolve(&lines)?),
            Reject => self.read_reject(argument, &self.resolve(&lines)?),
            Register => self.read_registration(&lines),
            Answer | Info => self.read_free_text(argument, after),
            // These take no fields, but a field line after them is still a mistake to report.
            Favorite => self.resolve(&lines).map(|_| Command::Favorite),
            Unfavorite => self.resolve(&lines).map(|_| Command::Unfavorite),
            Approve => self.resolve(&lines).map(|_| Command::Approve),
            Status => Ok(Command::Status),
            List => Ok(Command::List),
            Help => Ok(Command::Help),
        }
    }

    /// Names each field line, refusing short labels the command does not take ("Budget:").
    /// An unknown label of more than three words is a sentence ("See you on Monday: …") and
    /// ends the block. Empty values are skipped: notifications may carry a block of blank
    /// fields to fill in.
    fn resolve(
        &self,
        lines: &[FieldLine<'a>],
    ) -> Result<Vec<(Field, FieldLine<'a>)>, CommandError> {
        const LONGEST_LABEL_WORDS: usize = 3;
        let mut fields = Vec::new();
        for line in lines {
            let field = match field_named(self.kind, line.label) {
                Some(field) => field,
                None if line.label.split_whitespace().count() > LONGEST_LABEL_WORDS => break,
                None => {
                    return Err(CommandError::UnknownField {
                        command: self.kind,
                        line: line.line.to_string(),
                    });
                }
            };
            if !line.value.is_empty() {
                fields.push((field, *line));
            }
        }
        Ok(fields)
    }

    fn echo(&mut self, field: Field, written: &str, read_as: String) {
        self.understood.push(Understood {
            field: field.label(),
            written: written.to_string(),
            read_as,
        });
    }

    /// The last value given for a free-text field, echoed as is.
    fn text_of(&mut self, fields: &[(Field, FieldLine<'_>)], wanted: Field) -> Option<String> {
        let (_, line) = fields.iter().rev().find(|(field, _)| *field == wanted)?;
        self.echo(wanted, line.value, line.value.to_string());
        Some(line.value.to_string())
    }

    fn bad_value(&self, field: Field, written: &str, reason: String, line: &str) -> CommandError {
        CommandError::BadValue {
            command: self.kind,
            field: field.label(),
            written: written.to_string(),
            reason,
            line: line.to_string(),
        }
    }

    fn read_deal(
        &mut self,
        fields: &[(Field, FieldLine<'_>)],
    ) -> Result<DealChanges, CommandError> {
        let mut deal = DealChanges::default();
        for (field, line) in fields {
            let text = Some(line.value.to_string());
            match field {
                Field::DealName => deal.name = text,
                Field::Timeframe => deal.timeframe = text,
                Field::Notes => deal.notes = text,
                Field::CrmId => deal.crm_id = text,
                Field::CampaignId => deal.campaign_id = text,
                Field::Value => {
                    let money = Money::parse(line.value, None).map_err(|error| {
                        self.bad_value(*field, line.value, error.to_string(), line.line)
                    })?;
                    self.echo(*field, line.value, money.to_string());
                    deal.value = Some(money);
                    continue;
                }
                _ => continue,
            }
            self.echo(*field, line.value, line.value.to_string());
        }
        Ok(deal)
    }

    fn read_accept(&mut self, fields: &[(Field, FieldLine<'_>)]) -> Result<Command, CommandError> {
        let deal = self.read_deal(fields)?;
        let mut contacts = Vec::new();
        for (_, line) in fields.iter().filter(|(field, _)| *field == Field::Contact) {
            let contact = read_contact(line.value)
                .map_err(|reason| self.bad_value(Field::Contact, line.value, reason, line.line))?;
            self.echo(
                Field::Contact,
                line.value,
                describe_contact(&contact, self.language),
            );
            contacts.push(contact);
        }
        Ok(Command::Accept { deal, contacts })
    }

    fn read_edit(&mut self, fields: &[(Field, FieldLine<'_>)]) -> Result<Command, CommandError> {
        let deal = self.read_deal(fields)?;
        if deal.is_empty() {
            return Err(CommandError::NothingToEdit {
                line: self.line.to_string(),
            });
        }
        Ok(Command::Edit { deal })
    }

    /// The reason comes from a Reason line or the command line ("DECLINE 2"); words after
    /// the number that are not the reason's label become notes, unless Notes is given.
    fn read_decline(
        &mut self,
        argument: &str,
        fields: &[(Field, FieldLine<'_>)],
    ) -> Result<Command, CommandError> {
        let reason_line = fields
            .iter()
            .rev()
            .find(|(field, _)| *field == Field::Reason);
        let (written, line) = match reason_line {
            Some((_, field_line)) => (field_line.value, field_line.line),
            None if !argument.is_empty() => (argument, self.line),
            None => {
                return Err(CommandError::MissingReason {
                    line: self.line.to_string(),
                });
            }
        };
        let (reason, extra) = read_reason(written).ok_or_else(|| CommandError::UnknownReason {
            written: written.to_string(),
            line: line.to_string(),
        })?;
        let label = match self.language {
            Language::En => reason.label(),
            Language::Fr => reason.label_fr(),
        };
        self.echo(
            Field::Reason,
            written,
            format!("{}. {label}", reason.number()),
        );
        let notes = self.text_of(fields, Field::Notes).or(extra);
        Ok(Command::Decline { reason, notes })
    }

    /// LOST keeps its reason in the notes: the life cycle records LOST with notes only.
    fn read_lost(&mut self, fields: &[(Field, FieldLine<'_>)]) -> Command {
        let reason = self.text_of(fields, Field::Reason);
        let notes = self.text_of(fields, Field::Notes);
        let notes = match (reason, notes) {
            (Some(reason), Some(notes)) => Some(format!("{reason} — {notes}")),
            (reason, notes) => reason.or(notes),
        };
        Command::Lost { notes }
    }

    /// CONTACT on one line ("CONTACT Jean Roy, +33 6 …, jean@client.test") and/or Name,
    /// Phone and Email lines; the lines complete or correct the one-line form.
    fn read_add_contact(
        &mut self,
        argument: &str,
        fields: &[(Field, FieldLine<'_>)],
    ) -> Result<Command, CommandError> {
        let mut contact = LeadContact::default();
        if !argument.is_empty() {
            contact = read_contact_parts(argument)
                .map_err(|reason| self.bad_value(Field::Contact, argument, reason, self.line))?;
        }
        for (field, line) in fields {
            match field {
                Field::Name => contact.name = line.value.to_string(),
                Field::Phone => contact.phone = Some(line.value.to_string()),
                Field::Email => {
                    let email = EmailAddress::parse(line.value).map_err(|error| {
                        self.bad_value(*field, line.value, error.to_string(), line.line)
                    })?;
                    contact.email = Some(email.to_string());
                }
                _ => {}
            }
        }
        let written = if argument.is_empty() {
            fields
                .iter()
                .map(|(_, l)| l.value)
                .collect::<Vec<_>>()
                .join(", ")
        } else {
            argument.to_string()
        };
        check_contact(&contact).map_err(|gap| CommandError::MissingField {
            command: self.kind,
            field: gap.wanted(),
            line: self.line.to_string(),
        })?;
        self.echo(
            Field::Contact,
            &written,
            describe_contact(&contact, self.language),
        );
        Ok(Command::AddContact(contact))
    }

    fn read_reject(
        &mut self,
        argument: &str,
        fields: &[(Field, FieldLine<'_>)],
    ) -> Result<Command, CommandError> {
        let reason = match self.text_of(fields, Field::Reason) {
            Some(reason) => reason,
            None if !argument.is_empty() => {
                self.echo(Field::Reason, argument, argument.to_string());
                argument.to_string()
            }
            None => {
                return Err(CommandError::MissingField {
                    command: self.kind,
                    field: "a reason",
                    line: self.line.to_string(),
                });
            }
        };
        Ok(Command::Reject { reason })
    }

    /// REGISTER keeps every `Field: value` line, in order, as written.
    fn read_registration(&mut self, lines: &[FieldLine<'_>]) -> Result<Command, CommandError> {
        let fields: Vec<(String, String)> = lines
            .iter()
            .filter(|line| !line.value.is_empty())
            .map(|line| (line.label.to_string(), line.value.to_string()))
            .collect();
        if fields.is_empty() {
            return Err(CommandError::MissingField {
                command: self.kind,
                field: "at least one `Field: value` line",
                line: self.line.to_string(),
            });
        }
        for (label, value) in &fields {
            self.understood.push(Understood {
                field: "Registration",
                written: format!("{label}: {value}"),
                read_as: format!("{label}: {value}"),
            });
        }
        Ok(Command::Register { fields })
    }

    /// ANSWER and INFO take the rest of the line and the text below it.
    fn read_free_text(&mut self, argument: &str, after: &[&str]) -> Result<Command, CommandError> {
        let below = following_text(after);
        let text = match (argument.is_empty(), below.is_empty()) {
            (true, _) => below,
            (false, true) => argument.to_string(),
            (false, false) => format!("{argument}\n{below}"),
        };
        let (field, command) = match self.kind {
            CommandKind::Answer => (
                "Answer",
                Command::Answer {
                    answer: text.clone(),
                },
            ),
            _ => (
                "Question",
                Command::Info {
                    question: text.clone(),
                },
            ),
        };
        if text.is_empty() {
            let needs = if field == "Answer" {
                "an answer"
            } else {
                "a question"
            };
            return Err(CommandError::MissingField {
                command: self.kind,
                field: needs,
                line: self.line.to_string(),
            });
        }
        self.understood.push(Understood {
            field,
            written: text.clone(),
            read_as: text,
        });
        Ok(command)
    }
}

// ───────────────────────────── values ─────────────────────────────

/// "Name, phone, email" in any order: the part with an `@` is the email, the part made of
/// digits and phone punctuation is the phone, the rest is the name.
fn read_contact(written: &str) -> Result<LeadContact, String> {
    let contact = read_contact_parts(written)?;
    check_contact(&contact).map_err(|gap| gap.to_string())?;
    Ok(contact)
}

fn read_contact_parts(written: &str) -> Result<LeadContact, String> {
    let mut names = Vec::new();
    let mut contact = LeadContact::default();
    for part in written
        .split([',', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        if part.contains('@') {
            let (name, address) = split_named_address(part);
            names.extend(name);
            let email = EmailAddress::parse(address).map_err(|error| error.to_string())?;
            if contact.email.replace(email.to_string()).is_some() {
                return Err(format!(
                    "`{written}` has two email addresses: one contact at a time"
                ));
            }
        } else if looks_like_phone(part) {
            if contact.phone.replace(part.to_string()).is_some() {
                return Err(format!(
                    "`{written}` has two phone numbers: one contact at a time"
                ));
            }
        } else if part.chars().filter(char::is_ascii_digit).count() >= 3 {
            return Err(format!(
                "`{part}` mixes a name and digits: separate name, phone and email with commas"
            ));
        } else {
            names.push(part);
        }
    }
    contact.name = names.join(", ");
    Ok(contact)
}

/// "Jean Roy <jean@client.test>" → ("Jean Roy", "jean@client.test").
fn split_named_address(part: &str) -> (Option<&str>, &str) {
    let bracketed = part
        .split_once('<')
        .and_then(|(name, rest)| rest.strip_suffix('>').map(|address| (name.trim(), address)));
    match bracketed {
        Some((name, address)) if !name.is_empty() => (Some(name), address),
        Some((_, address)) => (None, address),
        None => (None, part),
    }
}

fn looks_like_phone(part: &str) -> bool {
    part.chars().filter(char::is_ascii_digit).count() >= 6
        && part
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_whitespace() || "+.-()/".contains(c))
}

/// What a contact lacks to be worth adding.
#[derive(Debug, thiserror::Error)]
enum ContactGap {
    #[error("a contact needs a name, e.g. Jean Roy, +33 6 12 34 56 78, jean@client.test")]
    Name,
    #[error("a contact needs a phone number or an email address, e.g. Jean Roy, +33 6 12 34 56 78")]
    Reach,
}

impl ContactGap {
    fn wanted(&self) -> &'static str {
        match self {
            Self::Name => "a name (Name: Jean Roy)",
            Self::Reach => "a phone number or an email address (Phone: +33 6 12 34 56 78)",
        }
    }
}

/// A contact needs a name and a way to reach them: "Contact the customer tomorrow" is not
/// a contact named "the customer tomorrow".
fn check_contact(contact: &LeadContact) -> Result<(), ContactGap> {
    if contact.name.trim().is_empty() {
        Err(ContactGap::Name)
    } else if contact.phone.is_none() && contact.email.is_none() {
        Err(ContactGap::Reach)
    } else {
        Ok(())
    }
}

fn describe_contact(contact: &LeadContact, language: Language) -> String {
    let (phone, email) = match language {
        Language::En => ("phone", "email"),
        Language::Fr => ("téléphone", "e-mail"),
    };
    let mut parts = vec![contact.name.clone()];
    parts.extend(contact.phone.as_ref().map(|p| format!("{phone} {p}")));
    parts.extend(contact.email.as_ref().map(|e| format!("{email} {e}")));
    parts.join(" · ")
}

/// A decline reason by number ("2", "2. No capacity", "2 - booked until March") or by words
/// of its label in either language or its snake name. Returns extra words after a number
/// that are not the reason's label, to keep as notes.
fn read_reason(written: &str) -> Option<(DeclineReason, Option<String>)> {
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

fn reason_by_words(written: &str) -> Option<DeclineReason> {
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

// ───────────────────────────── text helpers ─────────────────────────────

/// Lower case without accents, typographic apostrophes made plain, so "GAGNÉ", "gagne" and
/// "Gagné" compare equal. Combining accents (decomposed text) are dropped too.
fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' => folded.push('a'),
            'ç' => folded.push('c'),
            'é' | 'è' | 'ê' | 'ë' => folded.push('e'),
            'î' | 'ï' | 'í' | 'ì' => folded.push('i'),
            'ô' | 'ö' | 'ó' | 'ò' | 'õ' => folded.push('o'),
            'ù' | 'û' | 'ü' | 'ú' => folded.push('u'),
            'ÿ' | 'ý' => folded.push('y'),
            'ñ' => folded.push('n'),
            'œ' => folded.push_str("oe"),
            'æ' => folded.push_str("ae"),
            '’' | '‘' | 'ʼ' | '`' | '´' => folded.push('\''),
            '\u{300}'..='\u{36f}' => {}
            other => folded.push(other),
        }
    }
    folded
}

/// A field label folded for lookup: "E-mail" → "e mail", "Tél." → "tel",
/// "Nom de l’affaire" → "nom de l'affaire".
fn fold_label(label: &str) -> String {
    let folded = fold(label);
    let spaced: String = folded
        .chars()
        .map(|c| if "-_.".contains(c) { ' ' } else { c })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ───────────────────────────── examples and help ─────────────────────────────

/// A filled-in example of one command, ready to copy.
pub fn example(kind: CommandKind, language: Language) -> String {
    use CommandKind::*;
    let block = match (kind, language) {
        (Accept, Language::En) => {
            "ACCEPT\nDeal name: Teams rollout for Fabrikam\nValue: 25,000 EUR\nTimeframe: Q2 2027\n\
             Notes: Kick-off call booked for Monday\nCRM ID: OPP-4711\nCampaign ID: CAMP-2026-11\n\
             Contact: Jean Roy, +33 6 12 34 56 78, jean@client.test"
        }
        (Accept, Language::Fr) => {
            "ACCEPTER\nNom de l'affaire : Déploiement Teams pour Fabrikam\nValeur : 25 000 €\n\
             Délai : T2 2027\nNotes : Premier appel prévu lundi\nID CRM : OPP-4711\n\
             ID campagne : CAMP-2026-11\nContact : Jean Roy, +33 6 12 34 56 78, jean@client.test"
        }
        (Decline, Language::En) => "DECLINE\nReason: 2\nNotes: Fully booked until March",
        (Decline, Language::Fr) => "REFUSER\nMotif : 2\nNotes : Complet jusqu'en mars",
        (Won, Language::En) => "WON\nNotes: Signed on 12 March, 3-year agreement",
        (Won, Language::Fr) => "GAGNÉ\nNotes : Signé le 12 mars, contrat de 3 ans",
        (Lost, Language::En) => "LOST\nReason: Budget frozen until next year",
        (Lost, Language::Fr) => "PERDU\nRaison : Budget gelé jusqu'à l'an prochain",
        (Edit, Language::En) => "EDIT\nValue: 32,000 EUR\nTimeframe: Q3 2027",
        (Edit, Language::Fr) => "MODIFIER\nValeur : 32 000 €\nDélai : T3 2027",
        (AddContact, Language::En) => {
            "CONTACT\nName: Jean Roy\nPhone: +33 6 12 34 56 78\nEmail: jean@client.test\n\n\
             (or on one line: CONTACT Jean Roy, +33 6 12 34 56 78, jean@client.test)"
        }
        (AddContact, Language::Fr) => {
            "AJOUTER CONTACT\nNom : Jean Roy\nTéléphone : +33 6 12 34 56 78\n\
             E-mail : jean@client.test\n\n\
             (ou sur une ligne : AJOUTER CONTACT Jean Roy, +33 6 12 34 56 78, jean@client.test)"
        }
        (Register, Language::En) => {
            "REGISTER\nSolution: Azure migration\nCustomer tenant: fabrikam.onmicrosoft.com\n\
             Estimated monthly usage: 4,000 USD"
        }
        (Register, Language::Fr) => {
            "ENREGISTRER\nSolution : Migration Azure\nTenant du client : fabrikam.onmicrosoft.com\n\
             Consommation mensuelle estimée : 4 000 USD"
        }
        (Answer, Language::En) => "ANSWER\nThe customer uses a pay-as-you-go subscription.",
        (Answer, Language::Fr) => "RÉPONSE\nLe client utilise un abonnement à l'usage.",
        (Reject, Language::En) => "REJECT The customer is not eligible for this program",
        (Reject, Language::Fr) => "REJETER Le client n'est pas éligible à ce programme",
        (Info, Language::En) => "INFO Which Azure subscription will the customer use?",
        (Info, Language::Fr) => "INFO Quel abonnement Azure le client utilisera-t-il ?",
        (Favorite | Unfavorite | Approve | Status | List | Help, _) => kind.word(language),
    };
    if kind == Decline {
        format!("{block}\n\n{}", reason_list(language))
    } else {
        block.to_string()
    }
}

/// The numbered decline reasons, as partners pick from them.
pub fn reason_list(language: Language) -> String {
    let title = match language {
        Language::En => "Reasons:",
        Language::Fr => "Motifs :",
    };
    let mut list = title.to_string();
    for reason in DeclineReason::ALL {
        let label = match language {
            Language::En => reason.label(),
            Language::Fr => reason.label_fr(),
        };
        list.push_str(&format!("\n  {}. {label}", reason.number()));
    }
    list
}

/// What each command is for, one line.
fn purpose(kind: CommandKind, language: Language) -> &'static str {
    use CommandKind::*;
    match (kind, language) {
        (Accept, Language::En) => "take the lead; every field is optional, Contact may repeat",
        (Accept, Language::Fr) => "prendre la demande ; tous les champs sont facultatifs",
        (Decline, Language::En) => "pass on the lead, with the number of a reason below",
        (Decline, Language::Fr) => "refuser la demande, avec le numéro d'un motif ci-dessous",
        (Won, Language::En) => "the accepted deal is won",
        (Won, Language::Fr) => "l'affaire acceptée est gagnée",
        (Lost, Language::En) => "the accepted deal is lost",
        (Lost, Language::Fr) => "l'affaire acceptée est perdue",
        (Edit, Language::En) => "change deal fields (at least one)",
        (Edit, Language::Fr) => "modifier des champs de l'affaire (au moins un)",
        (AddContact, Language::En) => "add a customer contact: name, phone and/or email",
        (AddContact, Language::Fr) => "ajouter un contact client : nom, téléphone et/ou e-mail",
        (Favorite, Language::En) => "bookmark the lead",
        (Favorite, Language::Fr) => "marquer la demande comme favorite",
        (Unfavorite, Language::En) => "remove the bookmark",
        (Unfavorite, Language::Fr) => "retirer la demande des favoris",
        (Register, Language::En) => "register a won deal: any `Field: value` lines",
        (Register, Language::Fr) => "enregistrer une affaire gagnée : lignes `Champ : valeur`",
        (Answer, Language::En) => "answer a reviewer's question",
        (Answer, Language::Fr) => "répondre à la question d'un vérificateur",
        (Approve, Language::En) => "(reviewers) approve the registration",
        (Approve, Language::Fr) => "(vérificateurs) approuver l'enregistrement",
        (Reject, Language::En) => "(reviewers) reject it, with a reason",
        (Reject, Language::Fr) => "(vérificateurs) le rejeter, avec une raison",
        (Info, Language::En) => "(reviewers) ask the partner a question",
        (Info, Language::Fr) => "(vérificateurs) poser une question au partenaire",
        (Status, Language::En) => "the lead's state and what you can do next",
        (Status, Language::Fr) => "l'état de la demande et les actions possibles",
        (List, Language::En) => "your open leads",
        (List, Language::Fr) => "vos demandes en cours",
        (Help, Language::En) => "this help",
        (Help, Language::Fr) => "cette aide",
    }
}

/// One line per command: what NoCommand answers with.
fn command_summary(language: Language) -> String {
    let title = match language {
        Language::En => "Reply with one of these commands on the first line:",
        Language::Fr => "Répondez avec l'une de ces commandes en première ligne :",
    };
    let mut summary = title.to_string();
    for kind in CommandKind::ALL {
        summary.push_str(&format!(
            "\n  {:<16} {}",
            kind.word(language),
            purpose(*kind, language)
        ));
    }
    summary
}

/// The full command reference with examples, for HELP and error answers.
pub fn help_text(language: Language) -> String {
    let intro = match language {
        Language::En => {
            "How to reply\n\
             Write the command on the first line of your reply and its fields on the lines \
             right after it, one `Field: value` per line. Quoted text is never read. Writing a \
             new mail instead of replying? Put the lead's tag after the command: ACCEPT [L-1042].\n\
             Commands and fields work in English and French, in any case."
        }
        Language::Fr => {
            "Comment répondre\n\
             Écrivez la commande sur la première ligne de votre réponse et ses champs sur les \
             lignes suivantes, un `Champ : valeur` par ligne. Le texte cité n'est jamais lu. \
             Vous écrivez un nouveau message ? Ajoutez la référence de la demande après la \
             commande : ACCEPTER [L-1042].\n\
             Les commandes et les champs marchent en français et en anglais, en majuscules ou non."
        }
    };
    let mut help = intro.to_string();
    for kind in CommandKind::ALL {
        let body = example(*kind, language).replace('\n', "\n    ");
        help.push_str(&format!(
            "\n\n{} — {}\n    {body}",
            kind.word(language),
            purpose(*kind, language)
        ));
    }
    help
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> ParsedCommand {
        parse_command(text).unwrap_or_else(|error| panic!("{text:?} was refused: {error}"))
    }

    fn refuse(text: &str) -> CommandError {
        match parse_command(text) {
            Ok(parsed) => panic!("{text:?} was read as {parsed:?}"),
            Err(error) => error,
        }
    }

    fn echoes(parsed: &ParsedCommand) -> Vec<String> {
        parsed.understood.iter().map(ToString::to_string).collect()
    }

    fn money(amount: &str, currency: &str) -> Money {
        Money {
            amount: amount.parse().expect("test literal"),
            currency: currency.into(),
        }
    }

    fn jean() -> LeadContact {
        LeadContact {
            name: "Jean Roy".into(),
            phone: Some("+33 6 12 34 56 78".into()),
            email: Some("jean@client.test".into()),
        }
    }

    #[test]
    fn accept_with_every_field_in_english() {
        let parsed = parse(
            "Hi,\n\nACCEPT\nDeal name: Teams rollout\nValue: 25k EUR\nTimeframe: Q2 2027\n\
             Notes: call Monday\nCRM ID: OPP-1\nCampaign ID: C-9\n\
             Contact: Jean Roy, +33 6 12 34 56 78, jean@client.test\n\
             Contact: marie@client.test, Marie Curie\n\nThanks!",
        );
        assert_eq!(parsed.language, Language::En);
        assert_eq!(parsed.lead, None);
        let Command::Accept { deal, contacts } = parsed.command.clone() else {
            panic!("not an accept: {parsed:?}");
        };
        assert_eq!(
            deal,
            DealChanges {
                name: Some("Teams rollout".into()),
                value: Some(money("25000", "EUR")),
                timeframe: Some("Q2 2027".into()),
                notes: Some("call Monday".into()),
                crm_id: Some("OPP-1".into()),
                campaign_id: Some("C-9".into()),
            }
        );
        assert_eq!(contacts[0], jean());
        assert_eq!(contacts[1].name, "Marie Curie");
        assert_eq!(contacts[1].email.as_deref(), Some("marie@client.test"));
        assert!(echoes(&parsed).contains(&"Value: 25k EUR → 25,000.00 EUR".to_string()));
        assert!(
            echoes(&parsed).contains(
                &"Contact: Jean Roy, +33 6 12 34 56 78, jean@client.test → \
              Jean Roy · phone +33 6 12 34 56 78 · email jean@client.test"
                    .to_string()
            )
        );
    }

    #[test]
    fn accept_with_every_field_in_french() {
        let parsed = parse(
            "Bonjour,\nACCEPTER\nNom de l’affaire : Déploiement Teams\nValeur : 12 500 €\n\
             Délai : 2027-03-31\nNotes : rappeler lundi\nID CRM : OPP-2\nID campagne : C-7\n\
             Contact : +33 6 12 34 56 78, Jean Roy, jean@client.test",
        );
        assert_eq!(parsed.language, Language::Fr);
        let Command::Accept { deal, contacts } = parsed.command.clone() else {
            panic!("not an accept: {parsed:?}");
        };
        assert_eq!(deal.name.as_deref(), Some("Déploiement Teams"));
        assert_eq!(deal.value, Some(money("12500", "EUR")));
        assert_eq!(deal.timeframe.as_deref(), Some("2027-03-31"));
        assert_eq!(deal.crm_id.as_deref(), Some("OPP-2"));
        assert_eq!(deal.campaign_id.as_deref(), Some("C-7"));
        assert_eq!(contacts, [jean()]);
        assert!(echoes(&parsed).contains(&"Value: 12 500 € → 12,500.00 EUR".to_string()));
    }

    #[test]
    fn values_are_echoed_as_understood() {
        for (written, read_as) in [
            ("25,000 EUR", "25,000.00 EUR"),
            ("12 500 €", "12,500.00 EUR"),
            ("$40k", "40,000.00 USD"),
            ("40 000,50 EUR", "40,000.50 EUR"),
        ] {
            let parsed = parse(&format!("EDIT\nValue: {written}"));
            assert_eq!(
                parsed.understood,
                [Understood {
                    field: "Value",
                    written: written.into(),
                    read_as: read_as.into(),
                }]
            );
        }
    }

    #[test]
    fn a_value_without_currency_is_a_bad_value_with_the_line() {
        let error = refuse("ACCEPT\nValue: 25000");
        let CommandError::BadValue {
            field,
            line,
            reason,
            ..
        } = &error
        else {
            panic!("{error:?}");
        };
        assert_eq!((*field, line.as_str()), ("Value", "Value: 25000"));
        assert!(reason.contains("add one"), "{reason}");
        assert!(error.example(Language::En).starts_with("ACCEPT\n"));
    }

    #[test]
    fn empty_template_fields_are_skipped() {
        let parsed = parse("ACCEPT\nDeal name:\nValue:\nTimeframe: Q1 2027");
        let Command::Accept { deal, .. } = parsed.command else {
            panic!()
        };
        assert_eq!(deal.name, None);
        assert_eq!(deal.timeframe.as_deref(), Some("Q1 2027"));
    }

    #[test]
    fn decline_by_number_words_or_snake_name_in_both_languages() {
        let reason_of = |text: &str| match parse(text).command {
            Command::Decline { reason, .. } => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(reason_of("DECLINE 2"), DeclineReason::NoCapacity);
        assert_eq!(
            reason_of("DECLINE\nReason: 3"),
            DeclineReason::OutsideRegion
        );
        assert_eq!(
            reason_of("REFUSER pas de disponibilité"),
            DeclineReason::NoCapacity
        );
        assert_eq!(
            reason_of("Refuser\nMotif : hors région"),
            DeclineReason::OutsideRegion
        );
        assert_eq!(
            reason_of("refuser\nRaison: Doublon"),
            DeclineReason::Duplicate
        );
        assert_eq!(
            reason_of("DECLINE budget_too_small"),
            DeclineReason::BudgetTooSmall
        );
        assert_eq!(
            reason_of("decline: outside region"),
            DeclineReason::OutsideRegion
        );
        assert_eq!(reason_of("DECLINE Other"), DeclineReason::Other);
    }

    #[test]
    fn decline_keeps_notes_and_echoes_the_reason_in_the_writers_language() {
        let parsed = parse("REFUSER\nMotif : 2\nNotes : complet jusqu'en mars");
        assert_eq!(
            parsed.command,
            Command::Decline {
                reason: DeclineReason::NoCapacity,
                notes: Some("complet jusqu'en mars".into()),
            }
        );
        assert_eq!(
            echoes(&parsed)[0],
            "Reason: 2 → 2. Pas de disponibilité actuellement"
        );
        let parsed = parse("DECLINE 2 - fully booked until March");
        assert_eq!(
            parsed.command,
            Command::Decline {
                reason: DeclineReason::NoCapacity,
                notes: Some("fully booked until March".into()),
            }
        );
        let parsed = parse("DECLINE 2. No capacity right now");
        assert_eq!(
            parsed.command,
            Command::Decline {
                reason: DeclineReason::NoCapacity,
                notes: None,
            }
        );
    }

    #[test]
    fn decline_without_a_known_reason_shows_the_numbered_list() {
        assert!(matches!(
            refuse("DECLINE"),
            CommandError::MissingReason { .. }
        ));
        let error = refuse("DECLINE\nReason: because");
        assert_eq!(
            error,
            CommandError::UnknownReason {
                written: "because".into(),
                line: "Reason: because".into(),
            }
        );
        assert!(matches!(
            refuse("DECLINE 9"),
            CommandError::UnknownReason { .. }
        ));
        assert!(matches!(
            refuse("DECLINE not"),
            CommandError::UnknownReason { .. }
        ));
        let example = error.example(Language::Fr);
        assert!(example.starts_with("REFUSER\nMotif : 2"), "{example}");
        assert!(example.contains("2. Pas de disponibilité actuellement"));
        assert!(error.example(Language::En).contains("7. Other"));
    }

    #[test]
    fn won_and_lost_in_both_languages() {
        assert_eq!(parse("WON").command, Command::Won { notes: None });
        assert_eq!(
            parse("GAGNÉ\nNotes : signé").command,
            Command::Won {
                notes: Some("signé".into())
            }
        );
        assert_eq!(parse("gagne").language, Language::Fr);
        assert_eq!(
            parse("LOST\nReason: budget frozen\nNotes: retry in 2027").command,
            Command::Lost {
                notes: Some("budget frozen — retry in 2027".into())
            }
        );
        assert_eq!(
            parse("PERDU\nRaison : concurrent moins cher").command,
            Command::Lost {
                notes: Some("concurrent moins cher".into())
            }
        );
    }

    #[test]
    fn edit_needs_a_field() {
        let parsed = parse("MODIFIER\nDélai : T3 2027\nValeur : 32 000 €");
        assert_eq!(parsed.language, Language::Fr);
        assert_eq!(
            parsed.command,
            Command::Edit {
                deal: DealChanges {
                    timeframe: Some("T3 2027".into()),
                    value: Some(money("32000", "EUR")),
                    ..DealChanges::default()
                }
            }
        );
        assert_eq!(
            refuse("EDIT\n\nValue: 3k EUR"),
            CommandError::NothingToEdit {
                line: "EDIT".into()
            }
        );
        let error = refuse("EDIT\nContact: Jean Roy, jean@client.test");
        assert!(
            matches!(error, CommandError::UnknownField { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn contact_inline_or_as_fields() {
        let parsed = parse("CONTACT Jean Roy, +33 6 12 34 56 78, jean@client.test");
        assert_eq!(parsed.command, Command::AddContact(jean()));
        let parsed = parse(
            "AJOUTER CONTACT\nNom : Jean Roy\nTéléphone : +33 6 12 34 56 78\nE-mail : jean@client.test",
        );
        assert_eq!(parsed.language, Language::Fr);
        assert_eq!(parsed.command, Command::AddContact(jean()));
        let parsed = parse("CONTACT Jean Roy <Jean@Client.test>\nTél. : +33 6 12 34 56 78");
        assert_eq!(parsed.command, Command::AddContact(jean()));
    }

    #[test]
    fn a_contact_needs_a_name_and_a_way_to_reach_them() {
        assert!(matches!(
            refuse("CONTACT the customer tomorrow"),
            CommandError::MissingField { .. }
        ));
        assert!(matches!(
            refuse("CONTACT me at 06 12 34 56 78"),
            CommandError::BadValue { .. }
        ));
        assert!(matches!(
            refuse("CONTACT Jean, jean@nowhere"),
            CommandError::BadValue { .. }
        ));
        assert!(matches!(
            refuse("ACCEPT\nContact: Jean Roy"),
            CommandError::BadValue {
                field: "Contact",
                ..
            }
        ));
    }

    #[test]
    fn favorites_in_both_languages() {
        assert_eq!(parse("FAVORITE").command, Command::Favorite);
        assert_eq!(parse("Favori").command, Command::Favorite);
        assert_eq!(parse("UNFAVORITE").command, Command::Unfavorite);
        let parsed = parse("retirer favori");
        assert_eq!(
            (parsed.command, parsed.language),
            (Command::Unfavorite, Language::Fr)
        );
    }

    #[test]
    fn register_keeps_any_fields_in_order() {
        let parsed = parse("ENREGISTRER\nSolution : Migration Azure\nTenant : fabrikam\n\nMerci");
        assert_eq!(
            parsed.command,
            Command::Register {
                fields: vec![
                    ("Solution".into(), "Migration Azure".into()),
                    ("Tenant".into(), "fabrikam".into()),
                ]
            }
        );
        assert!(matches!(
            refuse("REGISTER\n\nSolution: Azure"),
            CommandError::MissingField { .. }
        ));
    }

    #[test]
    fn answer_takes_the_rest_of_the_text() {
        let parsed = parse("ANSWER Pay-as-you-go.\nSubscription 1234.\n> quoted\n\nThanks");
        assert_eq!(
            parsed.command,
            Command::Answer {
                answer: "Pay-as-you-go.\nSubscription 1234.\n\nThanks".into()
            }
        );
        assert_eq!(parse("RÉPONSE\nOui").language, Language::Fr);
        assert!(matches!(
            refuse("ANSWER"),
            CommandError::MissingField { .. }
        ));
    }

    #[test]
    fn reviewer_commands() {
        assert_eq!(parse("APPROVE").command, Command::Approve);
        assert_eq!(parse("Approuver").command, Command::Approve);
        assert_eq!(
            parse("REJECT: not eligible").command,
            Command::Reject {
                reason: "not eligible".into()
            }
        );
        assert_eq!(
            parse("REJETER\nRaison : hors programme").command,
            Command::Reject {
                reason: "hors programme".into()
            }
        );
        assert!(matches!(
            refuse("REJECT"),
            CommandError::MissingField { .. }
        ));
        assert_eq!(
            parse("INFO\nWhich subscription?\nAnd which region?").command,
            Command::Info {
                question: "Which subscription?\nAnd which region?".into()
            }
        );
        assert!(matches!(refuse("INFO"), CommandError::MissingField { .. }));
    }

    #[test]
    fn read_only_commands_in_both_languages() {
        for (text, command, language) in [
            ("STATUS", Command::Status, Language::En),
            ("statut", Command::Status, Language::Fr),
            ("LIST", Command::List, Language::En),
            ("Liste", Command::List, Language::Fr),
            ("HELP me please", Command::Help, Language::En),
            ("AIDE", Command::Help, Language::Fr),
        ] {
            let parsed = parse(text);
            assert_eq!(
                (parsed.command, parsed.language),
                (command, language),
                "{text}"
            );
        }
    }

    #[test]
    fn a_lead_tag_on_the_command_line_names_the_lead() {
        for text in ["ACCEPT L-1042", "ACCEPT [L-1042]", "accept [l-1042] thanks"] {
            assert_eq!(parse(text).lead, Some(LeadId(1042)), "{text}");
        }
        let parsed = parse("DECLINE 2 [L-7]");
        assert_eq!(parsed.lead, Some(LeadId(7)));
        assert!(matches!(
            parsed.command,
            Command::Decline {
                reason: DeclineReason::NoCapacity,
                ..
            }
        ));
        assert_eq!(parse("DECLINE [L-7] 2").lead, Some(LeadId(7)));
        assert_eq!(parse("DECLINE 2").lead, None);
    }

    #[test]
    fn only_the_command_block_is_read() {
        let parsed = parse("WON\n\nNotes: this is prose after a blank line");
        assert_eq!(parsed.command, Command::Won { notes: None });
        let parsed =
            parse("ACCEPT\nValue: 3k EUR\nSee you on Monday: bring the contract\nNotes: x");
        assert_eq!(
            parsed.command,
            Command::Accept {
                deal: DealChanges {
                    value: Some(money("3000", "EUR")),
                    ..DealChanges::default()
                },
                contacts: vec![],
            }
        );
        let parsed = parse("EDIT\nNotes: first\nThanks a lot\nValue: 9k EUR");
        assert_eq!(
            parsed.command,
            Command::Edit {
                deal: DealChanges {
                    notes: Some("first".into()),
                    ..DealChanges::default()
                }
            }
        );
    }

    #[test]
    fn commands_in_quoted_lines_never_execute() {
        assert_eq!(
            refuse("> ACCEPT\n> Value: 25k EUR\n>\n> DECLINE 2"),
            CommandError::NoCommand
        );
        assert_eq!(
            parse("> On Monday, Bot wrote:\n> ACCEPT\nWON").command,
            Command::Won { notes: None }
        );
        let parsed = parse("ACCEPT\n> Value: 25k EUR\nValue: 3k EUR");
        assert_eq!(
            parsed.command,
            Command::Accept {
                deal: DealChanges::default(),
                contacts: vec![]
            }
        );
    }

    #[test]
    fn at_most_two_short_lines_before_the_command() {
        assert_eq!(
            parse("Hi,\nThanks for this one.\nACCEPT").command.word(),
            "ACCEPT"
        );
        assert_eq!(
            refuse("Hi,\nThanks.\nSee below.\nACCEPT"),
            CommandError::NoCommand
        );
        assert_eq!(
            refuse("We had a long discussion with the customer yesterday\nACCEPT"),
            CommandError::NoCommand
        );
    }

    #[test]
    fn sentences_that_start_with_a_command_word_are_not_commands() {
        assert_eq!(
            refuse("Accept our apologies for the delay"),
            CommandError::NoCommand
        );
        assert_eq!(refuse("Won't be able to take it"), CommandError::NoCommand);
        assert_eq!(parse("Accept, thanks!").command.word(), "ACCEPT");
        assert!(matches!(
            refuse("ACCEPT 25k EUR"),
            CommandError::UnexpectedText {
                command: CommandKind::Accept,
                ..
            }
        ));
    }

    #[test]
    fn near_misses_and_shouting_are_unknown_commands() {
        let error = refuse("ACEPT\nValue: 3k EUR");
        assert_eq!(
            error.to_string(),
            "`ACEPT` is not a command — did you mean ACCEPT?"
        );
        assert!(
            error
                .example(Language::En)
                .starts_with("ACCEPT\nDeal name:")
        );
        assert!(matches!(
            refuse("Bonjour,\nREFUSR 2"),
            CommandError::UnknownCommand {
                suggestion: Some((CommandKind::Decline, Language::Fr)),
                ..
            }
        ));
        let error = refuse("CANCEL");
        assert!(matches!(
            error,
            CommandError::UnknownCommand {
                suggestion: None,
                ..
            }
        ));
        assert!(error.example(Language::En).contains("DECLINE"));
        assert_eq!(refuse("Hello,\nsee you soon"), CommandError::NoCommand);
    }

    #[test]
    fn unknown_fields_name_the_line_and_the_fields_allowed() {
        let error = refuse("ACCEPT\nBudget: 25k EUR");
        assert_eq!(
            error.to_string(),
            "`Budget: 25k EUR` is not a field of ACCEPT: its fields are Deal name, Value, \
             Timeframe, Notes, CRM ID, Campaign ID, Contact"
        );
    }

    #[test]
    fn into_action_maps_every_command() {
        let action = |text: &str| parse(text).command.into_action();
        assert_eq!(action("FAVORITE"), Some(Action::SetFavorite(true)));
        assert_eq!(action("UNFAVORITE"), Some(Action::SetFavorite(false)));
        assert_eq!(
            action("ANSWER yes"),
            Some(Action::AnswerReviewer {
                answer: "yes".into()
            })
        );
        assert_eq!(
            action("APPROVE"),
            Some(Action::Review(ReviewVerdict::Approve))
        );
        assert_eq!(
            action("INFO which?"),
            Some(Action::Review(ReviewVerdict::RequestInfo {
                question: "which?".into()
            }))
        );
        for read_only in ["STATUS", "LIST", "HELP"] {
            assert_eq!(action(read_only), None);
        }
    }

    #[test]
    fn every_example_parses_as_its_own_command() {
        for language in [Language::En, Language::Fr] {
            for kind in CommandKind::ALL {
                let text = example(*kind, language);
                let parsed = parse(&text);
                assert_eq!(parsed.command.kind(), *kind, "{text}");
                let action_name = parsed.command.clone().into_action().map(|a| a.name());
                if let Some(name) = action_name {
                    assert_eq!(name, parsed.command.word());
                }
                if *kind != CommandKind::AddContact && *kind != CommandKind::Info {
                    assert_eq!(parsed.language, language, "{text}");
                }
            }
        }
    }

    #[test]
    fn help_covers_every_command_in_both_languages() {
        for language in [Language::En, Language::Fr] {
            let help = help_text(language);
            for kind in CommandKind::ALL {
                assert!(help.contains(kind.word(language)), "{language:?} {kind:?}");
            }
        }
        assert!(help_text(Language::Fr).contains("Comment répondre"));
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,200}") {
            let _ = parse_command(&text);
        }

        #[test]
        fn never_panics_on_command_like_text(
            text in "(ACCEPT|DECLINE|REFUSER|CONTACT|EDIT|INFO|Hi,|> |L-1|\\[L-|:|,|@|\n| |[0-9]|[a-zé€$]){0,40}"
        ) {
            let _ = parse_command(&text);
        }

        #[test]
        fn quoted_text_never_executes(text in "\\PC{0,200}") {
            let quoted: String = text.lines().map(|line| format!("> {line}\n")).collect();
            prop_assert_eq!(parse_command(&quoted), Err(CommandError::NoCommand));
        }

        #[test]
        fn quoted_commands_never_execute(
            text in "((ACCEPT|DECLINE 2|WON|Value: 3k EUR|Hi,|HELP)\n){0,8}"
        ) {
            let quoted: String = text.lines().map(|line| format!("> {line}\n")).collect();
            prop_assert_eq!(parse_command(&quoted), Err(CommandError::NoCommand));
        }
    }
}

#[cfg(test)]
mod messages_in_the_readers_language {
    use super::*;

    #[test]
    fn errors_read_in_french_for_french_readers_and_english_otherwise() {
        let error = parse_command("Bonjour,\nmerci pour votre message").unwrap_err();
        assert!(
            error
                .message(Language::Fr)
                .starts_with("aucune commande trouvée")
        );
        assert_eq!(error.message(Language::En), error.to_string());
        let error = parse_command("REFUSER\n").unwrap_err();
        assert!(
            error
                .message(Language::Fr)
                .contains("REFUSER demande un motif"),
            "{}",
            error.message(Language::Fr)
        );
        let error = parse_command("ACEPTER\n").unwrap_err();
        assert!(error.message(Language::Fr).contains("vouliez-vous dire"));
    }
}
