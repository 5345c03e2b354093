//! The command line as operators use it: imports, listings and one-line errors.

mod support;

use support::leadbot::{run as leadbot, stdout};

use std::process::Output;

use support::db::{SECRET, TestDb};

/// A failed command says what is wrong on one line, exits non-zero and never panics.
fn assert_one_line_error(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "succeeded: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    assert!(stderr.contains(expected), "{stderr:?} lacks {expected:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/partners.toml");

async fn count(db: &TestDb, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn importing_the_same_file_twice_changes_nothing() {
    let db = TestDb::new().await;
    let first = leadbot(&db.env(), &["partner", "import", EXAMPLE]);
    assert!(first.status.success(), "{first:?}");
    assert!(stdout(&first).contains("imported 2 partner(s), 2 profile(s), 4 contact(s)"));
    let counts = (count(&db, "partners").await, count(&db, "contacts").await);

    let again = leadbot(&db.env(), &["partner", "import", EXAMPLE]);
    assert!(
        stdout(&again).ends_with("0 row(s) changed\n"),
        "{}",
        stdout(&again)
    );
    assert_eq!(
        (count(&db, "partners").await, count(&db, "contacts").await),
        counts
    );
    assert_eq!(count(&db, "profile_contacts").await, 4);
}

#[tokio::test]
async fn a_changed_file_updates_in_place() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(EXAMPLE).unwrap();
    leadbot(&db.env(), &["partner", "import", EXAMPLE]);
    let renamed = original.replace("Contoso Ltd", "Contoso SAS");
    let file = write(&dir, "partners.toml", &renamed);
    let output = leadbot(&db.env(), &["partner", "import", &file]);
    assert!(
        stdout(&output).ends_with("1 row(s) changed\n"),
        "{}",
        stdout(&output)
    );
    let name: String = sqlx::query_scalar("SELECT name FROM partners WHERE id = 'contoso'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(name, "Contoso SAS");
}

#[tokio::test]
async fn a_bad_import_file_is_named_and_nothing_is_written() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(EXAMPLE).unwrap();
    let unknown_profile = original.replace(
        "profiles = [\"fabrikam-uk\"]",
        "profiles = [\"fabrikam-de\"]",
    );
    let file = write(&dir, "bad.toml", &unknown_profile);
    let output = leadbot(&db.env(), &["partner", "import", &file]);
    assert_one_line_error(
        &output,
        "contact `bob@fabrikam.test`: names unknown profile `fabrikam-de`",
    );
    assert_eq!(
        count(&db, "partners").await,
        0,
        "the valid partner was not imported either"
    );

    // A clash only the database can see (an address owned by another partner's profile)
    // rolls the whole file back.
    leadbot(&db.env(), &["partner", "import", EXAMPLE]);
    let clash = "[[partner]]\nid = \"northwind\"\nname = \"Northwind\"\n\
                 [[partner.profile]]\nid = \"northwind-fr\"\naddress = \"contoso-fr@leads.example.test\"\n";
    let file = write(&dir, "clash.toml", clash);
    let output = leadbot(&db.env(), &["partner", "import", &file]);
    assert!(!output.status.success());
    let northwind: i64 = sqlx::query_scalar("SELECT count(*) FROM partners WHERE id = 'northwind'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(northwind, 0);
}

#[tokio::test]
async fn bad_configuration_is_named_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let no_secret = write(
        &dir,
        "a.toml",
        "[bot]\naddress = \"leads@leads.example.test\"\n",
    );
    assert_one_line_error(
        &leadbot(&[], &["--config", &no_secret, "migrate"]),
        "`bot.secret` is required",
    );
    let bad_duration = write(
        &dir,
        "b.toml",
        &format!("[bot]\nsecret = \"{SECRET}\"\n[schedule]\nexpiry = \"two weeks\"\n"),
    );
    assert_one_line_error(
        &leadbot(&[], &["--config", &bad_duration, "migrate"]),
        "`schedule.expiry` = \"two weeks\" is invalid",
    );
    assert_one_line_error(
        &leadbot(&[], &["--config", "/nonexistent/leadbot.toml", "migrate"]),
        "cannot read config file /nonexistent/leadbot.toml",
    );
}

#[tokio::test]
async fn unknown_lead_ids_are_one_line_errors() {
    let db = TestDb::new().await;
    assert_one_line_error(
        &leadbot(&db.env(), &["lead", "show", "L-424242"]),
        "lead L-424242 does not exist",
    );
    assert_one_line_error(
        &leadbot(&db.env(), &["lead", "show", "banana"]),
        "`banana` is not a lead number",
    );
}

#[tokio::test]
async fn lead_json_has_the_documented_shape() {
    let db = TestDb::new().await;
    leadbot(&db.env(), &["partner", "import", EXAMPLE]);
    sqlx::query(
        "INSERT INTO leads (kind, state, partner_id, profile_id, customer_name, customer_email,
             need, hot_until, received_at, expires_at)
         VALUES ('customer_inquiry', 'received', 'contoso', 'contoso-fr', 'Chloé Dubois',
             'chloe@client.test', 'Teams', now() + interval '1 hour', now(), now() + interval '14 days')",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let output = leadbot(&db.env(), &["lead", "list", "--json"]);
    assert!(output.status.success(), "{output:?}");
    let leads: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let lead = &leads[0];
    for key in [
        "id",
        "state",
        "kind",
        "hot",
        "favorite",
        "customer",
        "need",
        "profile",
        "deal",
        "decline_reason",
        "contacts",
        "events",
    ] {
        assert!(lead.get(key).is_some(), "missing {key}: {lead}");
    }
    assert_eq!(lead["state"], "received");
    assert_eq!(lead["hot"], true);
    assert_eq!(lead["customer"]["name"], "Chloé Dubois");
    for key in [
        "name",
        "value",
        "currency",
        "timeframe",
        "notes",
        "crm_id",
        "campaign_id",
    ] {
        assert!(lead["deal"].get(key).is_some(), "deal lacks {key}");
    }

    let by_state = leadbot(&db.env(), &["lead", "list", "--state", "won", "--json"]);
    assert_eq!(stdout(&by_state).trim(), "[]");
    let table = stdout(&leadbot(&db.env(), &["lead", "list"]));
    assert!(table.starts_with("ID"), "{table}");
    assert!(table.contains("Chloé Dubois"), "{table}");
}
