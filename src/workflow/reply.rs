//! A contact's reply becomes a state change — only when its signed token, its sender and
//! that sender's role all agree — and every reply is answered: a transcript of what was
//! done, or what was wrong with a correct example. Error answers are rate-limited.
//! Which lead a reply is about is `correlate`'s question.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::act::{ActError, act_in};
use super::answers::{
    Words, command_word, history, language, list_body, pick, refusal_words, shorten_lines,
    transcript, words,
};
use super::correlate::{Correlation, correlate};
use super::handled::{Handled, IngestError};
use super::notify::{self, REVIEWER_CONTACT_ID, Recipient};
use crate::config::Config;
use crate::domain::Locale;
use crate::domain::command::{self, Command, CommandKind, Language, ParsedCommand, parse_command};
use crate::domain::lifecycle::{Actor, TransitionError, allowed_next};
use crate::domain::registration;
use crate::domain::{EmailAddress, EventKind, Lead, LeadEvent, LeadId};
use crate::mail::quote::bounded_quote;
use crate::mail::templates::Notification;
use crate::mail::{InboundMail, reply_text};
use crate::store::directory::{self, ContactRow};
use crate::store::{leads, limits};

/// Who the sender is to leadbot.
enum Sender {
    Contact(ContactRow),
    Reviewer,
    Stranger,
}

/// Everything an answer needs: to whom, in which language, under which message.
struct Answerer<'a> {
    config: &'a Config,
    mail: &'a InboundMail,
    sender: EmailAddress,
    locale: Locale,
    written: String,
    now: DateTime<Utc>,
}

pub(super) async fn handle(
    tx: &mut PgConnection,
    config: &Config,
    mail: &InboundMail,
    now: DateTime<Utc>,
) -> Result<(Handled, Option<LeadId>), IngestError> {
    let Some(sender_address) = mail
        .from
        .as_ref()
        .and_then(|f| EmailAddress::parse(&f.email).ok())
    else {
        return Ok((
            Handled::Quarantined("a reply without a usable sender".into()),
            None,
        ));
    };
    let text = reply_text(&mail.text);
    let sender = identify(tx, config, &sender_address).await?;
    let locale = match &sender {
        Sender::Contact(contact) => {
            Locale::parse(&contact.locale).unwrap_or(config.bot.default_locale)
        }
        Sender::Reviewer => config.bot.reviewer_locale,
        Sender::Stranger => config.bot.default_locale,
    };
    let answerer = Answerer {
        config,
        mail,
        sender: sender_address.clone(),
        locale,
        written: shorten_lines(&text, 20),
        now,
    };
    let language = language(locale);

    if matches!(sender, Sender::Stranger) {
        let correlation = correlate(tx, config, mail, &sender_address, None).await?;
        if let Some(lead) = customer_follow_up(tx, &correlation, &sender_address).await? {
            return pass_to_contacts(tx, config, mail, &lead, &text, now).await;
        }
        let problem = words(
            "this address is not a partner contact known to leadbot, so it cannot act on leads",
            "cette adresse n'est pas celle d'un contact partenaire connu de leadbot : elle ne \
             peut pas agir sur les demandes",
        );
        return answerer.refuse(tx, "stranger", None, &problem, "").await;
    }
    if config.bot.require_authentication && !is_authenticated(mail, &sender_address, config) {
        let problem = words(
            "your mail server's authentication (DKIM/DMARC) did not confirm the sender, so \
             the reply was not applied",
            "l'authentification de votre serveur de messagerie (DKIM/DMARC) n'a pas confirmé \
             l'expéditeur : la réponse n'a pas été appliquée",
        );
        return answerer
            .refuse(tx, "unauthenticated", None, &problem, "")
            .await;
    }

    let parsed = match parse_command(&text) {
        Ok(parsed) => parsed,
        Err(error) => {
            let lead = correlate(tx, config, mail, &sender_address, None)
                .await?
                .lead();
            let example = error.example(language);
            let problem = Words {
                en: error.message(Language::En),
                fr: error.message(Language::Fr),
            };
            return answerer
                .refuse(tx, "command", lead, &problem, &example)
                .await;
        }
    };
    let correlation = correlate(tx, config, mail, &sender_address, parsed.lead).await?;
    if let Correlation::Crossed { token, thread } = correlation {
        let problem = words(
            format!(
                "this reply carries the reply address of {token} but answers mail about \
                 {thread}; nothing was changed — reply to the notification of the lead you mean"
            ),
            format!(
                "cette réponse porte l'adresse de réponse de {token} mais répond à un message \
                 sur {thread} ; rien n'a été modifié — répondez à la notification de la \
                 demande voulue"
            ),
        );
        return answerer
            .refuse(tx, "crossed", Some(thread), &problem, "")
            .await;
    }
    if let (Some(named), Some(answered)) = (parsed.lead, correlation.lead())
        && named != answered
    {
        let problem = words(
            format!(
                "your command names {named}, but this reply answers mail about {answered}; \
                 nothing was changed — reply to {named}'s own notification"
            ),
            format!(
                "votre commande nomme {named}, mais cette réponse porte sur {answered} ; rien \
                 n'a été modifié — répondez à la notification de {named}"
            ),
        );
        return answerer
            .refuse(tx, "command", Some(answered), &problem, "")
            .await;
    }

    match parsed.command {
        Command::Help => {
            let body = command::help_text(language);
            let title = pick(locale, "leadbot commands", "Les commandes de leadbot");
            answerer.inform(tx, correlation.lead(), &title, &body).await
        }
        Command::List => match &sender {
            Sender::Contact(contact) => {
                let all = leads::list_of_partner(tx, &contact.partner_id).await?;
                let title = pick(locale, "Your leads", "Vos demandes");
                answerer
                    .inform(tx, None, &title, &list_body(&all, locale, now))
                    .await
            }
            _ => {
                let problem = words(
                    "LIST shows a partner's leads; it is for partner contacts",
                    "LISTE montre les demandes d'un partenaire : elle est réservée à ses contacts",
                );
                answerer.refuse(tx, "command", None, &problem, "").await
            }
        },
        _ => act_on_lead(tx, &answerer, &sender, correlation, parsed, language).await,
    }
}

/// STATUS and every state-changing command: find the lead, check the sender may act on it,
/// apply, answer with the transcript.
async fn act_on_lead(
    tx: &mut PgConnection,
    answerer: &Answerer<'_>,
    sender: &Sender,
    correlation: Correlation,
    parsed: ParsedCommand,
    language: Language,
) -> Result<(Handled, Option<LeadId>), IngestError> {
    let kind = parsed.command.kind();
    let example = command::example(kind, language);
    let Some(lead_id) = correlation.lead() else {
        let problem = if correlation == Correlation::Tampered {
            words(
                "the reply address of this mail has been altered, so it cannot act on a lead",
                "l'adresse de réponse de ce message a été modifiée : il ne peut pas agir sur \
                 une demande",
            )
        } else {
            words(
                "leadbot could not tell which lead this reply is about: reply to the lead's \
                 notification, or add its tag, like ACCEPT L-1042",
                "leadbot n'a pas pu savoir de quelle demande parle cette réponse : répondez à \
                 la notification de la demande, ou ajoutez son numéro, comme ACCEPTER L-1042",
            )
        };
        return answerer
            .refuse(tx, "no_lead", None, &problem, &example)
            .await;
    };
    let Some(lead) = leads::load(tx, lead_id).await? else {
        let problem = words(
            format!("lead {lead_id} does not exist"),
            format!("la demande {lead_id} n'existe pas"),
        );
        return answerer
            .refuse(tx, "no_lead", None, &problem, &example)
            .await;
    };

    let actor = match authorize(answerer.sender.as_str(), sender, &correlation, &lead, kind) {
        Ok(actor) => actor,
        Err(problem) => {
            return answerer
                .refuse(tx, "not_authorized", Some(lead_id), &problem, "")
                .await;
        }
    };
    if let Err(problem) = check_registration(answerer.config, &parsed.command) {
        let form = registration::form(&answerer.config.bot.registration_fields, answerer.locale);
        return answerer
            .refuse(tx, "command", Some(lead_id), &problem, &form)
            .await;
    }

    let command_line = parsed.command.word().to_string();
    let Some(action) = parsed.command.clone().into_action() else {
        // STATUS: the lead as it stands, with its history.
        let events = leads::events(tx, lead_id).await?;
        let history = history(&events, answerer.locale);
        answerer
            .send(
                tx,
                &Notification::Status {
                    lead: &lead,
                    history: &history,
                },
            )
            .await?;
        return Ok((Handled::Answered("STATUS".into()), Some(lead_id)));
    };
    match act_in(tx, lead_id, &actor, action, answerer.now).await {
        Ok(outcome) => {
            notify::notices(tx, &answerer.config.bot, &outcome, answerer.now).await?;
            let decides = matches!(
                kind,
                CommandKind::Accept | CommandKind::Decline | CommandKind::Won | CommandKind::Lost
            );
            if let (true, false, Actor::Contact { name, email, .. }) =
                (decides, outcome.changed_nothing(), &actor)
            {
                let who = if name.is_empty() { email } else { name };
                notify::colleagues(
                    tx,
                    &answerer.config.bot,
                    &outcome.lead,
                    email,
                    who,
                    answerer.now,
                )
                .await?;
            }
            let for_reviewer = matches!(actor, Actor::Reviewer { .. });
            let results = transcript(
                &parsed,
                &outcome.lead,
                !outcome.changed_nothing(),
                for_reviewer,
                answerer.locale,
            );
            let next_step = registration_ask(answerer.config, kind, answerer.locale);
            let notification = Notification::Confirmation {
                lead: &outcome.lead,
                command: kind,
                results: &results,
                next_step: &next_step,
                for_reviewer,
            };
            answerer.send(tx, &notification).await?;
            Ok((
                Handled::Applied(format!("{command_line} on {lead_id}")),
                Some(lead_id),
            ))
        }
        Err(ActError::Store(error)) => Err(error.into()),
        Err(refusal) => {
            let mut problem = refusal_words(&refusal);
            // A member hears who can act; anyone else what they can send now.
            let (en, fr) = match refusal {
                ActError::Refused(TransitionError::MemberCannotAct { .. }) => {
                    who_can_act(tx, &lead.profile_id).await?
                }
                _ => {
                    let now = leads::load(tx, lead_id).await?.unwrap_or(lead);
                    let next: Vec<&str> = allowed_next(&now)
                        .into_iter()
                        .map(|word| command_word(word, answerer.locale))
                        .collect();
                    (
                        format!(". Commands possible now: {}.", next.join(", ")),
                        format!(". Commandes possibles maintenant : {}.", next.join(", ")),
                    )
                }
            };
            problem.en.push_str(&en);
            problem.fr.push_str(&fr);
            answerer
                .refuse(tx, "refused", Some(lead_id), &problem, "")
                .await
        }
    }
}

/// A member told "no" hears who can act: the profile's contacts allowed to.
async fn who_can_act(
    tx: &mut PgConnection,
    profile_id: &str,
) -> Result<(String, String), IngestError> {
    let names: Vec<String> = directory::profile_contacts(tx, profile_id)
        .await?
        .into_iter()
        .filter(|contact| contact.role().may_act())
        .map(|contact| format!("{} <{}>", contact.name, contact.email))
        .collect();
    if names.is_empty() {
        return Ok((String::new(), String::new()));
    }
    let (last, rest) = names.split_last().unwrap_or((&names[0], &[]));
    let list = |and: &str| match rest.is_empty() {
        true => last.clone(),
        false => format!("{} {and} {last}", rest.join(", ")),
    };
    Ok((
        format!(". Ask {} to act on it.", list("or")),
        format!(". Demandez à {} d'agir dessus.", list("ou")),
    ))
}

/// A customer answering their acknowledgement (more details, a phone number): the lead
/// is theirs when the reply threads under leadbot's mail about it.
async fn customer_follow_up(
    tx: &mut PgConnection,
    correlation: &Correlation,
    sender: &EmailAddress,
) -> Result<Option<Lead>, IngestError> {
    let Correlation::Thread(id) = correlation else {
        return Ok(None);
    };
    let lead = leads::load(tx, *id).await?;
    Ok(lead.filter(|lead| {
        lead.customer
            .email
            .as_deref()
            .is_some_and(|email| email.eq_ignore_ascii_case(sender.as_str()))
    }))
}

/// The customer's words go to the profile's contacts and into the lead's history; the
/// customer is not answered (their reply needs a person, not a bot).
async fn pass_to_contacts(
    tx: &mut PgConnection,
    config: &Config,
    mail: &InboundMail,
    lead: &Lead,
    text: &str,
    now: DateTime<Utc>,
) -> Result<(Handled, Option<LeadId>), IngestError> {
    let event = LeadEvent {
        kind: EventKind::CustomerMessage,
        actor: lead.customer.email.clone().unwrap_or_default(),
        data: serde_json::json!({ "subject": mail.subject, "text": text }),
    };
    leads::append_event(tx, lead.id, now, &event).await?;
    for contact in directory::profile_contacts(tx, &lead.profile_id).await? {
        let Some(recipient) = Recipient::contact(&contact, &config.bot) else {
            continue;
        };
        let quoted = bounded_quote(text, lead.id, recipient.locale);
        let notification = Notification::CustomerWrote {
            lead,
            text: &quoted,
        };
        notify::answer(tx, &config.bot, &recipient, &notification, None, now).await?;
    }
    Ok((
        Handled::Applied(format!("customer's message passed on for {}", lead.id)),
        Some(lead.id),
    ))
}

/// Token, sender and role must agree; a tag alone reads, never writes.
fn authorize(
    sender_email: &str,
    sender: &Sender,
    correlation: &Correlation,
    lead: &Lead,
    kind: CommandKind,
) -> Result<Actor, Words> {
    let reviewer_command = matches!(
        kind,
        CommandKind::Approve | CommandKind::Reject | CommandKind::Info
    );
    let reads_only = kind == CommandKind::Status;
    match sender {
        Sender::Reviewer if reviewer_command || reads_only => match correlation {
            Correlation::Token(token) if token.contact_id == REVIEWER_CONTACT_ID => {
                Ok(Actor::Reviewer {
                    email: sender_email.to_string(),
                })
            }
            Correlation::Thread(_) => Ok(Actor::Reviewer {
                email: sender_email.to_string(),
            }),
            Correlation::Tag(_) if reads_only => Ok(Actor::Operator),
            _ => Err(words(
                "reviewers act by replying to the registration mail they received",
                "les examinateurs agissent en répondant au message d'enregistrement reçu",
            )),
        },
        Sender::Reviewer => Err(words(
            "deal reviewers answer registrations with APPROVE, REJECT or INFO",
            "les examinateurs répondent aux enregistrements par APPROUVER, REJETER ou INFO",
        )),
        Sender::Stranger => Err(words(
            "this address is not a partner contact",
            "cette adresse n'est pas celle d'un contact partenaire",
        )),
        Sender::Contact(contact) => {
            if contact.partner_id != lead.partner_id {
                return Err(words(
                    "this lead belongs to another partner: its contacts act on it",
                    "cette demande appartient à un autre partenaire : ses contacts la traitent",
                ));
            }
            if reviewer_command {
                return Err(words(
                    "APPROVE, REJECT and INFO are for deal-registration reviewers",
                    "APPROUVER, REJETER et INFO sont réservés aux examinateurs des enregistrements",
                ));
            }
            let actor = Actor::Contact {
                name: contact.name.clone(),
                email: contact.email.clone(),
                role: contact.role(),
            };
            match correlation {
                _ if reads_only => Ok(actor),
                Correlation::Token(token) if token.contact_id == contact.id => Ok(actor),
                Correlation::Token(_) => Err(words(
                    "this reply address was issued to another contact; reply from the address \
                     that received the notification, or to your own copy of it",
                    "cette adresse de réponse a été attribuée à un autre contact : répondez depuis \
                     l'adresse qui a reçu la notification, ou à votre propre exemplaire",
                )),
                Correlation::Thread(_) => Ok(actor),
                Correlation::Tag(_) => Err(words(
                    "a lead tag alone cannot authorize a change: reply to the lead's notification \
                     (its reply address carries your signed token)",
                    "un numéro de demande seul ne peut pas autoriser un changement : répondez à la \
                     notification de la demande (son adresse de réponse porte votre jeton signé)",
                )),
                Correlation::Tampered | Correlation::Crossed { .. } | Correlation::Nothing => {
                    Err(words(
                        "this reply cannot be tied to a notification leadbot sent you",
                        "cette réponse ne correspond à aucune notification que leadbot vous a envoyée",
                    ))
                }
            }
        }
    }
}

/// A REGISTER must carry every configured registration field, each readable, and name an
/// eligible solution (`bot.registration_fields`, `bot.registration_solutions`).
fn check_registration(config: &Config, command: &Command) -> Result<(), Words> {
    let Command::Register { fields } = command else {
        return Ok(());
    };
    let bot = &config.bot;
    let problems = registration::check(
        &bot.registration_fields,
        &bot.registration_solutions,
        fields,
    );
    if problems.is_empty() {
        return Ok(());
    }
    let en: Vec<&str> = problems.iter().map(|p| p.en.as_str()).collect();
    let fr: Vec<&str> = problems.iter().map(|p| p.fr.as_str()).collect();
    Err(words(
        format!("the registration is incomplete: {}", en.join("; ")),
        format!("l'enregistrement est incomplet : {}", fr.join(" ; ")),
    ))
}

/// After WON, when deals are registered with reviewers: the registration form to send.
fn registration_ask(config: &Config, kind: CommandKind, locale: Locale) -> String {
    let bot = &config.bot;
    if kind != CommandKind::Won || bot.reviewers.is_empty() {
        return String::new();
    }
    let solutions = match bot.registration_solutions.is_empty() {
        true => String::new(),
        false => pick(
            locale,
            &format!(
                " (eligible solutions: {})",
                bot.registration_solutions.join(", ")
            ),
            &format!(
                " (solutions éligibles : {})",
                bot.registration_solutions.join(", ")
            ),
        ),
    };
    let colon = if locale == Locale::Fr { " :" } else { ":" };
    let ask = pick(
        locale,
        "To register this deal with the reviewers, reply with these lines filled in",
        "Pour enregistrer cette affaire auprès des examinateurs, répondez avec ces lignes \
         complétées",
    );
    let form = registration::form(&bot.registration_fields, locale);
    format!("{ask}{solutions}{colon}\n\n{form}")
}

async fn identify(
    tx: &mut PgConnection,
    config: &Config,
    sender: &EmailAddress,
) -> Result<Sender, IngestError> {
    if config.bot.reviewers.contains(sender) {
        return Ok(Sender::Reviewer);
    }
    Ok(match directory::contact_by_email(tx, sender).await? {
        Some(contact) => Sender::Contact(contact),
        None => Sender::Stranger,
    })
}

/// The receiving server's verdict: an Authentication-Results header (RFC 8601) from the
/// trusted authserv-id saying DMARC passed for the sender's domain, or DKIM passed with a
/// signature of exactly that domain. Values are compared whole, never as substrings, so
/// `header.d=contoso.test.evil.example` is not `contoso.test`.
fn is_authenticated(mail: &InboundMail, sender: &EmailAddress, config: &Config) -> bool {
    let Some(authserv) = config.bot.authserv_id.as_deref() else {
        return false;
    };
    let domain = sender.domain();
    mail.authentication_results.iter().any(|header| {
        let mut parts = header.split(';');
        let trusted = parts
            .next()
            .and_then(|first| first.split_whitespace().next())
            .is_some_and(|id| id.eq_ignore_ascii_case(authserv));
        trusted
            && parts.any(|part| {
                let tokens: Vec<String> = part
                    .split_whitespace()
                    .map(|t| t.trim_end_matches(',').to_ascii_lowercase())
                    .collect();
                let has = |token: &str| tokens.iter().any(|t| t == token);
                let from_domain = format!("header.from={domain}");
                let signed_domain = format!("header.d={domain}");
                (has("dmarc=pass") && has(&from_domain))
                    || (has("dkim=pass") && has(&signed_domain))
            })
    })
}

impl Answerer<'_> {
    fn recipient(&self) -> Recipient {
        Recipient {
            email: self.sender.clone(),
            locale: self.locale,
            contact_id: None,
        }
    }

    /// Says what was wrong — unless this sender already had enough such answers this hour.
    async fn refuse(
        &self,
        tx: &mut PgConnection,
        kind: &str,
        lead: Option<LeadId>,
        problem: &Words,
        example: &str,
    ) -> Result<(Handled, Option<LeadId>), IngestError> {
        let problem = problem.pick(self.locale);
        let per_hour = self.config.bot.error_answers_per_hour;
        let allowed =
            limits::allow_answer(tx, self.sender.as_str(), kind, per_hour, self.now).await?;
        if !allowed {
            return Ok((
                Handled::Ignored(format!(
                    "{problem} (no answer: rate limit for {kind} answers)"
                )),
                lead,
            ));
        }
        let notification = Notification::ErrorAnswer {
            lead,
            problem,
            written: &self.written,
            example,
        };
        self.send(tx, &notification).await?;
        Ok((Handled::Answered(problem.to_string()), lead))
    }

    async fn inform(
        &self,
        tx: &mut PgConnection,
        lead: Option<LeadId>,
        title: &str,
        body: &str,
    ) -> Result<(Handled, Option<LeadId>), IngestError> {
        let notification = Notification::Information { lead, title, body };
        self.send(tx, &notification).await?;
        Ok((Handled::Answered(title.to_string()), lead))
    }

    async fn send(
        &self,
        tx: &mut PgConnection,
        notification: &Notification<'_>,
    ) -> Result<(), IngestError> {
        notify::answer(
            tx,
            &self.config.bot,
            &self.recipient(),
            notification,
            self.mail.message_id.as_deref(),
            self.now,
        )
        .await?;
        Ok(())
    }
}
