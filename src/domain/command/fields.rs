//! The `Field: value` lines of a command block: each field's labels in both languages,
//! which fields each command takes, and how a line is split into label and value.

use super::CommandKind;
use super::text::{fold_label, is_blank, is_quoted};

/// A field a command may take, with its labels in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
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
    pub(super) fn label(self) -> &'static str {
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

    /// The label a French reader reads.
    pub(super) fn label_fr(self) -> &'static str {
        match self {
            Self::DealName => "Nom de l'affaire",
            Self::Value => "Valeur",
            Self::Timeframe => "Délai",
            Self::Notes => "Notes",
            Self::CrmId => "ID CRM",
            Self::CampaignId => "ID campagne",
            Self::Contact => "Contact",
            Self::Reason => "Motif",
            Self::Name => "Nom",
            Self::Phone => "Téléphone",
            Self::Email => "E-mail",
        }
    }

    /// Accepted labels, folded (see `fold_label`).
    pub(super) fn spellings(self) -> &'static [&'static str] {
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
pub(super) fn fields_of(kind: CommandKind) -> &'static [Field] {
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

pub(super) fn field_named(kind: CommandKind, label: &str) -> Option<Field> {
    let folded = fold_label(label);
    fields_of(kind)
        .iter()
        .copied()
        .find(|field| field.spellings().contains(&folded.as_str()))
}

/// A `Label: value` line, as written.
#[derive(Debug, Clone, Copy)]
pub(super) struct FieldLine<'a> {
    pub(super) label: &'a str,
    pub(super) value: &'a str,
    pub(super) line: &'a str,
}

/// Splits a line shaped like a field: a short label of words, a colon, a value. French
/// "Valeur : 25 000 €" (space before the colon) is a field; "https://…" and "10:30" are not.
pub(super) fn split_field(line: &str) -> Option<FieldLine<'_>> {
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
pub(super) fn inline_field(kind: CommandKind, argument: &str) -> Option<FieldLine<'_>> {
    split_field(argument)
        .filter(|field| kind == CommandKind::Register || field_named(kind, field.label).is_some())
}

/// The `Field: value` lines right after the command line: the block ends at a blank line, a
/// quoted line or any line not shaped like a field (prose).
pub(super) fn block_lines<'a>(after: &[&'a str]) -> Vec<FieldLine<'a>> {
    after
        .iter()
        .take_while(|line| !is_blank(line) && !is_quoted(line))
        .map_while(|line| split_field(line))
        .collect()
}

/// The block's field lines, with a field written on the command line itself put first; the
/// argument left over is returned (empty when it was that field).
pub(super) fn block_with_inline_field<'a>(
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
pub(super) fn following_text(after: &[&str]) -> String {
    let kept: Vec<&str> = after.iter().copied().filter(|l| !is_quoted(l)).collect();
    kept.join("\n").trim().to_string()
}

/// The unquoted lines right below the command line, up to the first blank line, joined:
/// a decline's reason written as a sentence ("We are fully booked until March.").
pub(super) fn first_paragraph(after: &[&str]) -> String {
    after
        .iter()
        .take_while(|line| !is_blank(line) && !is_quoted(line))
        .map(|line| line.trim())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The French label of a field named by its English label (errors carry the English one).
pub(super) fn french_label(english: &str) -> &str {
    const ALL: &[Field] = &[
        Field::DealName,
        Field::Value,
        Field::Timeframe,
        Field::Notes,
        Field::CrmId,
        Field::CampaignId,
        Field::Contact,
        Field::Reason,
        Field::Name,
        Field::Phone,
        Field::Email,
    ];
    ALL.iter()
        .find(|field| field.label() == english)
        .map_or(english, |field| field.label_fr())
}
