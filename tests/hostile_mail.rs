//! Mail an attacker (or a bad day) would send, through `leadbot deliver`: nothing is dropped,
//! nothing loops, nothing is reflected, and a token never acts outside its own thread.

mod support;

use support::db::{TestDb, seed_directory};
use support::leadbot::{deliver, run, stdout};

fn rfi(message_id: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "{extra_headers}From: Chloé Dubois <chloe@client.test>\r\nTo: contoso-fr@leads.example.test\r\n\
         Subject: Demande Teams\r\nDate: Mon, 02 Nov 2026 09:00:00 +0100\r\n\
         Message-ID: <{message_id}>\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}"
    )
    .into_bytes()
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn world() -> (TestDb, Vec<(String, String)>) {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let env = db.env();
    (db, env)
}

#[tokio::test]
async fn a_different_message_reusing_a_message_id_is_kept_and_noted_copies_stay_one() {
    let (db, env) = world().await;
    let first = rfi(
        "same@client.test",
        "",
        "Nous voulons migrer vers Teams.\r\n",
    );
    assert!(deliver(&env, &first).status.success());
    // Someone who guessed the Message-ID sends another request under it.
    let other = rfi(
        "same@client.test",
        "",
        "Une autre demande : Azure, 50 postes.\r\n",
    );
    let output = deliver(&env, &other);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout(&output).contains("created L-"),
        "{}",
        stdout(&output)
    );
    assert_eq!(count(&db, "SELECT count(*) FROM leads").await, 2);

    let listed = run(&env, &["inbound", "list", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(rows.len(), 2);
    let noted: Vec<&serde_json::Value> = rows.iter().filter(|r| r["note"].is_string()).collect();
    assert_eq!(noted.len(), 1, "{rows:?}");
    assert!(
        noted[0]["note"]
            .as_str()
            .unwrap()
            .contains("reuses that of inbound message"),
        "{noted:?}"
    );
    assert_eq!(noted[0]["message_id"], "same@client.test");

    // Copies that differ only in trace headers are the same message: no-ops, either one.
    let traced = |raw: &[u8]| {
        let mut copy = b"Received: from mx2.client.test by mail.example.test\r\n\
            Delivered-To: contoso-fr@leads.example.test\r\n"
            .to_vec();
        copy.extend_from_slice(raw);
        copy
    };
    for copy in [traced(&first), traced(&other), other.clone()] {
        let output = deliver(&env, &copy);
        assert!(output.status.success(), "{output:?}");
        assert!(stdout(&output).contains("already recorded"), "{output:?}");
    }
    assert_eq!(count(&db, "SELECT count(*) FROM leads").await, 2);
    assert_eq!(count(&db, "SELECT count(*) FROM inbound_messages").await, 2);
}

#[tokio::test]
async fn the_bots_own_mail_never_becomes_a_lead_nor_gets_an_answer() {
    let (db, env) = world().await;
    // A real acknowledgement leadbot queued, to learn one of its Message-IDs.
    assert!(
        deliver(&env, &rfi("seed@client.test", "", "Teams, svp.\r\n"))
            .status
            .success()
    );
    let ours: String = sqlx::query_scalar(
        "SELECT message_id FROM outbox WHERE template = 'acknowledgement' LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let leads_before = count(&db, "SELECT count(*) FROM leads").await;
    let mail_before = count(&db, "SELECT count(*) FROM outbox").await;

    let loops = [
        // The bot's notification, Auto-Submitted stripped, landing on a profile alias.
        (
            "leadbot <leads@leads.example.test>",
            "contoso-fr@leads.example.test",
            "loop-1@client.test".to_string(),
            "Nouvelle demande L-1000",
        ),
        // Its address in another case and plus-addressed.
        (
            "LEADS+abc@Leads.Example.TEST",
            "contoso-fr@leads.example.test",
            "loop-2@client.test".to_string(),
            "ACCEPT",
        ),
        // A profile address as the sender, mailing the bot.
        (
            "Contoso-FR@leads.example.test",
            "leads@leads.example.test",
            "loop-3@client.test".to_string(),
            "Hello",
        ),
        // A stranger's From, but the Message-ID is one leadbot generated (a forwarded copy).
        (
            "chloe@client.test",
            "contoso-fr@leads.example.test",
            ours.clone(),
            "Re-sent",
        ),
        // The form leadbot gives its Message-IDs, under the bot's domain.
        (
            "chloe@client.test",
            "contoso-fr@leads.example.test",
            "leadbot.0123456789abcdef@leads.example.test".to_string(),
            "Re-sent",
        ),
    ];
    for (from, to, message_id, subject) in &loops {
        let raw = format!(
            "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nNous voulons migrer vers Teams.\r\n"
        );
        let output = deliver(&env, raw.as_bytes());
        assert!(output.status.success(), "{output:?}");
        assert!(stdout(&output).contains("mail loop"), "{from}: {output:?}");
    }
    assert_eq!(count(&db, "SELECT count(*) FROM leads").await, leads_before);
    assert_eq!(
        count(&db, "SELECT count(*) FROM outbox").await,
        mail_before,
        "nothing is answered"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM inbound_messages WHERE outcome = 'ignored' AND reason LIKE 'mail loop%'"
        )
        .await,
        loops.len() as i64
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM outbox WHERE recipient LIKE 'leads%'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_token_inside_another_leads_thread_changes_nothing_and_names_both() {
    let (db, env) = world().await;
    assert!(
        deliver(&env, &rfi("lead-a@client.test", "", "Teams, svp.\r\n"))
            .status
            .success()
    );
    let other = rfi("lead-b@client.test", "", "Azure aussi.\r\n");
    let other = String::from_utf8(other)
        .unwrap()
        .replace("Subject: Demande Teams", "Subject: Demande Azure");
    assert!(deliver(&env, other.as_bytes()).status.success());
    let notification = |lead: i64| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_as::<_, (String, String)>(
                "SELECT reply_to, message_id FROM outbox
                 WHERE template = 'new_lead' AND recipient = 'alice@contoso.test' AND lead_id = $1",
            )
            .bind(lead)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM leads ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    let (a, b) = (ids[0], ids[1]);
    let (a_reply_to, _) = notification(a).await;
    let (_, b_message_id) = notification(b).await;

    // Alice answers lead B's notification, but with lead A's (valid) token as recipient.
    let raw = format!(
        "From: alice@contoso.test\r\nTo: {a_reply_to}\r\nSubject: Re: [L-{b}] Nouvelle demande\r\n\
         Message-ID: <crossed@contoso.test>\r\nIn-Reply-To: <{b_message_id}>\r\n\
         References: <{b_message_id}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDECLINE 2\r\n"
    );
    let output = deliver(&env, raw.as_bytes());
    assert!(output.status.success(), "{output:?}");
    let states: Vec<String> = sqlx::query_scalar("SELECT state FROM leads ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(states, ["received", "received"], "neither lead changed");
    let answer: String = sqlx::query_scalar(
        "SELECT text_body FROM outbox WHERE template = 'error_answer' AND recipient = 'alice@contoso.test'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(
        answer.contains(&format!("L-{a}")) && answer.contains(&format!("L-{b}")),
        "{answer}"
    );

    // The same token in its own thread still works.
    let (_, a_message_id) = notification(a).await;
    let raw = format!(
        "From: alice@contoso.test\r\nTo: {a_reply_to}\r\nSubject: Re: [L-{a}] Nouvelle demande\r\n\
         Message-ID: <own@contoso.test>\r\nIn-Reply-To: <{a_message_id}>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nDECLINE 2\r\n"
    );
    assert!(deliver(&env, raw.as_bytes()).status.success());
    let state: String = sqlx::query_scalar("SELECT state FROM leads WHERE id = $1")
        .bind(a)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(state, "declined");
}

#[tokio::test]
async fn control_characters_in_names_and_subjects_never_reach_a_lead_or_a_mail() {
    let (db, env) = world().await;
    // "Evil\r\nBcc: victim@x.test" as encoded words, in the display name and the subject.
    let raw = b"From: =?utf-8?B?RXZpbA0KQmNjOiB2aWN0aW1AeC50ZXN0?= <chloe@client.test>\r\n\
        To: contoso-fr@leads.example.test\r\n\
        Subject: =?utf-8?B?VGVhbXMNCkJjYzogdmljdGltQHgudGVzdA==?=\r\n\
        Message-ID: <evil@client.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
        Nous voulons migrer vers Teams.\r\n";
    assert!(deliver(&env, raw).status.success());
    let name: Option<String> = sqlx::query_scalar("SELECT customer_name FROM leads")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(name.as_deref(), Some("Evil Bcc: victim@x.test"));
    let subjects: Vec<String> = sqlx::query_scalar("SELECT subject FROM outbox")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert!(!subjects.is_empty());
    for subject in subjects {
        assert!(!subject.chars().any(char::is_control), "{subject:?}");
    }
    let texts: Vec<String> = sqlx::query_scalar("SELECT text_body FROM outbox")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    for text in texts {
        assert!(
            !text.lines().any(|l| l.trim_start().starts_with("Bcc:")),
            "a fake line: {text}"
        );
    }
}

#[tokio::test]
async fn reprocessing_a_message_that_took_effect_changes_nothing_and_mails_nobody() {
    let (db, env) = world().await;
    assert!(
        deliver(&env, &rfi("rp@client.test", "", "Teams, svp.\r\n"))
            .status
            .success()
    );
    let (reply_to, message_id): (String, String) = sqlx::query_as(
        "SELECT reply_to, message_id FROM outbox WHERE template = 'new_lead' AND recipient = 'alice@contoso.test'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let reply = format!(
        "From: alice@contoso.test\r\nTo: {reply_to}\r\nSubject: Re: Nouvelle demande\r\n\
         Message-ID: <won@contoso.test>\r\nIn-Reply-To: <{message_id}>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nACCEPT\r\n"
    );
    assert!(deliver(&env, reply.as_bytes()).status.success());
    let mail_before = count(&db, "SELECT count(*) FROM outbox").await;
    let events_before = count(&db, "SELECT count(*) FROM lead_events").await;
    let id: i64 =
        sqlx::query_scalar("SELECT id FROM inbound_messages WHERE message_id = 'won@contoso.test'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    for id in [id, id - 1] {
        let output = run(&env, &["inbound", "reprocess", &id.to_string()]);
        assert!(output.status.success(), "{output:?}");
        let said = stdout(&output);
        assert!(said.contains("already took effect"), "{said}");
        assert!(said.contains("nobody mailed"), "{said}");
    }
    assert_eq!(count(&db, "SELECT count(*) FROM outbox").await, mail_before);
    assert_eq!(
        count(&db, "SELECT count(*) FROM lead_events").await,
        events_before
    );
    let state: String = sqlx::query_scalar("SELECT state FROM leads")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(state, "accepted");
}

/// `leadbot deliver` with `bot.max_inbound_size` lowered, so that "too large" is cheap.
fn with_limit(env: &[(String, String)], bytes: usize) -> Vec<(String, String)> {
    let mut env = env.to_vec();
    env.push(("LEADBOT_BOT_MAX_INBOUND_SIZE".into(), bytes.to_string()));
    env
}

#[tokio::test]
async fn mail_over_the_size_limit_is_kept_in_part_quarantined_and_sends_nothing() {
    let (db, env) = world().await;
    let env = with_limit(&env, 300_000);
    let huge = rfi("huge@client.test", "", &"Teams, svp. ".repeat(100_000));
    assert!(huge.len() > 1_000_000);
    let output = deliver(&env, &huge);
    assert!(output.status.success(), "{output:?}");
    let (outcome, reason, kept): (String, String, i32) = sqlx::query_as(
        "SELECT outcome, reason, length(raw) FROM inbound_messages WHERE message_id = 'huge@client.test'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(outcome, "quarantined");
    assert!(reason.starts_with("too large"), "{reason}");
    assert!(reason.contains("max_inbound_size"), "{reason}");
    assert!((kept as usize) < 70 * 1024, "kept {kept} bytes");
    assert_eq!(count(&db, "SELECT count(*) FROM leads").await, 0);
    assert_eq!(
        count(&db, "SELECT count(*) FROM outbox").await,
        0,
        "nothing sent"
    );
    // Delivered again: the same message, not a reuse of its Message-ID.
    let again = deliver(&env, &huge);
    assert!(stdout(&again).contains("already recorded"), "{again:?}");
    // A part is no message: reprocessing refuses to make a lead from it.
    let id = count(&db, "SELECT id FROM inbound_messages")
        .await
        .to_string();
    let output = run(&env, &["inbound", "reprocess", &id]);
    assert!(stdout(&output).contains("kept only in part"), "{output:?}");
    assert_eq!(count(&db, "SELECT count(*) FROM leads").await, 0);
}

#[tokio::test]
async fn a_bounce_over_the_size_limit_is_still_a_bounce() {
    let (db, env) = world().await;
    assert!(
        deliver(&env, &rfi("b@client.test", "", "Teams, svp.\r\n"))
            .status
            .success()
    );
    let message_id: String = sqlx::query_scalar(
        "SELECT message_id FROM outbox WHERE recipient = 'paul@contoso.test' LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    // A DSN returning the whole original, which was large.
    let dsn = format!(
        "From: MAILER-DAEMON@mail.contoso.test (Mail Delivery System)\r\nTo: leads@leads.example.test\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-big@mail.contoso.test>\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\n<paul@contoso.test>: host said: 552 5.3.4 message too big\r\n\
         --b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail.contoso.test\r\n\r\n\
         Final-Recipient: rfc822; paul@contoso.test\r\nAction: failed\r\nStatus: 5.3.4\r\n\
         Diagnostic-Code: smtp; 552 5.3.4 message too big\r\n\
         --b\r\nContent-Type: message/rfc822\r\n\r\nFrom: leads@leads.example.test\r\n\
         To: paul@contoso.test\r\nMessage-ID: <{message_id}>\r\n\r\n{}\r\n--b--\r\n",
        "x".repeat(500_000)
    );
    let output = deliver(&with_limit(&env, 100_000), dsn.as_bytes());
    assert!(output.status.success(), "{output:?}");
    let outcome: String = sqlx::query_scalar(
        "SELECT outcome FROM inbound_messages WHERE message_id = 'dsn-big@mail.contoso.test'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(outcome, "automated");
    let state: String = sqlx::query_scalar("SELECT state FROM outbox WHERE message_id = $1")
        .bind(&message_id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(state, "failed", "the bounce marked the mail it reports");
}

#[tokio::test]
async fn a_long_request_is_quoted_in_part_and_never_echoed_to_its_sender() {
    let (db, env) = world().await;
    let need = "Nous voulons migrer nos boîtes vers Teams, site par site.\r\n".repeat(20_000);
    assert!(need.len() > 1_000_000);
    let output = deliver(&env, &rfi("long@client.test", "", &need));
    assert!(output.status.success(), "{output:?}");
    let kept: i32 = sqlx::query_scalar("SELECT length(need) FROM leads")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(kept as usize > 1_000_000, "the lead keeps the full text");
    let notification: String = sqlx::query_scalar(
        "SELECT text_body FROM outbox WHERE template = 'new_lead' AND recipient = 'alice@contoso.test'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(notification.len() < 30_000, "{} bytes", notification.len());
    assert!(
        notification.contains("Le texte complet") && notification.contains("est conservé"),
        "alice reads French: {}",
        &notification[notification.len().saturating_sub(600)..]
    );
    let acknowledgement: String = sqlx::query_scalar(
        "SELECT text_body FROM outbox WHERE template = 'acknowledgement' AND recipient = 'chloe@client.test'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(
        !acknowledgement.contains("site par site"),
        "the acknowledgement reflects nothing the sender wrote"
    );
}

#[tokio::test]
async fn a_form_naming_the_bot_as_the_customer_is_not_acknowledged_to_the_bot() {
    let (db, env) = world().await;
    let form = "From: Website forms <no-reply@forms.example.test>\r\n\
        To: contoso-fr@leads.example.test\r\nSubject: Nouvelle demande depuis le site\r\n\
        Message-ID: <form-loop@forms.example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\
        Content-Transfer-Encoding: 8bit\r\n\r\nNom : Luc Bernard\r\n\
        E-mail : Leads+x@leads.example.test\r\nPays/Région : France\r\n\
        Besoin : Migration de notre messagerie vers Microsoft 365.\r\n";
    assert!(deliver(&env, form.as_bytes()).status.success());
    let customer: Option<String> = sqlx::query_scalar("SELECT customer_email FROM leads")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        customer.map(|e| e.to_lowercase()).as_deref(),
        Some("leads+x@leads.example.test"),
        "the form names the bot as the customer"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM outbox WHERE template = 'acknowledgement'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM outbox WHERE recipient ILIKE 'leads%'"
        )
        .await,
        0
    );
}
