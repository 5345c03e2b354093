//! What a contact reads back after writing to leadbot, in the contact's language: the
//! transcript of a command, why it was refused, their LIST and a lead's history for STATUS.
//! The reply path (`reply.rs`) decides; this module only words the answer.

use chrono::{DateTime, Utc};

use super::act::ActError;
use crate::domain::command::{CommandKind, Language, ParsedCommand};
use crate::domain::lifecycle::TransitionError;
use crate::domain::{Lead, LeadState, Locale};
use crate::mail::templates::{CommandResult, HistoryLine, registration_label, state_label};
use crate::store::leads::EventRow;

/// A message in both languages; answers pick the reader's.
pub(super) struct Words {
    pub(super) en: String,
    pub(super) fr: String,
}

impl Words {
    pub(super) fn pick(&self, locale: Locale) -> &str {
        match locale {
            Locale::En => &self.en,
            Locale::Fr => &self.fr,
        }
    }
}

pub(super) fn words(en: impl Into<String>, fr: impl Into<String>) -> Words {
    Words {
        en: en.into(),
        fr: fr.into(),
    }
}

pub(super) fn pick(locale: Locale, en: &str, fr: &str) -> String {
    if locale == Locale::Fr { fr } else { en }.to_string()
}

pub(super) fn language(locale: Locale) -> Language {
    match locale {
        Locale::En => Language::En,
        Locale::Fr => Language::Fr,
    }
}

/// A command word (as the life cycle names it, in English) in the reader's language.
pub(super) fn command_word(english: &str, locale: Locale) -> &'static str {
    CommandKind::from_english(english).map_or("", |kind| kind.word(language(locale)))
}

/// Who acted, as the reader says it: people by name, the scheduler as leadbot's deadline.
fn actor_label(actor: &str, locale: Locale) -> String {
    match actor {
        "scheduler" => pick(
            locale,
            "leadbot (the answer deadline passed)",
            "leadbot (délai de réponse écoulé)",
        ),
        "operator" => pick(locale, "an operator", "un opérateur"),
        other => match other.strip_prefix("reviewer ") {
            Some(email) => format!("{} {email}", pick(locale, "the reviewer", "l'examinateur")),
            None => other.to_string(),
        },
    }
}

/// The transcript of an applied command: the command line as the contact wrote it with
/// what came of it, then each value they gave, as written, with how it was read. Values
/// written on the command line itself (a lead tag, a decline reason) are told on its row.
pub(super) fn transcript(
    parsed: &ParsedCommand,
    lead: &Lead,
    changed: bool,
    for_reviewer: bool,
    locale: Locale,
) -> Vec<CommandResult> {
    let fr = locale == Locale::Fr;
    let state = state_label(lead.state, fr);
    let registration = lead
        .registration
        .as_ref()
        .map(|r| registration_label(r.status, fr));
    let mut outcome = match (changed, for_reviewer, registration) {
        (true, true, Some(status)) => pick(
            locale,
            &format!("done: the deal registration is now {status}"),
            &format!("c'est fait : l'enregistrement de l'affaire est maintenant {status}"),
        ),
        (true, _, _) => pick(
            locale,
            &format!("done: the lead is now {state}"),
            &format!("c'est fait : la demande est maintenant {state}"),
        ),
        (false, _, _) => pick(
            locale,
            &format!("nothing to change: the lead is {state}"),
            &format!("rien à changer : la demande est {state}"),
        ),
    };
    let mut rows = Vec::new();
    for understood in &parsed.understood {
        let read_as = understood
            .money
            .as_ref()
            .map_or_else(|| understood.read_as.clone(), |money| locale.money(money));
        if understood.line == parsed.line {
            let what = match understood.field {
                "Lead" => pick(locale, "lead", "demande"),
                "Reason" => pick(locale, "reason understood", "motif compris"),
                _ => continue,
            };
            outcome.push_str(&format!(
                "{} {what}{} {read_as}",
                if locale == Locale::Fr { " ;" } else { ";" },
                if locale == Locale::Fr { " :" } else { ":" },
            ));
            continue;
        }
        rows.push(CommandResult {
            command: understood.line.clone(),
            result: format!("→ {read_as}"),
            applied: true,
        });
    }
    let mut results = vec![CommandResult {
        command: parsed.line.clone(),
        result: outcome,
        applied: changed,
    }];
    results.extend(rows);
    results
}

/// Why the life cycle refused an action, in both languages.
pub(super) fn refusal_words(error: &ActError) -> Words {
    let when = |at: &DateTime<Utc>, locale: Locale| locale.date_time(*at);
    let word = |action: &str, locale| match command_word(action, locale) {
        "" => pick(locale, "This command", "Cette commande"),
        word => word.to_string(),
    };
    match error {
        ActError::AlreadyActed {
            action,
            state: LeadState::Expired,
            at,
            ..
        } => words(
            format!(
                "{} is no longer possible: the lead expired unanswered on {}",
                word(action, Locale::En),
                when(at, Locale::En)
            ),
            format!(
                "{} n'est plus possible : la demande a expiré sans réponse le {}",
                word(action, Locale::Fr),
                when(at, Locale::Fr)
            ),
        ),
        ActError::AlreadyActed {
            action,
            state,
            by,
            at,
        } => words(
            format!(
                "{} is no longer possible: the lead was already {} by {} on {}",
                word(action, Locale::En),
                state_label(*state, false),
                actor_label(by, Locale::En),
                when(at, Locale::En)
            ),
            format!(
                "{} n'est plus possible : la demande a déjà été {} par {} le {}",
                word(action, Locale::Fr),
                state_label(*state, true),
                actor_label(by, Locale::Fr),
                when(at, Locale::Fr)
            ),
        ),
        ActError::Refused(TransitionError::NotAllowed { action, state }) => words(
            format!(
                "{} is not possible while the lead is {}",
                word(action, Locale::En),
                state_label(*state, false)
            ),
            format!(
                "{} n'est pas possible tant que la demande est {}",
                word(action, Locale::Fr),
                state_label(*state, true)
            ),
        ),
        ActError::Refused(TransitionError::Closed { state, .. }) => words(
            format!(
                "the lead is {}: it is closed and takes no more actions",
                state_label(*state, false)
            ),
            format!(
                "la demande est {} : elle est close et n'accepte plus d'action",
                state_label(*state, true)
            ),
        ),
        ActError::Refused(TransitionError::MemberCannotAct { who }) => words(
            format!("{who} is a member of the partner: members read leads but cannot act on them"),
            format!(
                "{who} est membre du partenaire : les membres peuvent lire les demandes mais pas \
                 agir dessus"
            ),
        ),
        ActError::Refused(TransitionError::NothingToEdit) => words(
            "EDIT needs at least one field to change",
            "MODIFIER demande au moins un champ à changer",
        ),
        ActError::UnknownLead(id) => words(
            format!("lead {id} does not exist"),
            format!("la demande {id} n'existe pas"),
        ),
        ActError::Contended(id) => words(
            format!("lead {id} kept changing while saving; try again"),
            format!("la demande {id} changeait pendant l'enregistrement ; réessayez"),
        ),
        other => words(other.to_string(), other.to_string()),
    }
}

/// A lead's history for STATUS: when, what, who, in the reader's language.
pub(super) fn history(events: &[EventRow], locale: Locale) -> Vec<HistoryLine> {
    events
        .iter()
        .map(|event| HistoryLine {
            at: locale.date_time(event.at),
            what: event_label(&event.kind, locale),
            who: actor_label(&event.actor, locale),
        })
        .collect()
}

fn event_label(kind: &str, locale: Locale) -> String {
    let (en, fr) = match kind {
        "received" => ("received", "reçue"),
        "accepted" => ("accepted", "acceptée"),
        "declined" => ("declined", "refusée"),
        "won" => ("won", "gagnée"),
        "lost" => ("lost", "perdue"),
        "expired" => ("expired unanswered", "expirée sans réponse"),
        "edited" => ("deal edited", "affaire modifiée"),
        "contact_added" => ("customer contact added", "contact client ajouté"),
        "favorited" => ("added to favorites", "ajoutée aux favoris"),
        "unfavorited" => ("removed from favorites", "retirée des favoris"),
        "registration_submitted" => ("registration submitted", "enregistrement soumis"),
        "registration_answered" => ("reviewer answered", "réponse à l'examinateur"),
        "registration_approved" => ("registration approved", "enregistrement approuvé"),
        "registration_rejected" => ("registration rejected", "enregistrement rejeté"),
        "registration_info_requested" => (
            "reviewer asked for information",
            "l'examinateur demande des informations",
        ),
        "first_reminder_sent" => ("first reminder sent", "premier rappel envoyé"),
        "final_reminder_sent" => ("final reminder sent", "dernier rappel envoyé"),
        "hot_window_closed" => (
            "customer's contact window closed",
            "fenêtre de contact du client close",
        ),
        "customer_message" => ("the customer wrote again", "le client a écrit de nouveau"),
        other => (other, other),
    };
    pick(locale, en, fr)
}

/// A LIST group: its English and French title and which leads belong to it.
type ListGroup = (&'static str, &'static str, fn(&Lead) -> bool);

/// The LIST answer: a partner's leads grouped as marketplace, qualified, favorites,
/// archived; each lead with one name (the company, else the person, else the address), its
/// state, value and hot flag, and its deadline while it awaits an answer.
pub(super) fn list_body(all: &[Lead], locale: Locale, now: DateTime<Utc>) -> String {
    let fr = locale == Locale::Fr;
    let groups: [ListGroup; 4] = [
        (
            "Marketplace (open)",
            "Place de marché (ouvertes)",
            |l: &Lead| l.state.is_open() && !l.kind.is_qualified(),
        ),
        ("Qualified (open)", "Qualifiées (ouvertes)", |l: &Lead| {
            l.state.is_open() && l.kind.is_qualified()
        }),
        ("Favorites", "Favoris", |l: &Lead| l.favorite),
        ("Archived", "Archivées", |l: &Lead| l.state.is_closed()),
    ];
    let mut out = String::new();
    for (en, french, belongs) in &groups {
        let members: Vec<&Lead> = all.iter().filter(|l| belongs(l)).take(50).collect();
        out.push_str(&format!(
            "{} ({})\n",
            if fr { french } else { en },
            members.len()
        ));
        for lead in members {
            out.push_str(&format!("  {}\n", list_line(lead, locale, now)));
        }
        out.push('\n');
    }
    out.push_str(&pick(
        locale,
        "Reply STATUS L-1042 for one lead's details.",
        "Répondez STATUT L-1042 pour le détail d'une demande.",
    ));
    out
}

fn list_line(lead: &Lead, locale: Locale, now: DateTime<Utc>) -> String {
    let customer = &lead.customer;
    let name = customer
        .company
        .as_deref()
        .or(customer.name.as_deref())
        .or(customer.email.as_deref())
        .unwrap_or("—");
    let mut parts = vec![format!(
        "{} {}{} — {}",
        lead.id,
        if lead.is_hot(now) { "🔥 " } else { "" },
        name,
        state_label(lead.state, locale == Locale::Fr)
    )];
    if let Some(value) = &lead.deal.value {
        parts.push(locale.money(value));
    }
    if lead.state == LeadState::Received {
        parts.push(format!(
            "{} {}",
            pick(locale, "expires", "expire le"),
            locale.date_time(lead.expires_at)
        ));
    }
    parts.join(" · ")
}

pub(super) fn shorten_lines(text: &str, max: usize) -> String {
    let lines: Vec<&str> = text.lines().take(max + 1).collect();
    if lines.len() > max {
        format!("{}\n…", lines[..max].join("\n"))
    } else {
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::command::parse_command;
    use crate::domain::{Customer, Deal, LeadId, LeadKind, Money};

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
    }

    fn lead(id: i64, state: LeadState, customer: Customer) -> Lead {
        Lead {
            id: LeadId(id),
            kind: LeadKind::CustomerInquiry,
            state,
            partner_id: "contoso".into(),
            profile_id: "contoso-fr".into(),
            customer,
            context: Default::default(),
            need: "Teams".into(),
            hot_until: None,
            favorite: false,
            deal: Deal::default(),
            decline: None,
            contacts: vec![],
            referrer: None,
            registration: None,
            received_at: at(2, 9),
            expires_at: at(16, 9),
            first_response_at: None,
            closed_at: None,
            version: 1,
        }
    }

    #[test]
    fn the_transcript_echoes_the_contacts_own_lines_in_their_language() {
        let parsed = parse_command("ACCEPT\nValeur: 25k EUR\nDélai : T1 2027").expect("a command");
        let accepted = lead(1042, LeadState::Accepted, Customer::default());
        let rows = transcript(&parsed, &accepted, true, false, Locale::Fr);
        let shown: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.command.as_str(), r.result.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("ACCEPT", "c'est fait : la demande est maintenant acceptée"),
                ("Valeur: 25k EUR", "→ 25\u{202f}000,00\u{a0}€"),
                ("Délai : T1 2027", "→ T1 2027"),
            ]
        );
        let parsed = parse_command("DECLINE not for us").expect("a command");
        let declined = lead(1042, LeadState::Declined, Customer::default());
        let rows = transcript(&parsed, &declined, true, false, Locale::En);
        assert_eq!(
            rows[0].result,
            "done: the lead is now declined; reason understood: 7. Other"
        );
    }

    #[test]
    fn list_gives_one_name_per_lead_its_state_value_hot_flag_and_deadline() {
        let company = Customer {
            name: Some("Chloé Dubois".into()),
            company: Some("Fabrikam SA".into()),
            ..Customer::default()
        };
        let person = Customer {
            name: Some("Jean Roy".into()),
            ..Customer::default()
        };
        let address = Customer {
            email: Some("x@client.test".into()),
            ..Customer::default()
        };
        let mut hot = lead(1, LeadState::Received, company);
        hot.hot_until = Some(at(5, 9));
        let mut valued = lead(2, LeadState::Accepted, person);
        valued.deal.value = Some(Money {
            amount: "12500".parse().unwrap(),
            currency: "EUR".into(),
        });
        let closed = lead(3, LeadState::Expired, address);
        let list = list_body(&[hot, valued, closed], Locale::Fr, at(3, 9));
        for line in [
            "  L-1 🔥 Fabrikam SA — reçue · expire le 16 nov. 2026 à 09:00 UTC",
            "  L-2 Jean Roy — acceptée · 12\u{202f}500,00\u{a0}€",
            "  L-3 x@client.test — expirée",
        ] {
            assert!(list.contains(line), "{line:?} in\n{list}");
        }
        assert!(!list.contains("received") && !list.contains("accepted"));
    }
}
