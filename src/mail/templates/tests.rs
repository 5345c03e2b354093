use chrono::{Duration, TimeZone};

use super::*;
use crate::domain::{
    Customer, Deal, Decline, DeclineReason, LeadContact, LeadKind, LeadState, Money, Referrer,
    ReferrerKind, Registration, RegistrationStatus,
};
use crate::mail::typography::unmarked;

fn received_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
}

fn lead() -> Lead {
    Lead {
        id: LeadId(1042),
        kind: LeadKind::CustomerInquiry,
        state: LeadState::Received,
        partner_id: "contoso".into(),
        profile_id: "contoso-fr".into(),
        customer: Customer {
            name: Some("Chloé Dubois".into()),
            email: Some("chloe@client.test".into()),
            company: Some("Fabrikam SA".into()),
            phone: Some("+33 6 12 34 56 78".into()),
        },
        context: Default::default(),
        need: "Migrate 200 mailboxes to Teams before March.".into(),
        hot_until: Some(received_at() + Duration::hours(72)),
        favorite: false,
        deal: Deal::default(),
        decline: None,
        contacts: Vec::new(),
        referrer: None,
        registration: None,
        received_at: received_at(),
        expires_at: received_at() + Duration::days(14),
        first_response_at: None,
        closed_at: None,
        version: 1,
    }
}

fn accepted() -> Lead {
    Lead {
        state: LeadState::Accepted,
        deal: Deal {
            name: Some("Fabrikam Teams rollout".into()),
            value: Some(Money {
                amount: "25000".parse().unwrap(),
                currency: "EUR".into(),
            }),
            timeframe: Some("Q1 2027".into()),
            ..Deal::default()
        },
        contacts: vec![LeadContact {
            name: "Jean Martin".into(),
            phone: Some("+33 1 00 00 00 00".into()),
            email: None,
        }],
        ..lead()
    }
}

fn referred(state: LeadState) -> Lead {
    Lead {
        kind: LeadKind::SalesQualified,
        state,
        referrer: Some(Referrer {
            kind: ReferrerKind::Staff,
            email: "sam@microsoft.test".into(),
            name: Some("Sam Seller".into()),
        }),
        decline: (state == LeadState::Declined).then(|| Decline {
            reason: DeclineReason::NoCapacity,
            notes: Some("Fully booked until March".into()),
        }),
        ..lead()
    }
}

fn registered(status: RegistrationStatus, note: Option<&str>) -> Lead {
    Lead {
        state: LeadState::Won,
        registration: Some(Registration {
            status,
            fields: vec![
                ("Solution".into(), "Teams Phone".into()),
                ("Seats".into(), "200".into()),
            ],
            review_note: note.map(String::from),
        }),
        ..accepted()
    }
}

const REPLY_TO: &str = "leads+l1042c7-abcdefghijklmnop@leads.example.test";

/// Every template, with the leads that make it say the most.
fn every_notification<'a>(
    leads: &'a [Lead; 7],
    results: &'a [CommandResult],
    history: &'a [HistoryLine],
    answers: &'a Answers,
) -> Vec<(&'static str, Notification<'a>)> {
    let [fresh, accepted, declined, expired, won, submitted, reviewed] = leads;
    vec![
        (
            "new_lead",
            Notification::NewLead {
                lead: fresh,
                reply_to: REPLY_TO,
                now: received_at(),
            },
        ),
        (
            "acknowledgement",
            Notification::Acknowledgement { lead: fresh },
        ),
        (
            "confirmation",
            Notification::Confirmation {
                lead: accepted,
                command: CommandKind::Accept,
                results,
                next_step: "",
                for_reviewer: false,
            },
        ),
        (
            "confirmation_reviewer",
            Notification::Confirmation {
                lead: submitted,
                command: CommandKind::Approve,
                results: &results[..1],
                next_step: "",
                for_reviewer: true,
            },
        ),
        (
            "customer_wrote",
            Notification::CustomerWrote {
                lead: fresh,
                text: "Best to call me on +33 6 98 76 54 32 after 2pm: thanks!",
            },
        ),
        (
            "colleague_acted",
            Notification::ColleagueActed {
                lead: accepted,
                who: "Alice Martin",
                at: received_at() + Duration::minutes(102),
            },
        ),
        (
            "status",
            Notification::Status {
                lead: accepted,
                history,
            },
        ),
        (
            "error_answer",
            Notification::ErrorAnswer {
                lead: Some(LeadId(1042)),
                problem: &answers.problem,
                written: "ACCEPT\nValue: lots",
                example: &answers.example,
            },
        ),
        (
            "information_help",
            Notification::Information {
                lead: Some(LeadId(1042)),
                title: &answers.help_title,
                body: &answers.help,
            },
        ),
        (
            "customer_declined",
            Notification::CustomerDeclined { lead: fresh },
        ),
        (
            "customer_expired",
            Notification::CustomerExpired { lead: fresh },
        ),
        (
            "referrer_expired",
            Notification::ReferrerExpired { lead: expired },
        ),
        (
            "contacts_expired",
            Notification::ContactsExpired { lead: fresh },
        ),
        (
            "reminder_first",
            Notification::Reminder {
                lead: fresh,
                reminder: Reminder::First,
                reply_to: REPLY_TO,
            },
        ),
        (
            "reminder_final",
            Notification::Reminder {
                lead: fresh,
                reminder: Reminder::Final,
                reply_to: REPLY_TO,
            },
        ),
        (
            "hot_window_closed",
            Notification::HotWindowClosed {
                lead: fresh,
                reply_to: REPLY_TO,
            },
        ),
        (
            "referrer_closed_declined",
            Notification::ReferrerClosed { lead: declined },
        ),
        (
            "referrer_closed_won",
            Notification::ReferrerClosed { lead: won },
        ),
        (
            "registration_for_review",
            Notification::RegistrationForReview {
                lead: submitted,
                reply_to: REPLY_TO,
            },
        ),
        (
            "registration_reviewed",
            Notification::RegistrationReviewed {
                lead: reviewed,
                reply_to: REPLY_TO,
            },
        ),
    ]
}

fn sample_leads() -> [Lead; 7] {
    [
        lead(),
        accepted(),
        referred(LeadState::Declined),
        referred(LeadState::Expired),
        referred(LeadState::Won),
        registered(RegistrationStatus::Submitted, None),
        registered(
            RegistrationStatus::InfoRequested,
            Some("How many seats are new licences?"),
        ),
    ]
}

/// What the reply path says back, in the reader's language.
struct Answers {
    problem: String,
    example: String,
    help_title: String,
    help: String,
}

fn answers(locale: Locale) -> Answers {
    use crate::domain::command::{help_text, parse_command};
    let language = if locale == Locale::Fr {
        Language::Fr
    } else {
        Language::En
    };
    let error = parse_command("ACCEPT\nValue: lots").unwrap_err();
    Answers {
        problem: error.message(language),
        example: error.example(language),
        help_title: pick(
            locale == Locale::Fr,
            "leadbot commands",
            "Les commandes de leadbot",
        ),
        help: help_text(language),
    }
}

/// A transcript as the reply path words it for each reader.
fn transcript(locale: Locale) -> Vec<CommandResult> {
    let row = |command: &str, result: &str| CommandResult {
        command: command.into(),
        result: result.into(),
        applied: true,
    };
    match locale {
        Locale::En => vec![
            row("Accept", "done: the lead is now accepted"),
            row("Value: 25k EUR", "→ €25,000.00"),
        ],
        Locale::Fr => vec![
            row("ACCEPT", "c'est fait : la demande est maintenant acceptée"),
            row("Valeur: 25 000 EUR", "→ 25\u{202f}000,00\u{a0}€"),
        ],
    }
}

fn history(locale: Locale) -> Vec<HistoryLine> {
    let line = |at: &str, what: &str, who: &str| HistoryLine {
        at: at.into(),
        what: what.into(),
        who: who.into(),
    };
    match locale {
        Locale::En => vec![
            line("2 Nov 2026, 09:00 UTC", "received", "chloe@client.test"),
            line(
                "2 Nov 2026, 10:42 UTC",
                "accepted",
                "Alice Martin <alice@contoso.test>",
            ),
        ],
        Locale::Fr => vec![
            line("2 nov. 2026 à 09:00 UTC", "reçue", "chloe@client.test"),
            line(
                "2 nov. 2026 à 10:42 UTC",
                "acceptée",
                "Alice Martin <alice@contoso.test>",
            ),
        ],
    }
}

#[test]
fn every_template_in_both_languages() {
    let leads = sample_leads();
    for locale in [Locale::En, Locale::Fr] {
        let (results, history) = (transcript(locale), history(locale));
        let answers = answers(locale);
        for (name, notification) in every_notification(&leads, &results, &history, &answers) {
            let rendered = render(&notification, locale).unwrap();
            assert!(
                rendered.subject.starts_with("[L-1042] "),
                "{name}: {}",
                rendered.subject
            );
            let shown = format!(
                "Subject: {}\n\n----- text -----\n{}\n----- html -----\n{}",
                rendered.subject, rendered.text, rendered.html
            );
            insta::assert_snapshot!(format!("{name}_{}", locale.as_str()), shown);
        }
    }
}

/// No English word of the state or command vocabulary in a French mail's own text: what
/// people wrote (echoes, customer text) aside.
#[test]
fn french_mail_speaks_french() {
    use super::super::typography::own_text;
    const STATES: &[&str] = &["received", "accepted", "declined", "expired", "won", "lost"];
    let commands: Vec<&str> = CommandKind::ALL
        .iter()
        .map(|kind| kind.word(Language::En))
        .filter(|word| {
            !CommandKind::ALL
                .iter()
                .any(|k| k.word(Language::Fr) == *word)
        })
        .collect();
    let leads = sample_leads();
    let (results, history) = (transcript(Locale::Fr), history(Locale::Fr));
    let answers = answers(Locale::Fr);
    let mut found = Vec::new();
    for (name, notification) in every_notification(&leads, &results, &history, &answers) {
        let marked = render_marked(&notification, Locale::Fr).unwrap();
        for part in [&marked.subject, &marked.text, &marked.html] {
            // "AJOUTER CONTACT" is French; CONTACT alone is the English command.
            let own = CommandKind::ALL
                .iter()
                .map(|kind| kind.word(Language::Fr))
                .fold(own_text(part), |text, french| text.replace(french, " "));
            for word in own.split(|c: char| !c.is_alphanumeric()) {
                let english_state = STATES.contains(&word.to_lowercase().as_str());
                let english_command = commands.contains(&word);
                if english_state || english_command {
                    found.push(format!("{name}: {word}"));
                }
            }
        }
    }
    found.dedup();
    assert!(found.is_empty(), "English in French mail: {found:?}");
}

/// Mail about no lead (yet), in both languages.
fn leadless_notifications() -> Vec<(&'static str, Notification<'static>)> {
    vec![
        (
            "request_received",
            Notification::RequestReceived {
                name: "Chloé Dubois",
            },
        ),
        (
            "request_unmatched",
            Notification::RequestUnmatched {
                from: "chloe@client.test",
                subject: "Migration : serveurs",
                need: "Nous cherchons un partenaire pour migrer nos serveurs.",
                reason: "no profile matches the request's region, keywords or company size",
            },
        ),
    ]
}

#[test]
fn mail_about_no_lead_in_both_languages() {
    use super::super::typography::own_text;
    for (name, notification) in leadless_notifications() {
        for locale in [Locale::En, Locale::Fr] {
            let rendered = render(&notification, locale).unwrap();
            assert!(!rendered.subject.contains("[L-"), "{}", rendered.subject);
            let shown = format!(
                "Subject: {}\n\n----- text -----\n{}\n----- html -----\n{}",
                rendered.subject, rendered.text, rendered.html
            );
            insta::assert_snapshot!(format!("{name}_{}", locale.as_str()), shown);
        }
        let marked = render_marked(&notification, Locale::Fr).unwrap();
        let own = own_text(&marked.text);
        assert!(own.contains("Bonjour"), "{own}");
    }
}

#[test]
fn customer_text_is_escaped_in_html_and_kept_in_text() {
    let mut lead = lead();
    lead.need = "<script>alert('x')</script> & more".into();
    lead.customer.company = Some("<b>Evil</b> Corp".into());
    let notification = Notification::NewLead {
        lead: &lead,
        reply_to: REPLY_TO,
        now: received_at(),
    };
    for locale in [Locale::En, Locale::Fr] {
        let rendered = render(&notification, locale).unwrap();
        assert!(!rendered.html.contains("<script>"), "{}", rendered.html);
        assert!(!rendered.html.contains("<b>Evil"), "{}", rendered.html);
        assert!(
            rendered.html.contains("&#60;script&#62;") || rendered.html.contains("&lt;script&gt;")
        );
        assert!(rendered.text.contains("<script>alert('x')</script> & more"));
    }
}

#[test]
fn the_flame_notice_shows_only_while_the_customer_waits_for_a_call() {
    let lead = lead();
    let hot = |now| {
        render(
            &Notification::NewLead {
                lead: &lead,
                reply_to: REPLY_TO,
                now,
            },
            Locale::En,
        )
        .unwrap()
    };
    let early = hot(received_at());
    assert!(early.text.contains("asked to be contacted directly"));
    assert!(early.subject.contains("contact requested"));
    let late = hot(received_at() + Duration::hours(73));
    assert!(!late.text.contains("asked to be contacted directly"));
    assert!(!late.subject.contains("contact requested"));
}

#[test]
fn the_new_lead_html_opens_prefilled_replies() {
    let lead = lead();
    let rendered = render(
        &Notification::NewLead {
            lead: &lead,
            reply_to: REPLY_TO,
            now: received_at(),
        },
        Locale::En,
    )
    .unwrap();
    let accept =
        "mailto:leads%2Bl1042c7-abcdefghijklmnop@leads.example.test?subject=Re%3A%20%5BL-1042%5D";
    assert!(rendered.html.contains(accept), "{}", rendered.html);
    assert!(
        rendered
            .html
            .contains("body=ACCEPT%0D%0ADeal%20name%3A%20Fabrikam%20SA")
    );
    assert!(
        rendered
            .html
            .contains("body=DECLINE%0D%0AReason%3A%0D%0ANotes%3A")
    );
    assert!(rendered.html.contains("2.%20No%20capacity%20right%20now"));
}

/// The bodies of the `mailto:` links of an HTML part, decoded as a mail client does.
fn mailto_bodies(html: &str) -> Vec<String> {
    html.split("href=\"mailto:")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter_map(|href| {
            let href = href.replace("&#38;", "&").replace("&amp;", "&");
            let body = href.split_once("&body=")?.1.to_string();
            let decoded = percent_encoding::percent_decode_str(&body)
                .decode_utf8()
                .ok()?;
            Some(decoded.replace("\r\n", "\n"))
        })
        .collect()
}

/// Sends `body` back as the contact's reply and returns the lead it leaves.
fn reply_unchanged(lead: &Lead, body: &str) -> Lead {
    use crate::domain::command::parse_command;
    use crate::domain::lifecycle::{Actor, apply};
    let parsed = parse_command(body).unwrap_or_else(|error| panic!("{body:?}: {error}"));
    let actor = Actor::Contact {
        name: "Alice Martin".into(),
        email: "alice@contoso.test".into(),
        role: crate::domain::ContactRole::ReferralsAdmin,
    };
    let action = parsed.command.into_action().expect("a command that acts");
    apply(lead, &actor, action, received_at() + Duration::hours(1))
        .unwrap_or_else(|error| panic!("{body:?}: {error}"))
        .lead
}

#[test]
fn every_prefilled_reply_sent_back_unchanged_is_its_command_and_invents_nothing() {
    let with_company = lead();
    let without_company = Lead {
        customer: Customer {
            company: None,
            ..lead().customer
        },
        ..lead()
    };
    for lead in [&with_company, &without_company] {
        let notifications = [
            Notification::NewLead {
                lead,
                reply_to: REPLY_TO,
                now: received_at(),
            },
            Notification::Reminder {
                lead,
                reminder: Reminder::Final,
                reply_to: REPLY_TO,
            },
        ];
        for (notification, locale) in notifications
            .iter()
            .flat_map(|n| [(n, Locale::En), (n, Locale::Fr)])
        {
            let rendered = render(notification, locale).unwrap();
            let page = Page::new(notification, locale);
            let shown = [unmarked(&page.accept_example), page.decline_example.clone()];
            for example in &shown {
                assert!(rendered.text.contains(example), "{}", rendered.text);
            }
            let mut bodies = mailto_bodies(&rendered.html);
            assert_eq!(bodies.len(), 2, "{}", rendered.html);
            bodies.extend(shown);
            let [accept_link, decline_link, accept_text, decline_text] =
                <[String; 4]>::try_from(bodies).unwrap();
            for body in [accept_link, accept_text] {
                let after = reply_unchanged(lead, &body);
                assert_eq!(after.state, LeadState::Accepted, "{body}");
                assert_eq!(
                    after.deal,
                    Deal {
                        name: lead.customer.company.clone(),
                        ..Deal::default()
                    },
                    "{body}"
                );
            }
            for body in [decline_link, decline_text] {
                let after = reply_unchanged(lead, &body);
                assert_eq!(
                    after.decline,
                    Some(Decline {
                        reason: DeclineReason::Other,
                        notes: None,
                    }),
                    "{body}"
                );
            }
        }
    }
}

#[test]
fn mail_about_no_lead_has_no_tag() {
    let rendered = render(
        &Notification::ErrorAnswer {
            lead: None,
            problem: "no command found",
            written: "thanks!",
            example: "ACCEPT",
        },
        Locale::En,
    )
    .unwrap();
    assert_eq!(rendered.subject, "Your reply could not be applied");
    assert!(rendered.text.contains("  > thanks!"));
}
