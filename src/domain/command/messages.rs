//! What the person reads back about their command, in their language: why it could not be
//! read, a correct example to copy, the numbered decline reasons and the HELP text.

use super::fields::{fields_of, french_label};
use super::{CommandKind, DeclineReason, Language};

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
        /// The same reason, for a French reader.
        reason_fr: String,
        line: String,
    },
    /// A reason number that is not on the list; a reason in words is never refused.
    #[error(
        "`{written}` is not the number of a decline reason: give a number from 1 to {}, or \
         the reason in your own words",
        DeclineReason::ALL.len()
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
                let names: Vec<&str> = fields_of(*command).iter().map(|f| f.label_fr()).collect();
                format!(
                    "`{line}` n'est pas un champ de {} (ses champs : {})",
                    word(command),
                    names.join(", ")
                )
            }
            Self::BadValue {
                field,
                reason_fr,
                line,
                ..
            } => format!(
                "{} dans `{line}` ne peut pas être lu : {reason_fr}",
                french_label(field)
            ),
            Self::UnknownReason { written, .. } => format!(
                "`{written}` n'est pas le numéro d'un motif de refus : donnez un numéro de 1 à \
                 {}, ou le motif avec vos propres mots",
                DeclineReason::ALL.len()
            ),
            Self::NothingToEdit { line } => format!(
                "`{line}` : MODIFIER demande au moins un champ à changer sur les lignes suivantes"
            ),
            Self::MissingField {
                command,
                field,
                line,
            } => format!(
                "`{line}` : {} demande {}",
                word(command),
                french_wanted(field)
            ),
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
            Self::UnknownReason { .. } => example(CommandKind::Decline, language),
            Self::NothingToEdit { .. } => example(CommandKind::Edit, language),
        }
    }
}

/// Why a value cannot be read, in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Why {
    pub(super) en: String,
    pub(super) fr: String,
}

impl Why {
    pub(super) fn new(en: impl Into<String>, fr: impl Into<String>) -> Self {
        Self {
            en: en.into(),
            fr: fr.into(),
        }
    }
}

/// What a command lacks (`MissingField`'s `field`), for a French reader.
fn french_wanted(english: &str) -> &str {
    match english {
        "a name (Name: Jean Roy)" => "un nom (Nom : Jean Roy)",
        "a phone number or an email address (Phone: +33 6 12 34 56 78)" => {
            "un numéro de téléphone ou une adresse e-mail (Téléphone : +33 6 12 34 56 78)"
        }
        "a reason" => "une raison",
        "an answer" => "une réponse",
        "a question" => "une question",
        "at least one `Field: value` line" => "au moins une ligne `Champ : valeur`",
        other => other,
    }
}

pub(super) fn did_you_mean(suggestion: Option<(CommandKind, Language)>) -> String {
    suggestion.map_or_else(
        || " (write HELP for the list of commands)".to_string(),
        |(kind, language)| format!(" — did you mean {}?", kind.word(language)),
    )
}

pub(super) fn field_names(kind: CommandKind) -> String {
    let fields = fields_of(kind);
    if fields.is_empty() {
        return "it takes no fields".into();
    }
    let names: Vec<&str> = fields.iter().map(|f| f.label()).collect();
    format!("its fields are {}", names.join(", "))
}

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
pub(super) fn purpose(kind: CommandKind, language: Language) -> &'static str {
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
pub(super) fn command_summary(language: Language) -> String {
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
