//! Bounces and what a free-form request says, through the MTA-pipe path (`leadbot
//! deliver`) on a real database: a bounce is linked to the mail it reports on and never
//! becomes a lead; a bounced acknowledgement flags the customer's address to the lead's
//! contacts; a bounced notification tells the partner's admins; handling a report again
//! changes nothing. A request's place, size, call request and staff note land on the lead.

mod support;

use serde_json::Value;
use support::db::{TestDb, seed_directory};
use support::leadbot::{deliver, run as leadbot, stdout};

fn json(db: &TestDb, args: &[&str]) -> Value {
    let output = leadbot(&db.env(), args);
    assert!(output.status.success(), "{args:?}: {output:?}");
    serde_json::from_slice(&output.stdout).expect("json")
}

fn outbox(db: &TestDb) -> Vec<Value> {
    json(db, &["outbox", "list", "--json"])
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn request(message_id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Grand Groupe <contact@grandgroupe.test>\r\nTo: contoso-fr@leads.example.test\r\n\
         Subject: Migration Microsoft 365\r\nDate: Mon, 02 Nov 2026 09:00:00 +0100\r\n\
         Message-ID: <{message_id}>\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}"
    )
    .into_bytes()
}

const GRAND_GROUPE: &str = "Bonjour,\r\n\r\nNous sommes 2 000 salariés en France et souhaitons \
    migrer notre messagerie vers Microsoft 365. Merci de me rappeler.\r\n\r\nCordialement,\r\n\
    Jacques Leroy\r\nDirecteur informatique\r\nGrand Groupe\r\n8 avenue de l'Europe, 69003 Lyon\r\n";

/// A Postfix report on `message_id`, sent to `recipient`, as `leadbot deliver` gets it.
fn postfix_bounce(report_id: &str, recipient: &str, message_id: &str) -> Vec<u8> {
    format!(
        "Return-Path: <>\r\nFrom: MAILER-DAEMON <>\r\nTo: leads@leads.example.test\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <{report_id}>\r\n\
         Date: Mon, 02 Nov 2026 09:05:00 +0100\r\nAuto-Submitted: auto-replied\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; \
         boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
         This is the mail system at host mx.leads.example.test.\r\n\r\n<{recipient}>: host \
         mx said: 550 5.1.1 User unknown\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\
         \r\nReporting-MTA: dns; mx.leads.example.test\r\n\r\nFinal-Recipient: rfc822; \
         {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 \
         <{recipient}>: User unknown\r\n\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\n\
         From: leads@leads.example.test\r\nTo: {recipient}\r\nMessage-ID: <{message_id}>\r\n\
         \r\n--b--\r\n"
    )
    .into_bytes()
}

fn sent_to<'a>(mail: &'a [Value], to: &str, template: &str) -> &'a Value {
    mail.iter()
        .find(|m| m["to"] == to && m["template"] == template)
        .unwrap_or_else(|| panic!("no {template} to {to} in {mail:#?}"))
}

#[tokio::test]
async fn a_free_form_request_keeps_what_the_customer_said() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    assert!(
        deliver(&db.env(), &request("gg-1@grandgroupe.test", GRAND_GROUPE))
            .status
            .success()
    );

    let leads = json(&db, &["lead", "list", "--json"]);
    let lead = &leads[0];
    assert_eq!(lead["customer"]["name"], "Jacques Leroy");
    assert_eq!(lead["customer"]["company"], "Grand Groupe");
    assert_eq!(lead["region"], "France");
    assert_eq!(lead["city"], "Lyon");
    assert_eq!(lead["company_size"], "2000");
    assert_eq!(
        lead["hot"], true,
        "\"merci de me rappeler\" asks for a call"
    );

    let id = lead["id"].to_string();
    let text = stdout(&leadbot(&db.env(), &["lead", "show", &id]));
    assert!(text.contains("Lyon, France"), "{text}");
    assert!(text.contains("2,000 employees"), "{text}");
    let notification = sent_to(&outbox(&db), "alice@contoso.test", "new_lead").clone();
    let body = notification["text"].as_str().unwrap();
    assert!(body.contains("Localisation Lyon, France"), "{body}");
    assert!(
        body.contains("Taille       2\u{202f}000 salariés"),
        "{body}"
    );
}

#[tokio::test]
async fn a_bounced_acknowledgement_flags_the_customers_address_once() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    assert!(
        deliver(&db.env(), &request("gg-2@grandgroupe.test", GRAND_GROUPE))
            .status
            .success()
    );
    let before = outbox(&db);
    let ack = sent_to(&before, "contact@grandgroupe.test", "acknowledgement");
    let bounce = postfix_bounce(
        "dsn-1@mx.leads.example.test",
        "contact@grandgroupe.test",
        ack["message_id"].as_str().unwrap(),
    );
    let output = deliver(&db.env(), &bounce);
    assert!(output.status.success(), "{output:?}");

    let leads = json(&db, &["lead", "list", "--json"]);
    assert_eq!(
        leads.as_array().unwrap().len(),
        1,
        "a bounce is never a lead"
    );
    let lead = &leads[0];
    let failure = lead["customer"]["email_failure"]
        .as_str()
        .unwrap_or_default();
    assert!(failure.contains("User unknown"), "{lead:#}");
    let id = lead["id"].to_string();
    let shown = json(&db, &["lead", "show", &id, "--json"]);
    assert!(
        shown["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "mail_bounced"),
        "{shown:#}"
    );

    let after = outbox(&db);
    let failed_ack = after.iter().find(|m| m["id"] == ack["id"]).unwrap();
    assert_eq!(failed_ack["state"], "failed");
    let told: Vec<&str> = after
        .iter()
        .filter(|m| m["template"] == "information")
        .map(|m| m["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        told,
        [
            "alice@contoso.test",
            "paul@contoso.test",
            "marc@contoso.test"
        ],
        "the lead's contacts are told"
    );
    let told_alice = sent_to(&after, "alice@contoso.test", "information");
    assert!(
        told_alice["text"]
            .as_str()
            .unwrap()
            .contains("contact@grandgroupe.test"),
        "{told_alice:#}"
    );

    let inbound = json(&db, &["inbound", "list", "--json"]);
    let report = inbound
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["message_id"] == "dsn-1@mx.leads.example.test")
        .expect("the bounce is recorded");
    assert_eq!(report["class"], "bounce");
    assert_eq!(report["outcome"], "automated");
    assert_eq!(
        report["lead_id"], lead["id"],
        "linked to the lead it reports on"
    );

    // Handling the report again changes nothing and tells nobody twice.
    let reprocessed = leadbot(
        &db.env(),
        &["inbound", "reprocess", &report["id"].to_string()],
    );
    assert!(reprocessed.status.success(), "{reprocessed:?}");
    assert_eq!(outbox(&db).len(), after.len());
}

#[tokio::test]
async fn a_bounced_notification_tells_the_partners_admins() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    assert!(
        deliver(&db.env(), &request("gg-3@grandgroupe.test", GRAND_GROUPE))
            .status
            .success()
    );
    let before = outbox(&db);
    let notification = sent_to(&before, "alice@contoso.test", "new_lead");
    let bounce = postfix_bounce(
        "dsn-2@mx.leads.example.test",
        "alice@contoso.test",
        notification["message_id"].as_str().unwrap(),
    );
    assert!(deliver(&db.env(), &bounce).status.success());

    let after = outbox(&db);
    let told: Vec<&Value> = after
        .iter()
        .filter(|m| m["template"] == "information")
        .collect();
    assert_eq!(told.len(), 1, "{told:#?}");
    assert_eq!(told[0]["to"], "paul@contoso.test", "the partner admin");
    let text = told[0]["text"].as_str().unwrap();
    assert!(text.contains("Alice Martin"), "{text}");
    assert!(text.contains("alice@contoso.test"), "{text}");
    assert!(
        text.contains("revient en erreur"),
        "in the admin's language: {text}"
    );
    let leads = json(&db, &["lead", "list", "--json"]);
    assert_eq!(leads[0]["customer"]["email_failure"], Value::Null);
}

#[tokio::test]
async fn a_report_on_mail_leadbot_never_sent_is_recorded_and_changes_nothing() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let raw = b"From: mailer-daemon\r\nTo: leads@leads.example.test\r\nSubject: failure notice\r\n\
        Message-ID: <q-1@mx.test>\r\n\r\nHi. This is the qmail-send program at mx.test.\r\n\
        <nobody@client.test>:\r\nSorry, no mailbox here by that name.\r\n";
    assert!(deliver(&db.env(), raw).status.success());
    let inbound = json(&db, &["inbound", "list", "--json"]);
    assert_eq!(inbound[0]["class"], "bounce");
    assert_eq!(
        inbound[0]["outcome"], "automated",
        "not quarantined: {inbound:#}"
    );
    assert_eq!(
        json(&db, &["lead", "list", "--json"]),
        serde_json::json!([])
    );
    assert!(outbox(&db).is_empty(), "nobody is answered");
}
