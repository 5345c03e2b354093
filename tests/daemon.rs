//! `leadbot run` end to end over the real servers: a customer's RFI by SMTP, the
//! notification in the contact's IMAP mailbox, replies by SMTP, confirmations back —
//! plus health, metrics, graceful stop, a take-over between two instances and `check`.

mod support;

use std::time::{Duration, Instant};

use support::MailStack;
use support::daemon::{BOT, BOT_PASSWORD, Daemon, environment};
use support::db::{TestDb, seed_directory};
use support::leadbot::{run, stdout};

const ALICE: &str = "alice@contoso.test";
const PASSWORD: &str = "secret";

fn header(raw: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let wanted = format!("{}:", name.to_lowercase());
    for line in text.lines() {
        if line.to_lowercase().starts_with(&wanted) {
            return Some(line[wanted.len()..].trim().to_string());
        }
        if line.is_empty() {
            break;
        }
    }
    None
}

fn contains(raw: &[u8], needle: &str) -> bool {
    String::from_utf8_lossy(raw).contains(needle)
}

async fn ready() -> (TestDb, MailStack) {
    let db = TestDb::new().await;
    seed_directory(&db.pool).await;
    let stack = MailStack::start().await;
    stack.add_user(BOT, BOT_PASSWORD);
    stack.add_user(ALICE, PASSWORD);
    (db, stack)
}

/// The RFI is sent to the bot's mailbox, addressed (in its headers) to a profile: in
/// production the profile addresses are aliases of the bot's mailbox.
fn rfi(id: &str) -> Vec<u8> {
    format!(
        "From: Chloe Dubois <chloe@client.test>\r\nTo: contoso-fr@leads.example.test\r\n\
         Subject: Teams {id}\r\nMessage-ID: <{id}@client.test>\r\n\r\n\
         Bonjour, nous voulons migrer vers Teams.\r\n"
    )
    .into_bytes()
}

async fn lead_state(db: &TestDb) -> Option<String> {
    sqlx::query_scalar("SELECT state FROM leads ORDER BY id DESC LIMIT 1")
        .fetch_optional(&db.pool)
        .await
        .unwrap()
}

async fn until(what: &str, seconds: u64, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_whole_loop_over_real_servers() {
    let (db, stack) = ready().await;
    let mut daemon = Daemon::start(&db, &stack).await;

    stack
        .send("chloe@client.test", &[BOT], &rfi("loop-1"))
        .await;
    let notification = stack
        .wait_for(
            ALICE,
            PASSWORD,
            "INBOX",
            |m| contains(m, "Nouvelle demande"),
            Duration::from_secs(20),
        )
        .await;
    let reply_to = header(&notification, "Reply-To").expect("a Reply-To with the token");
    let message_id = header(&notification, "Message-ID").expect("a Message-ID");
    assert!(reply_to.starts_with("leads+"), "{reply_to}");
    assert_eq!(
        header(&notification, "Auto-Submitted").as_deref(),
        Some("auto-generated")
    );

    let accept = format!(
        "From: Alice Martin <{ALICE}>\r\nTo: {reply_to}\r\nSubject: Re: Nouvelle demande\r\n\
         Message-ID: <accept-1@contoso.test>\r\nIn-Reply-To: {message_id}\r\n\r\n\
         ACCEPTER\r\nValeur : 25 000 EUR\r\n\r\nLe lundi, leadbot a écrit :\r\n> REFUSER 2\r\n"
    );
    let envelope_to = reply_to.trim_matches(['<', '>']).to_string();
    stack.send(ALICE, &[&envelope_to], accept.as_bytes()).await;
    let confirmation = stack
        .wait_for(
            ALICE,
            PASSWORD,
            "INBOX",
            |m| contains(m, "25,000.00 EUR"),
            Duration::from_secs(20),
        )
        .await;
    assert!(
        contains(&confirmation, "accepted"),
        "the transcript shows the new state"
    );
    assert_eq!(lead_state(&db).await.as_deref(), Some("accepted"));

    let won = format!(
        "From: {ALICE}\r\nTo: {envelope_to}\r\nSubject: Re: Nouvelle demande\r\n\
         Message-ID: <won-1@contoso.test>\r\n\r\nGAGNE\r\n"
    );
    stack.send(ALICE, &[&envelope_to], won.as_bytes()).await;
    until("the lead to be won", 20, async || {
        lead_state(&db).await.as_deref() == Some("won")
    })
    .await;

    let (status, metrics) = daemon.get("/metrics").await.expect("/metrics answers");
    assert_eq!(status, 200);
    let scrape = parse_metrics(&metrics);
    assert_eq!(
        sample(&scrape, "leadbot_leads", &[("state", "won")]),
        Some(1.0)
    );
    assert_eq!(sample(&scrape, "leadbot_database_up", &[]), Some(1.0));
    assert_eq!(sample(&scrape, "leadbot_imap_holds_lock", &[]), Some(1.0));
    assert_eq!(
        sample(
            &scrape,
            "leadbot_inbound_messages_total",
            &[("class", "request"), ("outcome", "applied")]
        ),
        Some(1.0),
        "{metrics}"
    );
    assert!(
        sample(&scrape, "leadbot_outbox_sent_total", &[]).is_some_and(|sent| sent >= 2.0),
        "{metrics}"
    );
    let latency = scrape
        .samples
        .iter()
        .find(|s| s.metric == "leadbot_ingest_seconds")
        .map(|s| s.value.clone());
    assert!(
        matches!(&latency, Some(prometheus_parse::Value::Histogram(buckets))
            if buckets.last().is_some_and(|b| b.count == 3.0)),
        "three messages timed: {latency:?}\n{metrics}"
    );
    assert_eq!(daemon.get("/readyz").await.map(|r| r.0), Some(200));
    assert_eq!(daemon.stop(), Some(0), "SIGTERM ends with exit code 0");
}

#[tokio::test]
async fn an_unanswered_lead_expires_when_the_clock_moves() {
    let (db, stack) = ready().await;
    let daemon = Daemon::start(&db, &stack).await;
    stack
        .send("chloe@client.test", &[BOT], &rfi("expire-1"))
        .await;
    until("the lead", 20, async || lead_state(&db).await.is_some()).await;

    let env = environment(&db, &stack, daemon.http_port);
    let later = (chrono::Utc::now() + chrono::Duration::days(15)).to_rfc3339();
    let output = run(&env, &["tick", "--now", &later]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(lead_state(&db).await.as_deref(), Some("expired"));
    stack
        .wait_for(
            ALICE,
            PASSWORD,
            "INBOX",
            |m| contains(m, "expir"),
            Duration::from_secs(20),
        )
        .await;
}

#[tokio::test]
async fn a_second_instance_takes_over_the_mailbox_when_the_first_dies() {
    let (db, stack) = ready().await;
    let mut first = Daemon::start(&db, &stack).await;
    until("the first instance to hold the lock", 20, async || {
        first
            .get("/metrics")
            .await
            .is_some_and(|(_, m)| m.contains("leadbot_imap_holds_lock 1"))
    })
    .await;
    let second = Daemon::start(&db, &stack).await;
    let (_, metrics) = second.get("/metrics").await.unwrap();
    assert!(
        metrics.contains("leadbot_imap_holds_lock 0"),
        "the second stands by"
    );

    first.kill();
    until("the second instance to take over", 30, async || {
        second
            .get("/metrics")
            .await
            .is_some_and(|(_, m)| m.contains("leadbot_imap_holds_lock 1"))
    })
    .await;
    stack
        .send("chloe@client.test", &[BOT], &rfi("takeover-1"))
        .await;
    until("the lead from the second instance", 20, async || {
        lead_state(&db).await.is_some()
    })
    .await;
    let leads: i64 = sqlx::query_scalar("SELECT count(*) FROM leads")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(leads, 1);
}

#[tokio::test]
async fn check_says_pass_or_fail_for_each_part() {
    let (db, mut stack) = ready().await;
    let env = environment(&db, &stack, 1);
    let output = run(&env, &["check"]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    for part in ["configuration", "postgresql", "imap", "smtp"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("pass") && l.contains(part)),
            "{part}: {text}"
        );
    }

    stack.stop_smtp().await;
    let output = run(&env, &["check"]);
    let text = stdout(&output);
    assert!(!output.status.success());
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("smtp")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("pass") && l.contains("imap")),
        "{text}"
    );
}

fn parse_metrics(text: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(text.lines().map(|line| Ok(line.to_string())))
        .expect("/metrics parses as Prometheus text")
}

/// The value of the series `name` with exactly these labels.
fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == name
                && s.labels.len() == labels.len()
                && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
        })
        .and_then(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => Some(v),
            _ => None,
        })
}

/// With PostgreSQL gone, monitoring still gets quick answers: `/readyz` says 503 and
/// `/metrics` serves the process's own series with `leadbot_database_up 0`.
#[tokio::test(flavor = "multi_thread")]
async fn readiness_and_metrics_answer_quickly_while_postgresql_is_down() {
    let mut cluster =
        leadbot::store::private_cluster::PrivateCluster::start().unwrap_or_else(|e| panic!("{e}"));
    let db = TestDb::on_server(&cluster.url("postgres")).await;
    seed_directory(&db.pool).await;
    let stack = MailStack::start().await;
    stack.add_user(BOT, BOT_PASSWORD);
    let mut daemon = Daemon::start(&db, &stack).await;
    assert_eq!(daemon.get("/readyz").await.map(|r| r.0), Some(200));

    cluster.stop_fast().expect("stop the private PostgreSQL");
    let asked = Instant::now();
    let ready = daemon.get("/readyz").await.expect("/readyz answers");
    let ready_took = asked.elapsed();
    assert_eq!(ready.0, 503, "{}", ready.1);
    let asked = Instant::now();
    let (status, metrics) = daemon.get("/metrics").await.expect("/metrics answers");
    let metrics_took = asked.elapsed();
    assert_eq!(status, 200);
    let scrape = parse_metrics(&metrics);
    assert_eq!(
        sample(&scrape, "leadbot_database_up", &[]),
        Some(0.0),
        "{metrics}"
    );
    assert!(
        sample(&scrape, "leadbot_scheduler_ticks_total", &[]).is_some(),
        "{metrics}"
    );
    // The budget is one second each; the margin absorbs a loaded test machine, and the
    // old behaviour (the pool's 5 s acquire timeout) still fails.
    assert!(
        ready_took < Duration::from_millis(2500),
        "/readyz took {ready_took:?}"
    );
    assert!(
        metrics_took < Duration::from_millis(2500),
        "/metrics took {metrics_took:?}"
    );

    cluster
        .start_again()
        .expect("start the private PostgreSQL again");
    until("/readyz to recover", 20, async || {
        daemon.get("/readyz").await.is_some_and(|r| r.0 == 200)
    })
    .await;
    assert_eq!(daemon.stop(), Some(0));
    drop(db);
}

/// The line `check` prints for `part`, which must have failed.
fn failed_line(env: &[(String, String)], part: &str) -> String {
    let output = run(env, &["check"]);
    let text = stdout(&output);
    assert!(!output.status.success(), "{text}");
    text.lines()
        .find(|line| line.starts_with("FAIL") && line.contains(part))
        .unwrap_or_else(|| panic!("no failed {part} line:\n{text}"))
        .to_string()
}

fn with(env: &[(String, String)], key: &str, value: &str) -> Vec<(String, String)> {
    let mut env: Vec<_> = env.iter().filter(|(k, _)| k != key).cloned().collect();
    env.push((key.into(), value.into()));
    env
}

#[tokio::test]
async fn check_tells_an_operator_which_step_fails() {
    let (db, mut stack) = ready().await;
    let env = environment(&db, &stack, 1);
    let nothing_listens = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let server = db.url.rsplit_once('/').unwrap().0.to_string();
    let (scheme, host) = server.split_once('@').unwrap();

    let line = failed_line(
        &with(&env, "DATABASE_URL", &format!("{server}/no_such_database")),
        "postgresql",
    );
    assert!(
        line.contains("database missing") && line.contains("leadbot migrate"),
        "{line}"
    );
    let line = failed_line(
        &with(
            &env,
            "DATABASE_URL",
            &format!("postgres://no_such_role@{host}/postgres"),
        ),
        "postgresql",
    );
    assert!(line.contains("authentication failed"), "{line}");
    assert!(scheme.starts_with("postgres://"));
    let line = failed_line(
        &with(
            &env,
            "DATABASE_URL",
            &format!("postgres://postgres@127.0.0.1:{nothing_listens}/x"),
        ),
        "postgresql",
    );
    assert!(line.contains("server unreachable"), "{line}");

    let line = failed_line(&with(&env, "LEADBOT_IMAP_PASSWORD", "wrong"), "imap");
    assert!(line.contains("refused the login"), "{line}");
    let line = failed_line(
        &with(&env, "LEADBOT_IMAP_PORT", &nothing_listens.to_string()),
        "imap",
    );
    assert!(line.contains("cannot connect"), "{line}");
    let line = failed_line(&with(&env, "LEADBOT_IMAP_SECURITY", "tls"), "imap");
    assert!(line.contains("TLS"), "{line}");

    let line = failed_line(&with(&env, "LEADBOT_SMTP_SECURITY", "tls"), "smtp");
    assert!(line.contains("TLS failed"), "{line}");
    stack.stop_smtp().await;
    let line = failed_line(&env, "smtp");
    assert!(line.contains("server unreachable"), "{line}");
}

#[tokio::test]
async fn a_listener_that_gives_up_makes_the_daemon_unhealthy() {
    let (db, stack) = ready().await;
    let http_port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut env = environment(&db, &stack, http_port);
    env.push(("LEADBOT_IMAP_PASSWORD".into(), "wrong-password".into()));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_leadbot"))
        .arg("run")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let health = async || -> Option<(u16, String)> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", http_port))
            .await
            .ok()?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await.ok()?;
        let status = response.split_whitespace().nth(1)?.parse().ok()?;
        Some((status, response))
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let verdict = loop {
        if let Some((503, body)) = health().await {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "/healthz never reported the stopped listener"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(verdict.contains("IMAP listener stopped"), "{verdict}");
}
