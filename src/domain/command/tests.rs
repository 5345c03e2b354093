//! The grammar as partners use it: every command, field and refusal, in both languages.

use proptest::prelude::*;

use super::*;
use crate::domain::lead::Money;

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
                line: format!("Value: {written}"),
                written: written.into(),
                read_as: read_as.into(),
                money: Money::parse(written, None).ok(),
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
fn a_decline_is_never_refused_for_its_wording() {
    let parsed = parse("DECLINE\nReason: because");
    assert_eq!(
        parsed.command,
        Command::Decline {
            reason: DeclineReason::Other,
            notes: Some("because".into()),
        }
    );
    assert_eq!(echoes(&parsed), ["Reason: because → 7. Other"]);
    assert_eq!(
        parse("DECLINE not").command,
        Command::Decline {
            reason: DeclineReason::Other,
            notes: Some("not".into()),
        }
    );
    let parsed = parse("REFUSER");
    assert_eq!(
        parsed.command,
        Command::Decline {
            reason: DeclineReason::Other,
            notes: None,
        }
    );
    assert_eq!(echoes(&parsed), ["Reason:  → 7. Autre"]);
}

#[test]
fn a_reason_in_a_sentence_below_the_command_is_read() {
    let parsed = parse("DECLINE\nSorry, we are fully booked until March.\n\nBest, Jean");
    assert_eq!(
        parsed.command,
        Command::Decline {
            reason: DeclineReason::NoCapacity,
            notes: Some("Sorry, we are fully booked until March.".into()),
        }
    );
}

#[test]
fn the_partners_words_are_kept_before_their_notes() {
    assert_eq!(
        parse("REFUSER — trop gros pour nous\nNotes : rappeler en 2027").command,
        Command::Decline {
            reason: DeclineReason::NoCapacity,
            notes: Some("trop gros pour nous — rappeler en 2027".into()),
        }
    );
}

#[test]
fn a_reason_number_off_the_list_shows_the_numbered_list() {
    let error = refuse("DECLINE 9");
    assert_eq!(
        error,
        CommandError::UnknownReason {
            written: "9".into(),
            line: "DECLINE 9".into(),
        }
    );
    let example = error.example(Language::Fr);
    assert!(example.starts_with("REFUSER\nMotif : 2"), "{example}");
    assert!(example.contains("2. Pas de disponibilité actuellement"));
    assert!(error.example(Language::En).contains("7. Other"));
}

/// `tests/golden/decline/phrasings.txt`: ways partners write each reason, one per line
/// under a `# reason` heading; every one is read as that reason, its words kept.
#[test]
fn declines_in_the_partners_own_words() {
    let corpus = include_str!("../../../tests/golden/decline/phrasings.txt");
    let mut expected = None;
    let mut checked = 0;
    let mut wrong = Vec::new();
    for line in corpus.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(heading) = line.strip_prefix("# ") {
            expected = Some(
                DeclineReason::ALL
                    .iter()
                    .copied()
                    .find(|r| r.as_str() == heading)
                    .unwrap_or_else(|| panic!("unknown reason heading {heading}")),
            );
            continue;
        }
        let expected = expected.expect("a reason heading before the first phrasing");
        for text in [
            format!("DECLINE\nReason: {line}"),
            format!("REFUSER — {line}"),
        ] {
            match parse_command(&text).map(|parsed| parsed.command) {
                Ok(Command::Decline { reason, notes }) if reason == expected => {
                    assert_eq!(notes.as_deref(), Some(line), "{text}");
                }
                other => wrong.push(format!("{text:?}: {other:?}, expected {expected:?}")),
            }
        }
        checked += 1;
    }
    assert!(checked >= 80, "only {checked} phrasings");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
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
    let parsed = parse("ACCEPT\nValue: 3k EUR\nSee you on Monday: bring the contract\nNotes: x");
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
        let error = parse_command("REFUSER 12\n").unwrap_err();
        assert!(
            error
                .message(Language::Fr)
                .contains("n'est pas le numéro d'un motif de refus"),
            "{}",
            error.message(Language::Fr)
        );
        let error = parse_command("ACEPTER\n").unwrap_err();
        assert!(error.message(Language::Fr).contains("vouliez-vous dire"));
    }
}

/// Pre-filled replies and French mail clients write no-break spaces (U+00A0 before `:`,
/// U+202F between digit groups and before `!`): they read like plain spaces.
#[test]
fn french_no_break_spaces_read_like_spaces() {
    let parsed = parse(
        "ACCEPTER\u{202f}!\nNom de l'affaire\u{a0}: Migration Teams\n\
         Valeur\u{a0}: 12\u{202f}500,00\u{a0}€\nDélai\u{a0}:\u{a0}T1 2027",
    );
    assert_eq!(
        parsed.command,
        Command::Accept {
            deal: DealChanges {
                name: Some("Migration Teams".into()),
                value: Some(money("12500", "EUR")),
                timeframe: Some("T1 2027".into()),
                ..DealChanges::default()
            },
            contacts: vec![],
        }
    );
    assert_eq!(
        parse("REFUSER\nMotif\u{a0}: 2").command,
        Command::Decline {
            reason: DeclineReason::NoCapacity,
            notes: None,
        }
    );
}
