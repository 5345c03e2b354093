//! Inbound mail through the MTA-pipe path (`leadbot deliver`) and the ingest workflow:
//! RFIs become leads, nothing is created twice, and broken mail is kept, not lost.

mod support;

use support::leadbot::{deliver, run as leadbot};

use support::db::{TestDb, seed_directory};

fn rfi(message_id: &str, to: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Chloé Dubois <chloe@client.test>\r\nTo: {to}\r\nSubject: Demande Teams\r\n\
         Date: Mon, 02 Nov 2026 09:00:00 +0100\r\nMessage-ID: <{message_id}>\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}"
    )
    .into_bytes()
}

async fn leads_json(db: &TestDb) -> Vec<serde_json::Value> {
    let output = leadbot(&db.env(), &["lead", "list", "--json"]);
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn an_rfi_to_a_profile_becomes_a_lead_once() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let raw = rfi(
        "rfi-1@client.test",
        "contoso-fr@leads.example.test",
        "Bonjour,\r\nNous voulons migrer 200 boîtes vers Teams.\r\n\r\nCordialement,\r\n\
         Chloé Dubois\r\nFabrikam SA\r\n+33 1 02 03 04 05\r\n",
    );
    let first = deliver(&db.env(), &raw);
    assert!(first.status.success(), "{first:?}");
    let second = deliver(&db.env(), &raw);
    assert!(second.status.success(), "{second:?}");
    assert!(String::from_utf8_lossy(&second.stdout).contains("already recorded"));

    let leads = leads_json(&db).await;
    assert_eq!(leads.len(), 1, "the same message twice made one lead");
    let lead = &leads[0];
    assert_eq!(lead["state"], "received");
    assert_eq!(lead["kind"], "customer_inquiry");
    assert_eq!(lead["profile"], "contoso-fr");
    assert_eq!(lead["customer"]["email"], "chloe@client.test");
    assert_eq!(lead["customer"]["company"], "Fabrikam SA");
    assert_eq!(lead["customer"]["phone"], "+33 1 02 03 04 05");
    assert_eq!(lead["hot"], false);
    assert!(lead["need"].as_str().unwrap().contains("migrer 200 boîtes"));

    let shown = leadbot(
        &db.env(),
        &["lead", "show", &lead["id"].to_string(), "--json"],
    );
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let messages = shown["messages"]
        .as_array()
        .expect("lead show lists its mail");
    assert_eq!(messages[0]["direction"], "in");
    assert_eq!(messages[0]["message_id"], "rfi-1@client.test");
    let out: Vec<&str> = messages[1..]
        .iter()
        .map(|m| m["template"].as_str().unwrap())
        .collect();
    assert_eq!(
        out,
        ["new_lead", "new_lead", "new_lead", "acknowledgement"],
        "three contacts notified, the customer acknowledged"
    );
}

#[tokio::test]
async fn a_message_without_message_id_is_deduplicated_by_content() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let raw = b"From: ann@lee.test\r\nTo: fabrikam-uk@leads.example.test\r\nSubject: CRM\r\n\r\nWe need Dynamics CRM.\r\n";
    assert!(deliver(&db.env(), raw).status.success());
    assert!(deliver(&db.env(), raw).status.success());
    assert_eq!(leads_json(&db).await.len(), 1);
}

#[tokio::test]
async fn one_message_to_two_profiles_makes_one_lead_each() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let raw = rfi(
        "rfi-2@client.test",
        "contoso-fr@leads.example.test, fabrikam-uk@leads.example.test",
        "We need help with Azure and Dynamics.\r\n",
    );
    assert!(deliver(&db.env(), &raw).status.success());
    let leads = leads_json(&db).await;
    let mut profiles: Vec<_> = leads
        .iter()
        .map(|l| l["profile"].as_str().unwrap())
        .collect();
    profiles.sort();
    assert_eq!(profiles, ["contoso-fr", "fabrikam-uk"]);
}

#[tokio::test]
async fn a_form_relay_asking_for_contact_makes_a_hot_lead_for_the_named_customer() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let raw = b"From: Web forms <noreply@forms.example.test>\r\nTo: contoso-fr@leads.example.test\r\n\
        Subject: Nouvelle demande\r\nMessage-ID: <form-1@forms.example.test>\r\n\
        Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
        Nom : Jean Roy\r\nSoci=E9t=E9 : Roy & Fils\r\nE-mail : jean@roy.test\r\n\
        Pays : France\r\nMe contacter directement : Oui\r\nBesoin : Migration Azure\r\n";
    assert!(deliver(&db.env(), raw).status.success());
    let lead = &leads_json(&db).await[0];
    assert_eq!(lead["customer"]["email"], "jean@roy.test");
    assert_eq!(lead["customer"]["company"], "Roy & Fils");
    assert_eq!(lead["hot"], true);
}

#[tokio::test]
async fn a_staff_forward_to_the_bot_is_routed_and_qualified() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let raw = b"From: Sam Staff <sam@microsoft.test>\r\nTo: leads@leads.example.test\r\n\
        Subject: Fwd: CRM project\r\nMessage-ID: <fwd-1@microsoft.test>\r\n\r\n\
        Lead type: Sales qualified\r\nCountry: Ireland\r\n\r\n\
        ---------- Forwarded message ---------\r\nFrom: Ann Lee <ann@lee.test>\r\n\
        Subject: CRM project\r\n\r\nWe want Dynamics CRM and Power BI for 40 users.\r\n";
    let output = deliver(&db.env(), raw);
    assert!(output.status.success(), "{output:?}");
    let lead = &leads_json(&db).await[0];
    assert_eq!(lead["kind"], "sales_qualified");
    assert_eq!(
        lead["profile"], "fabrikam-uk",
        "routed by region and keywords"
    );
    assert_eq!(lead["customer"]["email"], "ann@lee.test");
    let shown = leadbot(
        &db.env(),
        &["lead", "show", lead["id"].to_string().as_str(), "--json"],
    );
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["referrer"]["email"], "sam@microsoft.test");
    assert_eq!(shown["referrer"]["kind"], "staff");
}

#[tokio::test]
async fn broken_mail_is_quarantined_listed_and_can_be_reprocessed() {
    let db = TestDb::new().await;
    // Nothing imported yet: the RFI cannot be routed and waits in quarantine.
    let raw = rfi(
        "rfi-3@client.test",
        "contoso-fr@leads.example.test",
        "Teams, please.\r\n",
    );
    let output = deliver(&db.env(), &raw);
    assert!(
        output.status.success(),
        "quarantine is safe keeping: exit 0"
    );
    let garbage = deliver(&db.env(), b"\x00\x01 this is not mail \xff\xfe");
    assert!(garbage.status.success(), "{garbage:?}");

    let listed = leadbot(&db.env(), &["inbound", "list", "--quarantined", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r["outcome"] == "quarantined" && r["reason"].is_string())
    );

    seed_directory(&db.pool).await;
    let id = rows
        .iter()
        .find(|r| r["message_id"] == "rfi-3@client.test")
        .unwrap()["id"]
        .to_string();
    let again = leadbot(&db.env(), &["inbound", "reprocess", &id]);
    assert!(again.status.success(), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stdout).contains("created L-"));
    assert_eq!(leads_json(&db).await.len(), 1);
    let twice = leadbot(&db.env(), &["inbound", "reprocess", &id]);
    assert!(String::from_utf8_lossy(&twice.stdout).contains("already took effect"));
    assert_eq!(leads_json(&db).await.len(), 1);
}

#[tokio::test]
async fn automated_mail_is_recorded_and_changes_nothing() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let out_of_office = b"From: chloe@client.test\r\nTo: contoso-fr@leads.example.test\r\n\
        Subject: Out of Office: Demande\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <ooo@client.test>\r\n\r\nI am away.\r\n";
    assert!(deliver(&db.env(), out_of_office).status.success());
    assert!(leads_json(&db).await.is_empty());
    let listed = leadbot(&db.env(), &["inbound", "list", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(rows[0]["outcome"], "automated");
    assert_eq!(rows[0]["class"], "auto_reply");
}

#[test]
fn deliver_asks_the_mta_to_retry_when_the_database_is_down() {
    let env = vec![
        (
            "DATABASE_URL".to_string(),
            "postgres://postgres@127.0.0.1:1/none".to_string(),
        ),
        (
            "LEADBOT_BOT_SECRET".to_string(),
            support::db::SECRET.to_string(),
        ),
    ];
    let output = deliver(
        &env,
        &rfi("x@client.test", "contoso-fr@leads.example.test", "hi"),
    );
    assert_eq!(output.status.code(), Some(75), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("MTA should retry"));
}

#[tokio::test]
async fn oversized_deeply_nested_and_nul_filled_mail_is_kept_with_a_reason() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let mut oversized = rfi("big@client.test", "contoso-fr@leads.example.test", "");
    oversized.extend(std::iter::repeat_n(
        b'x',
        leadbot::mail::MAX_MESSAGE_BYTES + 1,
    ));
    let mut nested = b"From: a@client.test\r\nTo: contoso-fr@leads.example.test\r\nMessage-ID: <deep@client.test>\r\n".to_vec();
    for level in 0..200 {
        nested.extend(
            format!("Content-Type: multipart/mixed; boundary=\"b{level}\"\r\n\r\n--b{level}\r\n")
                .as_bytes(),
        );
    }
    nested.extend(b"Content-Type: text/plain\r\n\r\nhello\r\n");
    let nul = b"From: a@client.test\r\nTo: contoso-fr@leads.example.test\r\nMessage-ID: <nul@client.test>\r\n\r\nNeed\x00 Teams\x00\x00\r\n";

    for raw in [&oversized[..], &nested[..], &nul[..]] {
        let output = deliver(&db.env(), raw);
        assert!(output.status.success(), "{output:?}");
        assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    }
    let rows: Vec<(String, Option<String>, i32)> =
        sqlx::query_as("SELECT outcome, reason, length(raw) FROM inbound_messages ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 3, "every message is recorded: {rows:?}");
    assert_eq!(rows[0].0, "quarantined");
    assert!(
        rows[0]
            .1
            .as_deref()
            .unwrap_or_default()
            .contains("too large"),
        "{rows:?}"
    );
    assert!(
        (rows[0].2 as usize) < 400 * 1024,
        "its headers and a bounded prefix are kept: {rows:?}"
    );
    for (outcome, reason, _) in &rows[1..] {
        assert!(
            outcome == "applied" || (outcome == "quarantined" && reason.is_some()),
            "{rows:?}"
        );
    }
}

async fn outbox_to(db: &TestDb, template: &str) -> Vec<(String, String)> {
    sqlx::query_as("SELECT recipient, text_body FROM outbox WHERE template = $1 ORDER BY id")
        .bind(template)
        .fetch_all(&db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_request_no_profile_matches_is_acknowledged_and_put_before_the_operator() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let mut env = db.env();
    env.push((
        "LEADBOT_BOT_OPERATOR_ADDRESS".into(),
        "ops@example.test".into(),
    ));
    for n in 0..4 {
        let raw = rfi(
            &format!("lost-{n}@client.test"),
            "sales@leads.example.test",
            "Bonjour,\r\nNous cherchons un partenaire pour migrer nos serveurs.\r\n",
        );
        let output = deliver(&env, &raw);
        assert!(output.status.success(), "{output:?}");
    }
    assert!(leads_json(&db).await.is_empty(), "no profile, no lead");
    let acknowledged = outbox_to(&db, "request_received").await;
    assert_eq!(
        acknowledged.len(),
        3,
        "at most three acknowledgements an hour to one sender"
    );
    assert_eq!(acknowledged[0].0, "chloe@client.test");
    assert!(
        acknowledged[0]
            .1
            .contains("une personne de notre équipe l'examine"),
        "{}",
        acknowledged[0].1
    );
    let operator = outbox_to(&db, "request_unmatched").await;
    assert_eq!(operator.len(), 4, "the operator hears of every one");
    assert_eq!(operator[0].0, "ops@example.test");
    assert!(
        operator[0].1.contains("migrer nos serveurs"),
        "{}",
        operator[0].1
    );
    let listed = leadbot(&env, &["inbound", "list", "--quarantined", "--json"]);
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed.len(), 4, "kept for reprocessing once a profile fits");
}

#[tokio::test]
async fn a_request_no_profile_matches_goes_to_the_fallback_profile() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let mut env = db.env();
    env.push(("LEADBOT_BOT_FALLBACK_PROFILE".into(), "contoso-fr".into()));
    let raw = rfi(
        "lost@client.test",
        "sales@leads.example.test",
        "Bonjour,\r\nNous cherchons un partenaire pour migrer nos serveurs.\r\n",
    );
    assert!(deliver(&env, &raw).status.success());
    let leads = leads_json(&db).await;
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0]["profile"], "contoso-fr");
    assert_eq!(outbox_to(&db, "acknowledgement").await.len(), 1);
}
