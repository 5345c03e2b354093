//! A backlog ingested in one transaction (`ingest_batch`): each message still takes effect
//! whole or not at all. One that PostgreSQL refuses is quarantined while the others commit;
//! a transient fault fails the whole batch, which is then ingested exactly once; a message
//! repeated inside a batch, or a Message-ID reused there, is told apart as it is alone.

mod support;

use chrono::Utc;
use leadbot::config::Config;
use leadbot::workflow::ingest::{Handled, ingest_batch};
use support::db::{SECRET, TestDb, fail_leads_for, seed_directory, stop_failing_leads};

fn config(db: &TestDb) -> Config {
    let env = [("DATABASE_URL".to_string(), db.url.clone())];
    Config::from_parts(None, &format!("[bot]\nsecret = \"{SECRET}\"\n"), &env).unwrap()
}

/// An RFI to a profile from `sender`, told apart by `n`.
fn rfi(n: usize, sender: &str) -> Vec<u8> {
    format!(
        "From: Client {n} <{sender}>\r\nTo: contoso-fr@leads.example.test\r\n\
         Subject: Demande Teams {n}\r\nMessage-ID: <batch-{n}@client.test>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Bonjour,\r\nNous voulons migrer 200 postes vers Teams ({n}).\r\n"
    )
    .into_bytes()
}

/// Five RFIs; the third from `odd_one`, the others from ordinary customers.
fn backlog(odd_one: &str) -> Vec<Vec<u8>> {
    (0..5)
        .map(|n| match n {
            2 => rfi(n, odd_one),
            _ => rfi(n, &format!("client{n}@client.test")),
        })
        .collect()
}

async fn count(db: &TestDb, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&db.pool).await.unwrap()
}

#[tokio::test]
async fn a_message_postgresql_refuses_mid_batch_is_quarantined_and_the_others_commit() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let config = config(&db);
    // 23514: check_violation, data the database refuses for good.
    fail_leads_for(&db.pool, "refused@client.test", "23514").await;
    let messages = backlog("refused@client.test");
    let raws: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();

    let reports = ingest_batch(&db.pool, &config, "test", &raws, Utc::now)
        .await
        .expect("the batch commits");

    assert_eq!(reports.len(), 5);
    for (n, report) in reports.iter().enumerate() {
        match (n, &report.handled) {
            (2, Handled::Quarantined(reason)) => {
                assert!(reason.starts_with("processing failed"), "{reason}");
            }
            (2, other) => panic!("the refused one was {other:?}"),
            (_, Handled::LeadsCreated(ids)) => assert_eq!(ids.len(), 1),
            (_, other) => panic!("message {n} was {other:?}"),
        }
    }
    assert_eq!(count(&db, "SELECT count(*) FROM leads").await, 4);
    // The refused one's partial work (its lead's row, its recording) was rolled back with
    // the batch, which then went message by message: it is recorded once, as quarantined,
    // and nothing of it was queued.
    assert_eq!(count(&db, "SELECT count(*) FROM inbound_messages").await, 5);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM inbound_messages WHERE outcome = 'quarantined'
             AND message_id = 'batch-2@client.test'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM outbox WHERE recipient = 'refused@client.test'"
        )
        .await,
        0
    );

    // Ingesting the same backlog again changes nothing.
    stop_failing_leads(&db.pool).await;
    let again = ingest_batch(&db.pool, &config, "test", &raws, Utc::now)
        .await
        .expect("the repeat commits");
    assert!(again.iter().all(|r| r.handled == Handled::Duplicate));
    assert_eq!(count(&db, "SELECT count(*) FROM leads").await, 4);
    assert_eq!(count(&db, "SELECT count(*) FROM inbound_messages").await, 5);
}

#[tokio::test]
async fn a_transient_fault_mid_batch_fails_it_whole_and_the_retry_ingests_each_once() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let config = config(&db);
    // 40001: serialization failure, which a later attempt does not meet.
    fail_leads_for(&db.pool, "unlucky@client.test", "40001").await;
    let messages = backlog("unlucky@client.test");
    let raws: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();

    let failed = ingest_batch(&db.pool, &config, "test", &raws, Utc::now).await;
    let error = failed.expect_err("a transient fault fails the batch");
    assert!(error.is_transient(), "{error:?}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM inbound_messages").await,
        0,
        "nothing recorded, nothing quarantined"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM leads").await, 0);

    stop_failing_leads(&db.pool).await;
    let retried = ingest_batch(&db.pool, &config, "test", &raws, Utc::now)
        .await
        .expect("the retry commits");
    assert!(
        retried
            .iter()
            .all(|r| matches!(&r.handled, Handled::LeadsCreated(ids) if ids.len() == 1)),
        "{retried:?}"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM leads").await, 5);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM inbound_messages WHERE outcome = 'quarantined'"
        )
        .await,
        0
    );
    // Each customer got exactly one acknowledgement.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM (SELECT recipient FROM outbox WHERE recipient LIKE '%@client.test'
             GROUP BY recipient HAVING count(*) = 1) once"
        )
        .await,
        5
    );
}

#[tokio::test]
async fn a_batch_tells_a_repeat_inside_it_from_a_reused_message_id() {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let config = config(&db);
    let first = rfi(0, "client0@client.test");
    // Another customer's request under the same Message-ID: a message of its own.
    let reusing = rfi(0, "someone-else@client.test");
    let other = rfi(1, "client1@client.test");
    let raws: Vec<&[u8]> = vec![&first, &first, &reusing, &other];

    let reports = ingest_batch(&db.pool, &config, "test", &raws, Utc::now)
        .await
        .expect("the batch commits");

    assert!(matches!(&reports[0].handled, Handled::LeadsCreated(ids) if ids.len() == 1));
    assert_eq!(reports[1].handled, Handled::Duplicate);
    assert_eq!(reports[1].duplicate_of, reports[0].inbound_id);
    assert!(matches!(&reports[2].handled, Handled::LeadsCreated(ids) if ids.len() == 1));
    assert!(matches!(&reports[3].handled, Handled::LeadsCreated(ids) if ids.len() == 1));
    assert_eq!(count(&db, "SELECT count(*) FROM leads").await, 3);
    assert_eq!(count(&db, "SELECT count(*) FROM inbound_messages").await, 3);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM inbound_messages WHERE note LIKE '%reuses that of%'"
        )
        .await,
        1
    );
    // Every message's finding was written, before the commit, with the batch.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM inbound_messages
             WHERE outcome = 'applied' AND class = 'request' AND lead_id IS NOT NULL"
        )
        .await,
        3
    );
}
