//! Reply commands through `leadbot deliver`: a contact's reply changes a lead only when its
//! token, its sender and the sender's role agree, and every reply is answered.

mod support;

use support::db::{TestDb, seed_directory};
use support::leadbot::{deliver, run, stdout};

const RFI: &[u8] =
    b"From: Chlo\xc3\xa9 Dubois <chloe@client.test>\r\nTo: contoso-fr@leads.example.test\r\n\
    Subject: Migration Teams\r\nMessage-ID: <rfi-1@client.test>\r\n\
    Content-Type: text/plain; charset=utf-8\r\n\r\n\
    Bonjour, nous voulons migrer 200 bo\xc3\xaetes vers Teams.\r\n";

/// A database with the example partners, the environment to run leadbot on it, and one
/// lead made from `RFI`.
struct World {
    db: TestDb,
    env: Vec<(String, String)>,
    lead: i64,
}

impl World {
    async fn new() -> Self {
        let db = TestDb::new().await;
        seed_directory(&db.pool).await;
        let mut env = db.env();
        env.push((
            "LEADBOT_BOT_REVIEWERS".into(),
            "deal-desk@microsoft.test".into(),
        ));
        let output = deliver(&env, RFI);
        assert!(output.status.success(), "{output:?}");
        let lead = sqlx::query_scalar("SELECT max(id) FROM leads")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        Self { db, env, lead }
    }

    /// The notification `template` sent to `recipient`: (Reply-To, Message-ID).
    async fn notification(&self, template: &str, recipient: &str) -> (String, String) {
        sqlx::query_as(
            "SELECT coalesce(reply_to, ''), message_id FROM outbox
             WHERE template = $1 AND recipient = $2 ORDER BY id DESC LIMIT 1",
        )
        .bind(template)
        .bind(recipient)
        .fetch_one(&self.db.pool)
        .await
        .unwrap_or_else(|e| panic!("no {template} mail to {recipient}: {e}"))
    }

    async fn state(&self) -> String {
        sqlx::query_scalar("SELECT state FROM leads WHERE id = $1")
            .bind(self.lead)
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }

    /// Bodies of the mail queued to `recipient` with `template`, oldest first.
    async fn mail_to(&self, recipient: &str, template: &str) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT text_body FROM outbox WHERE recipient = $1 AND template = $2 ORDER BY id",
        )
        .bind(recipient)
        .bind(template)
        .fetch_all(&self.db.pool)
        .await
        .unwrap()
    }

    async fn events(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT kind FROM lead_events WHERE lead_id = $1 ORDER BY id")
            .bind(self.lead)
            .fetch_all(&self.db.pool)
            .await
            .unwrap()
    }

    /// Delivers a reply from `from` to `to`, answering `in_reply_to`.
    fn reply(
        &self,
        id: &str,
        from: &str,
        to: &str,
        in_reply_to: Option<&str>,
        body: &str,
    ) -> String {
        let threading = in_reply_to
            .map(|m| format!("In-Reply-To: <{m}>\r\nReferences: <{m}>\r\n"))
            .unwrap_or_default();
        let raw = format!(
            "From: {from}\r\nTo: {to}\r\nSubject: Re: [L-{}] Nouvelle demande\r\n\
             Message-ID: <{id}>\r\n{threading}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}",
            self.lead
        );
        let output = deliver(&self.env, raw.as_bytes());
        assert!(output.status.success(), "{output:?}");
        stdout(&output)
    }
}

#[tokio::test]
async fn a_french_accept_is_applied_echoed_and_its_quoted_history_never_runs() {
    let world = World::new().await;
    let (reply_to, message_id) = world.notification("new_lead", "alice@contoso.test").await;
    world.reply(
        "r1@contoso.test",
        "Alice Martin <alice@contoso.test>",
        &reply_to,
        Some(&message_id),
        "ACCEPTER\r\nNom de l'affaire : Teams\r\nValeur : 12 500 \u{20ac}\r\n\r\n\
         Le lun. 2 nov. 2026 \u{e0} 09:00, leadbot <leads@leads.example.test> a \u{e9}crit :\r\n\
         > REFUSER 2\r\n> DECLINE\r\n",
    );
    assert_eq!(world.state().await, "accepted");
    let lead: serde_json::Value = serde_json::from_slice(
        &run(
            &world.env,
            &["lead", "show", &world.lead.to_string(), "--json"],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(lead["deal"]["name"], "Teams");
    assert_eq!(lead["deal"]["value"], 12500.0);
    assert_eq!(lead["deal"]["currency"], "EUR");

    let confirmation = &world.mail_to("alice@contoso.test", "confirmation").await[0];
    // Alice reads French: her own lines echoed as she wrote them, the amount the French way.
    assert!(
        confirmation.contains("> Nom de l'affaire : Teams"),
        "{confirmation}"
    );
    assert!(
        confirmation.contains("→ 12\u{202f}500,00\u{a0}€"),
        "{confirmation}"
    );
    assert!(
        confirmation.contains("la demande est maintenant acceptée"),
        "{confirmation}"
    );
    let threaded: Option<String> =
        sqlx::query_scalar("SELECT in_reply_to FROM outbox WHERE template = 'confirmation'")
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
    assert_eq!(threaded.as_deref(), Some("r1@contoso.test"));
}

#[tokio::test]
async fn the_same_reply_twice_makes_one_transition_and_one_answer() {
    let world = World::new().await;
    let (reply_to, message_id) = world.notification("new_lead", "alice@contoso.test").await;
    for _ in 0..2 {
        world.reply(
            "twice@contoso.test",
            "alice@contoso.test",
            &reply_to,
            Some(&message_id),
            "ACCEPT\r\n",
        );
    }
    assert_eq!(world.events().await, ["received", "accepted"]);
    assert_eq!(
        world
            .mail_to("alice@contoso.test", "confirmation")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_reply_to_from_is_correlated_by_the_token_in_in_reply_to() {
    let world = World::new().await;
    let (_, message_id) = world.notification("new_lead", "paul@contoso.test").await;
    world.reply(
        "r2@contoso.test",
        "paul@contoso.test",
        "leads@leads.example.test",
        Some(&message_id),
        "DECLINE 2\r\n",
    );
    assert_eq!(world.state().await, "declined");
    let to_customer = world
        .mail_to("chloe@client.test", "customer_declined")
        .await;
    assert_eq!(
        to_customer.len(),
        1,
        "the customer is asked to choose another partner"
    );
}

#[tokio::test]
async fn the_second_replier_is_told_who_acted_first() {
    let world = World::new().await;
    let (alice_to, alice_mid) = world.notification("new_lead", "alice@contoso.test").await;
    let (paul_to, paul_mid) = world.notification("new_lead", "paul@contoso.test").await;
    world.reply(
        "a@contoso.test",
        "alice@contoso.test",
        &alice_to,
        Some(&alice_mid),
        "ACCEPT\r\n",
    );
    world.reply(
        "p@contoso.test",
        "paul@contoso.test",
        &paul_to,
        Some(&paul_mid),
        "DECLINE 1\r\n",
    );
    assert_eq!(world.state().await, "accepted");
    let answer = &world.mail_to("paul@contoso.test", "error_answer").await[0];
    assert!(
        answer.contains("déjà été acceptée par Alice Martin"),
        "{answer}"
    );
}

#[tokio::test]
async fn spoofed_replies_change_nothing_and_get_a_short_answer() {
    let world = World::new().await;
    let (alice_to, alice_mid) = world.notification("new_lead", "alice@contoso.test").await;
    let (marc_to, marc_mid) = world.notification("new_lead", "marc@contoso.test").await;
    let tampered = alice_to.replacen("+l", "+L9", 1);

    // Another contact of the same partner using Alice's token.
    world.reply(
        "s1@x",
        "paul@contoso.test",
        &alice_to,
        Some(&alice_mid),
        "ACCEPT\r\n",
    );
    // A tampered token.
    world.reply("s2@x", "alice@contoso.test", &tampered, None, "ACCEPT\r\n");
    // A contact of another partner.
    world.reply(
        "s3@x",
        "bob@fabrikam.test",
        &alice_to,
        Some(&alice_mid),
        "ACCEPT\r\n",
    );
    // A member, with their own genuine token.
    world.reply(
        "s4@x",
        "marc@contoso.test",
        &marc_to,
        Some(&marc_mid),
        "ACCEPT\r\n",
    );
    // A stranger.
    world.reply(
        "s5@x",
        "mallory@evil.test",
        &alice_to,
        Some(&alice_mid),
        "ACCEPT\r\n",
    );
    // The subject tag alone, from a real contact.
    world.reply(
        "s6@x",
        "alice@contoso.test",
        "leads@leads.example.test",
        None,
        "ACCEPT\r\n",
    );

    assert_eq!(world.state().await, "received");
    assert_eq!(world.events().await, ["received"]);
    // Each answer is in the reader's language: Contoso's contacts read French.
    let expectations = [
        ("paul@contoso.test", "attribuée à un autre contact"),
        ("alice@contoso.test", "a été modifiée"),
        ("bob@fabrikam.test", "belongs to another partner"),
        ("marc@contoso.test", "les membres peuvent lire"),
        (
            "marc@contoso.test",
            "Demandez à Alice Martin <alice@contoso.test> ou Paul Durand <paul@contoso.test> \
             d'agir dessus",
        ),
        ("mallory@evil.test", "not a partner contact"),
    ];
    for (who, words) in expectations {
        let answers = world.mail_to(who, "error_answer").await;
        assert!(
            answers.iter().any(|a| a.contains(words)),
            "{who}: {answers:?}"
        );
    }
    let alice = world.mail_to("alice@contoso.test", "error_answer").await;
    assert!(
        alice.iter().any(|a| a.contains("numéro de demande seul")),
        "{alice:?}"
    );
}

#[tokio::test]
async fn automated_replies_are_never_answered() {
    let world = World::new().await;
    let (alice_to, alice_mid) = world.notification("new_lead", "alice@contoso.test").await;
    let raw = format!(
        "From: alice@contoso.test\r\nTo: {alice_to}\r\nSubject: Automatic reply: New lead\r\n\
         Auto-Submitted: auto-replied\r\nIn-Reply-To: <{alice_mid}>\r\nMessage-ID: <ooo@contoso.test>\r\n\r\n\
         I am out of the office. ACCEPT\r\n"
    );
    assert!(deliver(&world.env, raw.as_bytes()).status.success());
    let answers: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE recipient = 'alice@contoso.test' AND template <> 'new_lead'")
        .fetch_one(&world.db.pool)
        .await
        .unwrap();
    assert_eq!(answers, 0);
    assert_eq!(world.state().await, "received");
}

#[tokio::test]
async fn error_answers_are_rate_limited_per_sender() {
    let world = World::new().await;
    for n in 0..6 {
        world.reply(
            &format!("spam{n}@evil.test"),
            "mallory@evil.test",
            "leads@leads.example.test",
            None,
            "ACCEPT\r\n",
        );
    }
    assert_eq!(
        world
            .mail_to("mallory@evil.test", "error_answer")
            .await
            .len(),
        3
    );
}

#[tokio::test]
async fn a_command_that_is_not_understood_is_answered_with_a_correct_example() {
    let world = World::new().await;
    let (alice_to, alice_mid) = world.notification("new_lead", "alice@contoso.test").await;
    world.reply(
        "bad@contoso.test",
        "alice@contoso.test",
        &alice_to,
        Some(&alice_mid),
        "ACCEPT\r\nValue: lots of money\r\n",
    );
    assert_eq!(world.state().await, "received");
    let answer = &world.mail_to("alice@contoso.test", "error_answer").await[0];
    assert!(
        answer.contains("lots of money"),
        "shows what was written: {answer}"
    );
    assert!(
        answer.contains("ACCEPT"),
        "shows a correct example: {answer}"
    );
}

#[tokio::test]
async fn the_whole_life_cycle_by_mail_with_deal_registration() {
    let world = World::new().await;
    let (alice_to, alice_mid) = world.notification("new_lead", "alice@contoso.test").await;
    world.reply(
        "l1@contoso.test",
        "alice@contoso.test",
        &alice_to,
        Some(&alice_mid),
        "ACCEPT\r\nDeal name: Teams\r\nValue: $40k\r\n",
    );
    world.reply(
        "l2@contoso.test",
        "alice@contoso.test",
        &alice_to,
        None,
        "EDIT\r\nCRM ID: CRM-9\r\n",
    );
    world.reply(
        "l3@contoso.test",
        "alice@contoso.test",
        &alice_to,
        None,
        "CONTACT Jean Roy, +33 6 12 34 56 78, jean@client.test\r\n",
    );
    world.reply(
        "l4@contoso.test",
        "alice@contoso.test",
        &alice_to,
        None,
        "FAVORITE\r\n",
    );
    world.reply(
        "l5@contoso.test",
        "alice@contoso.test",
        &alice_to,
        None,
        "WON\r\n",
    );
    // WON asks, in Alice's French, for what the reviewers need.
    let won = world.mail_to("alice@contoso.test", "confirmation").await;
    let won = won.last().unwrap();
    assert!(
        won.contains("ENREGISTRER\nSolution\u{a0}:\nID de l'organisation du client\u{a0}:"),
        "{won}"
    );
    // A registration without those fields, or unreadable, is refused with every gap named.
    world.reply(
        "l6@contoso.test",
        "alice@contoso.test",
        &alice_to,
        None,
        "REGISTER\r\nSolution: Teams Phone\r\nFinal value: lots\r\n",
    );
    let refused = world.mail_to("alice@contoso.test", "error_answer").await;
    let refused = refused
        .last()
        .expect("an answer to the incomplete registration");
    for gap in [
        "l'enregistrement est incomplet",
        "ID de l'organisation du client\u{a0}:\u{a0}\u{bb} manque",
        "Valeur finale\u{a0}: \u{ab}\u{a0}lots\u{a0}\u{bb} ne contient pas de nombre",
        "Date de clôture",
    ] {
        assert!(refused.contains(gap), "{gap:?} in {refused}");
    }
    world.reply(
        "l6b@contoso.test",
        "alice@contoso.test",
        &alice_to,
        None,
        "REGISTER\r\nSolution: Teams Phone\r\nCustomer organisation ID: FAB-42\r\n\
         Final value: 38,500 EUR\r\nClose date: 2027-03-31\r\n",
    );
    assert_eq!(world.state().await, "won");

    let (review_to, review_mid) = world
        .notification("registration_for_review", "deal-desk@microsoft.test")
        .await;
    world.reply(
        "l7@microsoft.test",
        "deal-desk@microsoft.test",
        &review_to,
        Some(&review_mid),
        "APPROVE\r\n",
    );
    assert_eq!(
        world.events().await,
        [
            "received",
            "accepted",
            "edited",
            "contact_added",
            "favorited",
            "won",
            "registration_submitted",
            "registration_approved"
        ]
    );
    assert!(
        !world
            .mail_to("alice@contoso.test", "registration_reviewed")
            .await
            .is_empty()
    );

    world.reply(
        "l8@contoso.test",
        "alice@contoso.test",
        &alice_to,
        None,
        "STATUS\r\n",
    );
    world.reply(
        "l9@contoso.test",
        "alice@contoso.test",
        &alice_to,
        None,
        "LIST\r\n",
    );
    world.reply(
        "l10@contoso.test",
        "alice@contoso.test",
        &alice_to,
        None,
        "AIDE\r\n",
    );
    let info = world.mail_to("alice@contoso.test", "information").await;
    assert_eq!(info.len(), 2, "LIST and HELP");
    assert!(
        info[0].contains(&format!("L-{}", world.lead)),
        "{}",
        info[0]
    );
    assert!(
        info[1].contains("ACCEPTER"),
        "French help for a French contact: {}",
        info[1]
    );
}

#[tokio::test]
async fn an_outlook_html_only_french_reply_keeps_its_lines() {
    let world = World::new().await;
    let (alice_to, alice_mid) = world.notification("new_lead", "alice@contoso.test").await;
    let raw = format!(
        "From: Alice Martin <alice@contoso.test>\r\nTo: {alice_to}\r\nSubject: RE: Nouvelle demande\r\n\
         Message-ID: <html-1@contoso.test>\r\nIn-Reply-To: <{alice_mid}>\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n\
         <html><body><div>Accepter</div><div>Nom de l'affaire : Teams</div><div>Valeur : 25 000 EUR</div>\
         <div><br></div><div id=\"divRplyFwdMsg\"><b>De :</b> leadbot<br><b>Envoy\u{e9} :</b> lundi<br>\
         <b>Objet :</b> Nouvelle demande</div><div>REFUSER 2</div></body></html>\r\n"
    );
    assert!(deliver(&world.env, raw.as_bytes()).status.success());
    assert_eq!(world.state().await, "accepted");
    let confirmation = &world.mail_to("alice@contoso.test", "confirmation").await[0];
    assert!(
        confirmation.contains("→ 25\u{202f}000,00\u{a0}€"),
        "{confirmation}"
    );
}

#[tokio::test]
async fn a_bounce_marks_the_mail_it_reports_on_failed_and_is_never_answered() {
    let world = World::new().await;
    let (_, message_id) = world.notification("new_lead", "paul@contoso.test").await;
    let dsn = format!(
        "From: MAILER-DAEMON@mail.contoso.test (Mail Delivery System)\r\nTo: leads@leads.example.test\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mail.contoso.test>\r\n\
         Auto-Submitted: auto-replied\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nThe mail system: <paul@contoso.test>: host said: 550 5.1.1 no such user\r\n\
         --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail.contoso.test\r\n\r\n\
         Final-Recipient: rfc822; paul@contoso.test\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n\
         --b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: leads@leads.example.test\r\n\
         To: paul@contoso.test\r\nMessage-ID: <{message_id}>\r\n\r\n--b--\r\n"
    );
    assert!(deliver(&world.env, dsn.as_bytes()).status.success());
    let (state, error): (String, Option<String>) =
        sqlx::query_as("SELECT state, last_error FROM outbox WHERE message_id = $1")
            .bind(&message_id)
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
    assert_eq!(state, "failed");
    assert!(
        error.unwrap_or_default().contains("550 5.1.1"),
        "the bounce's reason is kept"
    );
    let answers: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE recipient ILIKE 'mailer-daemon%'")
            .fetch_one(&world.db.pool)
            .await
            .unwrap();
    assert_eq!(answers, 0);
}

#[tokio::test]
async fn with_authentication_required_only_a_passing_verdict_lets_a_reply_act() {
    let mut world = World::new().await;
    world
        .env
        .push(("LEADBOT_BOT_REQUIRE_AUTHENTICATION".into(), "true".into()));
    world.env.push((
        "LEADBOT_BOT_AUTHSERV_ID".into(),
        "mx.leads.example.test".into(),
    ));
    let (alice_to, alice_mid) = world.notification("new_lead", "alice@contoso.test").await;

    world.reply(
        "noauth@contoso.test",
        "alice@contoso.test",
        &alice_to,
        Some(&alice_mid),
        "ACCEPT\r\n",
    );
    assert_eq!(
        world.state().await,
        "received",
        "no verdict: nothing changes"
    );
    let answer = &world.mail_to("alice@contoso.test", "error_answer").await[0];
    assert!(answer.contains("DKIM/DMARC"), "{answer}");

    let other_server = format!(
        "From: alice@contoso.test\r\nTo: {alice_to}\r\nSubject: Re\r\nMessage-ID: <fake@contoso.test>\r\n\
         In-Reply-To: <{alice_mid}>\r\n\
         Authentication-Results: mx.evil.test; dkim=pass header.d=contoso.test; dmarc=pass\r\n\r\nACCEPT\r\n"
    );
    assert!(
        deliver(&world.env, other_server.as_bytes())
            .status
            .success()
    );
    assert_eq!(
        world.state().await,
        "received",
        "a verdict from another server is not trusted"
    );

    let look_alike = format!(
        "From: alice@contoso.test\r\nTo: {alice_to}\r\nSubject: Re\r\nMessage-ID: <alike@contoso.test>\r\n\
         In-Reply-To: <{alice_mid}>\r\n\
         Authentication-Results: mx.leads.example.test; dkim=pass header.d=contoso.test.evil.test\r\n\r\nACCEPT\r\n"
    );
    assert!(deliver(&world.env, look_alike.as_bytes()).status.success());
    assert_eq!(
        world.state().await,
        "received",
        "a look-alike signing domain is not the sender's"
    );

    let trusted = format!(
        "From: alice@contoso.test\r\nTo: {alice_to}\r\nSubject: Re\r\nMessage-ID: <signed@contoso.test>\r\n\
         In-Reply-To: <{alice_mid}>\r\n\
         Authentication-Results: mx.leads.example.test; dkim=pass header.d=contoso.test header.s=s1\r\n\r\nACCEPT\r\n"
    );
    assert!(deliver(&world.env, trusted.as_bytes()).status.success());
    assert_eq!(world.state().await, "accepted");
}

#[tokio::test]
async fn a_customer_answering_the_acknowledgement_reaches_the_contacts() {
    let world = World::new().await;
    let (_, ack_id) = world
        .notification("acknowledgement", "chloe@client.test")
        .await;
    world.reply(
        "more@client.test",
        "chloe@client.test",
        "leads@leads.example.test",
        Some(&ack_id),
        "Merci ! Mon numéro direct : 06 11 22 33 44\r\n",
    );
    assert_eq!(world.state().await, "received");
    assert_eq!(world.events().await, ["received", "customer_message"]);
    for contact in [
        "alice@contoso.test",
        "paul@contoso.test",
        "marc@contoso.test",
    ] {
        let passed = world.mail_to(contact, "customer_wrote").await;
        assert_eq!(passed.len(), 1, "{contact}");
        // Who wrote, about which lead, their words as written (typography untouched).
        for shown in [
            "Chloé Dubois, client de la demande [L-",
            "  > Merci ! Mon numéro direct : 06 11 22 33 44",
        ] {
            assert!(
                passed[0].contains(shown),
                "{contact}: {shown:?} in {}",
                passed[0]
            );
        }
    }
    let shown = run(&world.env, &["lead", "show", &world.lead.to_string()]);
    assert!(
        stdout(&shown).contains("> Merci ! Mon numéro direct : 06 11 22 33 44"),
        "{}",
        stdout(&shown)
    );
    assert!(
        world
            .mail_to("chloe@client.test", "error_answer")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn answering_someone_elses_mail_names_the_lead_but_authorizes_nothing() {
    let world = World::new().await;
    // The customer knows their acknowledgement's Message-ID; forging a contact's From
    // with it must not act as that contact.
    let (_, ack_id) = world
        .notification("acknowledgement", "chloe@client.test")
        .await;
    world.reply(
        "forged@client.test",
        "alice@contoso.test",
        "leads@leads.example.test",
        Some(&ack_id),
        "DECLINE 2\r\n",
    );
    assert_eq!(world.state().await, "received");
    let answers = world.mail_to("alice@contoso.test", "error_answer").await;
    assert!(
        answers.iter().any(|a| a.contains("numéro de demande seul")),
        "{answers:?}"
    );
}

#[tokio::test]
async fn a_command_naming_another_lead_than_the_one_answered_changes_nothing() {
    let world = World::new().await;
    let (alice_to, alice_mid) = world.notification("new_lead", "alice@contoso.test").await;
    world.reply(
        "other@contoso.test",
        "alice@contoso.test",
        &alice_to,
        Some(&alice_mid),
        "DECLINE L-99999 2\r\n",
    );
    assert_eq!(world.state().await, "received");
    let answer = &world.mail_to("alice@contoso.test", "error_answer").await[0];
    assert!(answer.contains("nomme L-99999"), "{answer}");
}

#[tokio::test]
async fn a_contacts_fresh_mail_with_a_command_is_answered_not_made_a_lead() {
    let world = World::new().await;
    let fresh = |id: &str, body: &str| {
        format!(
            "From: Bob Jones <bob@fabrikam.test>\r\nTo: leads@leads.example.test\r\nSubject: leads\r\n\
             Message-ID: <{id}@fabrikam.test>\r\n\r\n{body}"
        )
    };
    assert!(
        deliver(&world.env, fresh("list", "LIST\r\n").as_bytes())
            .status
            .success()
    );
    let tag = format!("ACCEPT L-{}\r\nDeal name: Azure migration\r\n", world.lead);
    assert!(
        deliver(&world.env, fresh("accept", &tag).as_bytes())
            .status
            .success()
    );

    let leads: i64 = sqlx::query_scalar("SELECT count(*) FROM leads")
        .fetch_one(&world.db.pool)
        .await
        .unwrap();
    assert_eq!(leads, 1, "no lead was made of the contacts' commands");
    assert_eq!(world.state().await, "received");
    assert_eq!(
        world
            .mail_to("bob@fabrikam.test", "information")
            .await
            .len(),
        1,
        "LIST answered"
    );
    let refused = world.mail_to("bob@fabrikam.test", "error_answer").await;
    assert!(
        refused.iter().any(|a| a.contains("another partner")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn when_one_contact_accepts_the_profiles_other_contacts_are_told_who_and_when() {
    let world = World::new().await;
    let (alice_to, alice_mid) = world.notification("new_lead", "alice@contoso.test").await;
    world.reply(
        "a@contoso.test",
        "Alice Martin <alice@contoso.test>",
        &alice_to,
        Some(&alice_mid),
        "ACCEPTER\r\n",
    );
    assert_eq!(world.state().await, "accepted");
    for colleague in ["paul@contoso.test", "marc@contoso.test"] {
        let notices = world.mail_to(colleague, "colleague_acted").await;
        assert_eq!(notices.len(), 1, "{colleague}");
        assert!(
            notices[0].contains("Alice Martin a accepté la demande"),
            "{}",
            notices[0]
        );
        assert!(notices[0].contains("s'en occupe"), "{}", notices[0]);
    }
    assert!(
        world
            .mail_to("alice@contoso.test", "colleague_acted")
            .await
            .is_empty(),
        "the contact who acted gets the transcript, not a notice"
    );
}

#[tokio::test]
async fn status_shows_members_the_lead_and_its_history_and_refuses_strangers() {
    let world = World::new().await;
    let (alice_to, alice_mid) = world.notification("new_lead", "alice@contoso.test").await;
    world.reply(
        "a@contoso.test",
        "Alice Martin <alice@contoso.test>",
        &alice_to,
        Some(&alice_mid),
        "ACCEPTER\r\nValeur : 12 500 €\r\n",
    );
    let (marc_to, marc_mid) = world.notification("new_lead", "marc@contoso.test").await;
    world.reply(
        "m@contoso.test",
        "Marc Petit <marc@contoso.test>",
        &marc_to,
        Some(&marc_mid),
        "STATUT\r\n",
    );
    let status = &world.mail_to("marc@contoso.test", "status").await[0];
    for shown in [
        "Demande [L-",
        "acceptée",
        "Chloé Dubois",
        "Valeur\u{a0}: 12\u{202f}500,00\u{a0}€",
        "Historique\u{a0}:",
        "reçue",
        "acceptée — Alice Martin <alice@contoso.test>",
    ] {
        assert!(status.contains(shown), "{shown:?} in {status}");
    }

    world.reply(
        "s@elsewhere.test",
        "someone@elsewhere.test",
        "leads@leads.example.test",
        None,
        &format!("STATUS L-{}\r\n", world.lead),
    );
    assert!(
        world
            .mail_to("someone@elsewhere.test", "status")
            .await
            .is_empty()
    );
    assert_eq!(
        world
            .mail_to("someone@elsewhere.test", "error_answer")
            .await
            .len(),
        1
    );
}
