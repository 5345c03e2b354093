//! The IMAP listener under test: a bot mailbox on the real Dovecot, its configuration, a
//! listener running in a task, and ways to look at the mailbox and the database meanwhile.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt as _;
use leadbot::config::Config;
use leadbot::store::checkpoints::{self, Checkpoint};
use leadbot::workflow::listener::{
    ListenerError, ListenerOptions, ListenerStats, ListenerStatsSnapshot, run_listener_with,
};
use sqlx::PgPool;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::MailStack;
use super::db::{SECRET, TestDb, seed_directory};

pub const BOT: &str = "leads@leads.example.test";
pub const BOT_PASSWORD: &str = "bot-secret";
pub const PROFILE: &str = "contoso-fr@leads.example.test";
pub const CUSTOMER: &str = "chloe@client.test";
/// Generous bound for anything that crosses the servers (Dovecot alone reports IDLE ~0.5 s
/// after delivery).
pub const DEADLINE: Duration = Duration::from_secs(15);

/// Short timings so that failures and take-overs are quick; a long IDLE renewal, so that
/// nothing but an IDLE notification can explain mail picked up within seconds.
pub fn test_options() -> ListenerOptions {
    ListenerOptions {
        idle_renewal: Duration::from_secs(600),
        reconnect_first: Duration::from_millis(200),
        reconnect_max: Duration::from_secs(1),
        standby_retry: Duration::from_millis(200),
        lock_check: Duration::from_millis(200),
        imap_step_timeout: Duration::from_secs(10),
    }
}

pub fn config(db: &TestDb, imap_port: u16) -> Arc<Config> {
    let text = format!(
        "[bot]\naddress = \"{BOT}\"\nsecret = \"{SECRET}\"\n\
         [imap]\nhost = \"127.0.0.1\"\nport = {imap_port}\nsecurity = \"none\"\n\
         username = \"{BOT}\"\npassword = \"{BOT_PASSWORD}\"\nmailbox = \"INBOX\"\n\
         quarantine_mailbox = \"Quarantine\"\n"
    );
    let env = [("DATABASE_URL".to_string(), db.url.clone())];
    Arc::new(Config::from_parts(None, &text, &env).expect("test configuration"))
}

/// The bot's mailbox receives mail for a profile address: the envelope goes to the bot,
/// the headers name the profile (as an alias or a forward would deliver it).
pub fn rfi(tag: &str) -> Vec<u8> {
    rfi_from(CUSTOMER, tag)
}

/// [`rfi`] from another customer.
pub fn rfi_from(customer: &str, tag: &str) -> Vec<u8> {
    format!(
        "From: Chloé Dubois <{customer}>\r\nTo: {PROFILE}\r\nSubject: Demande Teams {tag}\r\n\
         Date: Mon, 02 Nov 2026 09:00:00 +0100\r\nMessage-ID: <rfi-{tag}@client.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n\
         Bonjour,\r\nNous voulons migrer 200 boîtes vers Teams ({tag}).\r\n\r\n\
         Cordialement,\r\nChloé Dubois\r\nFabrikam SA\r\n"
    )
    .into_bytes()
}

pub async fn send_rfi(stack: &MailStack, tag: &str) {
    stack.send(CUSTOMER, &[BOT], &rfi(tag)).await;
}

/// A listener running in its own task, with its stop switch and its counters.
pub struct Running {
    pub stop: watch::Sender<bool>,
    pub stats: Arc<ListenerStats>,
    pub task: JoinHandle<Result<(), ListenerError>>,
}

impl Running {
    pub fn start(db: &TestDb, config: &Arc<Config>) -> Running {
        let (stop, shutdown) = watch::channel(false);
        let stats = Arc::new(ListenerStats::default());
        let task = tokio::spawn(run_listener_with(
            db.pool.clone(),
            Arc::clone(config),
            test_options(),
            shutdown,
            Arc::clone(&stats),
        ));
        Running { stop, stats, task }
    }

    pub fn stats(&self) -> ListenerStatsSnapshot {
        self.stats.snapshot()
    }

    /// Waits until it holds the lock and has caught up (IDLE is running).
    pub async fn until_waiting_for_mail(&self) {
        until("the listener is caught up and idling", || async {
            self.stats().waiting_for_mail
        })
        .await;
    }

    /// Asks it to stop and waits (bounded) for it to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        match tokio::time::timeout(DEADLINE, self.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => panic!("the listener ended with an error: {error:?}"),
            Ok(Err(join)) => panic!("the listener task failed: {join}"),
            Err(_) => panic!("the listener did not stop within {DEADLINE:?}"),
        }
    }
}

/// Polls `condition` until it holds; panics after `DEADLINE`. Returns how long it took.
pub async fn until<F, Fut>(what: &str, condition: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !condition().await {
        assert!(
            started.elapsed() < DEADLINE,
            "timed out after {DEADLINE:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

pub async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .expect("count rows")
}

pub async fn lead_count(pool: &PgPool) -> i64 {
    count(pool, "SELECT count(*) FROM leads").await
}

/// UID and \Seen of every message in `mailbox`, read with EXAMINE (read-only) so that
/// looking changes nothing.
pub async fn uids_and_seen(stack: &MailStack, mailbox: &str) -> Vec<(u32, bool)> {
    let read = async {
        let tcp = TcpStream::connect(("127.0.0.1", stack.imap_port())).await?;
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await?;
        let mut session = client
            .login(BOT, BOT_PASSWORD)
            .await
            .map_err(|(error, _)| error)?;
        let selected = session.examine(mailbox).await?;
        let mut found = Vec::new();
        if selected.exists > 0 {
            let answers: Vec<_> = session
                .uid_fetch("1:*", "(UID FLAGS)")
                .await?
                .try_collect()
                .await?;
            for answer in &answers {
                let seen = answer
                    .flags()
                    .any(|flag| flag == async_imap::types::Flag::Seen);
                found.extend(answer.uid.map(|uid| (uid, seen)));
            }
        }
        session.logout().await?;
        found.sort_unstable();
        Ok::<_, async_imap::error::Error>(found)
    };
    tokio::time::timeout(DEADLINE, read)
        .await
        .expect("reading flags timed out")
        .expect("reading flags")
}

pub async fn checkpoint(pool: &PgPool) -> Option<Checkpoint> {
    checkpoints::read(pool, "INBOX")
        .await
        .expect("read checkpoint")
}

pub async fn ready() -> (TestDb, MailStack) {
    let (db, stack) = tokio::join!(TestDb::new(), MailStack::start());
    stack.add_user(BOT, BOT_PASSWORD);
    seed_directory(&db.pool).await;
    (db, stack)
}

/// A From header naming nobody (an empty group): nobody to answer, nothing to route.
pub const UNREADABLE: &[u8] =
    b"From: undisclosed-senders:;\r\nTo: contoso-fr@leads.example.test\r\n\
    Subject: ???\r\nMessage-ID: <broken-1@client.test>\r\n\r\n\x00\xff garbage\r\n";
