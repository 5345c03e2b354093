//! PostgreSQL going away in the middle of an ingest — a backend terminated, a restart, a
//! crash — on a private server: the message is retried (`deliver` exits 75), never
//! quarantined, and once the server is back it becomes exactly one lead.

mod support;

use std::time::{Duration, Instant};

use std::sync::Arc;

use leadbot::config::Config;
use leadbot::workflow::listener::{ListenerOptions, ListenerStats, run_listener_with};
use sqlx::{Connection, PgConnection};
use support::MailStack;
use support::cluster::ClusterDb;
use support::db::SECRET;
use support::leadbot::deliver;

const RFI: &[u8] =
    b"From: Chloe Dubois <chloe@client.test>\r\nTo: contoso-fr@leads.example.test\r\n\
    Subject: Demande Teams\r\nMessage-ID: <fault-1@client.test>\r\n\
    Content-Type: text/plain; charset=utf-8\r\n\r\nNous voulons migrer 200 postes vers Teams.\r\n";

#[derive(Debug, Clone, Copy)]
enum Fault {
    /// `pg_terminate_backend`: SQLSTATE 57P01 to that session, the server stays up.
    TerminateBackend,
    /// `pg_ctl -m fast stop`: every session gets 57P01, then nothing answers.
    FastShutdown,
    /// SIGKILL of the postmaster: connections drop, crash recovery on the next start.
    Crash,
}

/// Starts `leadbot deliver`, holds it inside its transaction (the `leads` table is locked),
/// applies `fault`, and returns how `deliver` ended.
async fn deliver_through(db: &mut ClusterDb, fault: Fault) -> std::process::Output {
    let mut locker = PgConnection::connect(&db.url).await.expect("connect");
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query("LOCK TABLE leads IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .unwrap();
    let env = db.env();
    let delivering = tokio::task::spawn_blocking(move || deliver(&env, RFI));
    let waiting = until_an_ingest_waits_for_the_lock(db).await;
    match fault {
        Fault::TerminateBackend => {
            let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
                .bind(waiting)
                .fetch_one(&db.pool)
                .await
                .unwrap();
            assert!(ended);
            drop(locker);
        }
        Fault::FastShutdown => {
            db.operate(|cluster| cluster.stop_fast()).expect("stop");
            drop(locker);
        }
        Fault::Crash => {
            db.operate(|cluster| cluster.crash()).expect("crash");
            drop(locker);
        }
    }
    let output = delivering.await.expect("deliver thread");
    if !matches!(fault, Fault::TerminateBackend) {
        db.operate(|cluster| cluster.start_again())
            .expect("start again");
    }
    output
}

/// The pid of the backend whose ingest waits on the lock.
async fn until_an_ingest_waits_for_the_lock(db: &ClusterDb) -> i32 {
    until_backend(db, "wait_event_type = 'Lock'", "no ingest reached the lock").await
}

/// The pid of the first backend of the `leadbot` database that matches `condition`,
/// within 30 s.
async fn until_backend(db: &ClusterDb, condition: &str, never: &str) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(30);
    let sql = format!(
        "SELECT pid FROM pg_stat_activity WHERE datname = 'leadbot' AND {condition} LIMIT 1"
    );
    loop {
        let found: Option<i32> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_optional(&db.pool)
            .await
            .unwrap();
        if let Some(pid) = found {
            return pid;
        }
        assert!(Instant::now() < deadline, "{never}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_fault_mid_ingest_is_retried_never_quarantined() {
    let mut db = ClusterDb::new().await;
    for fault in [Fault::TerminateBackend, Fault::FastShutdown, Fault::Crash] {
        let cut_off = deliver_through(&mut db, fault).await;
        assert_eq!(
            cut_off.status.code(),
            Some(75),
            "{fault:?}: the MTA must keep the message and retry: {cut_off:?}"
        );
        assert!(
            String::from_utf8_lossy(&cut_off.stderr).contains("should retry"),
            "{cut_off:?}"
        );
        assert_eq!(
            db.count("SELECT count(*) FROM inbound_messages").await,
            0,
            "{fault:?}: nothing recorded, nothing quarantined"
        );
    }
    // The MTA's retry, with the server back.
    let retried = deliver(&db.env(), RFI);
    assert!(retried.status.success(), "{retried:?}");
    assert_eq!(db.count("SELECT count(*) FROM leads").await, 1);
    assert_eq!(
        db.count("SELECT count(*) FROM inbound_messages WHERE outcome = 'applied'")
            .await,
        1
    );
}

/// Makes every COMMIT that created a lead take `seconds` (a deferred constraint trigger runs
/// at COMMIT), so a test can act while a transaction is committing.
async fn slow_commits(db: &ClusterDb, seconds: u32) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN PERFORM pg_sleep({seconds}); RETURN NULL; END $$;
         CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON leads
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();"
    )))
    .execute(&db.pool)
    .await
    .expect("install the slow commit");
}

/// The pid of the backend busy committing (sleeping in the deferred trigger).
async fn until_committing(db: &ClusterDb) -> i32 {
    until_backend(
        db,
        "query = 'COMMIT' AND wait_event = 'PgSleep'",
        "no ingest reached its COMMIT",
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_killed_during_commit_ends_as_exactly_one_lead_after_redelivery() {
    let mut db = ClusterDb::new().await;
    slow_commits(&db, 2).await;

    // The process dies while PostgreSQL commits: the MTA saw no exit 0 and delivers again.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_leadbot"))
        .arg("deliver")
        .env_clear()
        .envs(db.env())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start deliver");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(RFI).unwrap();
    }
    let backend = until_committing(&db).await;
    child.kill().unwrap();
    child.wait().unwrap();
    // The commit goes on without its client; wait for that backend to be gone.
    let deadline = Instant::now() + Duration::from_secs(30);
    while db
        .count(&format!(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = {backend}"
        ))
        .await
        > 0
    {
        assert!(
            Instant::now() < deadline,
            "the killed client's backend lingers"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let redelivered = deliver(&db.env(), RFI);
    assert!(redelivered.status.success(), "{redelivered:?}");
    assert_eq!(db.count("SELECT count(*) FROM leads").await, 1);

    // The server dies while it commits (the commit is lost): deliver says retry, and the
    // retry makes the one lead.
    let second = String::from_utf8_lossy(RFI).replace("fault-1@", "fault-2@");
    let env = db.env();
    let raw = second.clone().into_bytes();
    let delivering = tokio::task::spawn_blocking(move || deliver(&env, &raw));
    until_committing(&db).await;
    db.operate(|cluster| cluster.crash()).expect("crash");
    let cut_off = delivering.await.unwrap();
    assert_eq!(cut_off.status.code(), Some(75), "{cut_off:?}");
    db.operate(|cluster| cluster.start_again())
        .expect("start again");
    sqlx::query("DROP TRIGGER slow_commit ON leads")
        .execute(&db.pool)
        .await
        .unwrap();
    let retried = deliver(&db.env(), second.as_bytes());
    assert!(retried.status.success(), "{retried:?}");
    assert_eq!(db.count("SELECT count(*) FROM leads").await, 2);
    assert_eq!(
        db.count("SELECT count(*) FROM inbound_messages WHERE outcome = 'quarantined'")
            .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_imap_listener_retries_a_message_cut_off_by_a_restart_and_quarantines_nothing() {
    const BOT: &str = "leads@leads.example.test";
    let mut db = ClusterDb::new().await;
    let stack = MailStack::start().await;
    stack.add_user(BOT, "bot-password");
    let text = format!(
        "[bot]\naddress = \"{BOT}\"\nsecret = \"{SECRET}\"\n\
         [imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\n\
         username = \"{BOT}\"\npassword = \"bot-password\"\n",
        stack.imap_port()
    );
    let env = [("DATABASE_URL".to_string(), db.url.clone())];
    let config = Arc::new(Config::from_parts(None, &text, &env).expect("configuration"));
    let options = ListenerOptions {
        reconnect_first: Duration::from_millis(200),
        reconnect_max: Duration::from_secs(1),
        standby_retry: Duration::from_millis(200),
        lock_check: Duration::from_millis(200),
        imap_step_timeout: Duration::from_secs(10),
        ..ListenerOptions::default()
    };

    let mut locker = PgConnection::connect(&db.url).await.expect("connect");
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query("LOCK TABLE leads IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .unwrap();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let stats = Arc::new(ListenerStats::default());
    let listener = tokio::spawn(run_listener_with(
        db.pool.clone(),
        config,
        options,
        shutdown,
        stats.clone(),
    ));
    stack.send("chloe@client.test", &[BOT], RFI).await;
    until_an_ingest_waits_for_the_lock(&db).await;
    db.operate(|cluster| cluster.restart()).expect("restart");
    drop(locker);

    let deadline = Instant::now() + Duration::from_secs(30);
    while db.count("SELECT count(*) FROM leads").await < 1 {
        assert!(
            Instant::now() < deadline,
            "the listener never retried the message"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seen = stats.snapshot();
    assert!(seen.reconnects >= 1, "{seen:?}");
    assert_eq!(seen.quarantined, 0, "{seen:?}");
    assert_eq!(
        db.count("SELECT count(*) FROM inbound_messages WHERE outcome = 'quarantined'")
            .await,
        0
    );
    assert_eq!(db.count("SELECT count(*) FROM leads").await, 1);
    let _ = stop.send(true);
    let ended = tokio::time::timeout(Duration::from_secs(15), listener)
        .await
        .expect("the listener stops");
    assert!(matches!(ended, Ok(Ok(()))), "{ended:?}");
}
