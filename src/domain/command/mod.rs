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
//!
//! Where things live: `grammar` finds the command line (the command words in both
//! languages, lead tags, near misses); `fields` splits the `Field: value` lines and knows
//! each field's labels; `reader` builds each command from its block and checks it;
//! `decline` reads a decline reason in the partner's own words; `contact` reads a
//! customer contact; `messages` holds what the person reads back: errors, examples, help.

mod contact;
mod decline;
mod fields;
mod grammar;
mod messages;
mod reader;
mod text;

use std::fmt;

use serde::Serialize;

use super::lead::{DeclineReason, LeadContact, LeadId, Money};
use super::lifecycle::{Action, DealChanges, ReviewVerdict};

use grammar::find_command_line;
use reader::Reader;

pub use messages::{CommandError, example, help_text, reason_list};
pub(crate) use text::fold_label;

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
    /// The line the value was read from, as written (label and typography included), so
    /// the transcript echoes the person's own words.
    pub line: String,
    pub written: String,
    pub read_as: String,
    /// An amount read from the value, for the answer to write in its reader's locale.
    pub money: Option<Money>,
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
    /// The command line as written ("Accepter", "REFUSER 2 [L-7]"): transcripts echo it.
    pub line: String,
    pub understood: Vec<Understood>,
}

/// Reads the command block of a reply's new text. Quoted (`>`) lines are never read.
pub fn parse_command(text: &str) -> Result<ParsedCommand, CommandError> {
    let lines: Vec<&str> = text.lines().collect();
    let found = find_command_line(&lines)?;
    let line = lines.get(found.index).map_or("", |l| l.trim());
    let mut understood = Vec::new();
    if let Some((written, id)) = &found.tag {
        understood.push(Understood {
            field: "Lead",
            line: line.to_string(),
            written: (*written).to_string(),
            read_as: id.to_string(),
            money: None,
        });
    }
    let after = lines.get(found.index + 1..).unwrap_or_default();
    let mut reader = Reader {
        kind: found.kind,
        language: found.language,
        line,
        understood,
    };
    let command = reader.read(found.argument, after)?;
    Ok(ParsedCommand {
        command,
        lead: found.tag.map(|(_, id)| id),
        language: found.language,
        line: line.to_string(),
        understood: reader.understood,
    })
}

#[cfg(test)]
mod tests;
