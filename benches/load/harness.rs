//! The real parts the figures run on, started once per run: a private PostgreSQL with fsync
//! on (never the machine's shared server), Dovecot + Postfix (tests/support/mailstack.rs), and
//! an SMTP watch in front of Postfix. Each figure takes fresh databases and a fresh mailbox,
//! and runs the `leadbot` binary the way an operator or an MTA does.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use leadbot::store::private_cluster::PrivateCluster;
use sqlx::{Connection as _, PgConnection, PgPool};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::mailstack::MailStack;
use crate::smtp_watch::SmtpWatch;

/// The bot's address (mail from it is never a lead); each figure reads its own IMAP user.
pub const BOT: &str = "leads@leads.example.test";
pub const SECRET: &str = "bench-secret-0123456789";
/// A profile of examples/partners.toml and its contacts: every RFI is addressed to it.
pub const PROFILE: &str = "contoso-fr@leads.example.test";
pub const CONTACT: &str = "alice@contoso.test";
const IMAP_PASSWORD: &str = "bench-password";
/// Bound on any single wait for a server or the daemon.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on waiting for Postfix to deliver what a figure sent.
const SETTLE_LIMIT: Duration = Duration::from_secs(300);

pub struct Bench {
    pub cluster: PrivateCluster,
    pub stack: MailStack,
    pub watch: SmtpWatch,
}

/// A migrated database with the example partners imported.
pub struct BenchDb {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

impl Bench {
    pub async fn start() -> Bench {
        let cluster = tokio::task::spawn_blocking(PrivateCluster::start_durable)
            .await
            .expect("cluster start-up thread")
            .unwrap_or_else(|e| panic!("cannot start a private PostgreSQL: {e}"));
        let stack = MailStack::start().await;
        let watch = SmtpWatch::start(stack.smtp_port()).await;
        Bench {
            cluster,
            stack,
            watch,
        }
    }

    pub async fn server_version(&self) -> String {
        let mut admin = self.admin().await;
        sqlx::query_scalar("SHOW server_version")
            .fetch_one(&mut admin)
            .await
            .unwrap_or_else(|e| format!("(unknown: {e})"))
    }

    async fn admin(&self) -> PgConnection {
        PgConnection::connect(&self.cluster.url("postgres"))
            .await
            .expect("connect to the private PostgreSQL")
    }

    /// An empty database (`template` copies another one, file by file).
    pub async fn create_database(&self, name: &str, template: Option<&str>) -> (String, PgPool) {
        let mut admin = self.admin().await;
        let sql = match template {
            Some(template) => {
                format!("CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
            }
            None => format!("CREATE DATABASE {name}"),
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await
        .expect("drop an old bench database");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("create database {name}: {e}"));
        let url = self.cluster.url(name);
        let pool = leadbot::store::connect(&url)
            .await
            .expect("connect to a bench database");
        (url, pool)
    }

    /// A fresh leadbot database: migrated, example partners imported.
    pub async fn fresh_database(&self, name: &str) -> BenchDb {
        let (url, pool) = self.create_database(name, None).await;
        leadbot::store::migrate(&pool).await.expect("migrate");
        let partners = include_str!("../../examples/partners.toml");
        let directory =
            leadbot::domain::directory::Directory::parse(partners).expect("example partners");
        leadbot::store::directory::import(&pool, &directory)
            .await
            .expect("import example partners");
        BenchDb {
            name: name.to_owned(),
            url,
            pool,
        }
    }

    pub async fn drop_database(&self, name: &str) {
        let mut admin = self.admin().await;
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await;
    }

    pub async fn release(&self, db: BenchDb) {
        db.pool.close().await;
        self.drop_database(&db.name).await;
    }

    /// A PostgreSQL client program of the server's version (`pgbench`, `psql`).
    pub fn pg_program(&self, name: &str) -> PathBuf {
        self.cluster.bin_dir().join(name)
    }

    /// Arguments that point a PostgreSQL client at `database` on the private server.
    pub fn pg_connection_args(&self, database: &str) -> Vec<String> {
        vec![
            "-h".into(),
            "127.0.0.1".into(),
            "-p".into(),
            self.cluster.port().to_string(),
            "-U".into(),
            "postgres".into(),
            "-d".into(),
            database.into(),
        ]
    }

    /// The environment of `leadbot` on `db`; with `imap_user`, the IMAP listener reads that
    /// user's INBOX; mail goes out to Postfix through the SMTP watch.
    pub fn env(&self, db: &BenchDb, imap_user: Option<&str>) -> Vec<(String, String)> {
        let mut env = vec![
            ("DATABASE_URL".to_owned(), db.url.clone()),
            ("LEADBOT_BOT_ADDRESS".to_owned(), BOT.to_owned()),
            ("LEADBOT_BOT_SECRET".to_owned(), SECRET.to_owned()),
            ("LEADBOT_SMTP_HOST".to_owned(), "127.0.0.1".to_owned()),
            (
                "LEADBOT_SMTP_PORT".to_owned(),
                self.watch.port().to_string(),
            ),
            ("LEADBOT_SMTP_SECURITY".to_owned(), "none".to_owned()),
            (
                "LEADBOT_LOG".to_owned(),
                // A profile's run can ask for more (`LEADBOT_BENCH_LOG=leadbot=debug`).
                std::env::var("LEADBOT_BENCH_LOG").unwrap_or_else(|_| "warn".to_owned()),
            ),
        ];
        // Passed through, to compare the outbox's lanes (`smtp.connections`) in one figure.
        if let Ok(lanes) = std::env::var("LEADBOT_SMTP_CONNECTIONS") {
            env.push(("LEADBOT_SMTP_CONNECTIONS".to_owned(), lanes));
        }
        if let Some(user) = imap_user {
            for (key, value) in [
                ("LEADBOT_IMAP_HOST", "127.0.0.1".to_owned()),
                ("LEADBOT_IMAP_PORT", self.stack.imap_port().to_string()),
                ("LEADBOT_IMAP_SECURITY", "none".to_owned()),
                ("LEADBOT_IMAP_USERNAME", user.to_owned()),
                ("LEADBOT_IMAP_PASSWORD", IMAP_PASSWORD.to_owned()),
            ] {
                env.push((key.to_owned(), value));
            }
        }
        env
    }

    /// A new, empty mailbox for one figure's round; returns its login.
    pub fn mailbox(&self, name: &str) -> String {
        let user = format!("{name}@leads.example.test");
        self.stack.add_user(&user, IMAP_PASSWORD);
        user
    }

    /// Waits (bounded) until Postfix has handed all its mail to Dovecot, so that a figure or
    /// floor does not share the disk with the previous one's deliveries.
    pub async fn settle(&self) {
        let queue = self.stack.dir().join("postfix/queue");
        let busy = || {
            ["maildrop", "incoming", "active"]
                .iter()
                .any(|folder| count_files(&queue.join(folder)) > 0)
        };
        let settled = wait_until(SETTLE_LIMIT, Duration::from_millis(50), || async {
            (!busy()).then_some(())
        })
        .await;
        if settled.is_none() {
            eprintln!("Postfix still delivering after {SETTLE_LIMIT:?}; going on");
        }
    }

    /// `new/` of `address`'s maildir in the stack (Dovecot's home is mail/DOMAIN/USER).
    pub fn maildir_new(&self, address: &str) -> PathBuf {
        let (user, domain) = address.split_once('@').expect("an address");
        self.stack
            .dir()
            .join("mail")
            .join(domain)
            .join(user)
            .join("Maildir/new")
    }

    /// Logs in to `user`'s INBOX over IMAP.
    pub async fn imap(&self, user: &str) -> async_imap::Session<TcpStream> {
        let login = async {
            let tcp = TcpStream::connect(("127.0.0.1", self.stack.imap_port()))
                .await
                .expect("connect to Dovecot IMAP");
            let mut client = async_imap::Client::new(tcp);
            client
                .read_response()
                .await
                .expect("read the IMAP greeting")
                .expect("an IMAP greeting");
            let mut session = client
                .login(user, IMAP_PASSWORD)
                .await
                .map_err(|(e, _)| e)
                .expect("IMAP login");
            session.select("INBOX").await.expect("select INBOX");
            session
        };
        tokio::time::timeout(STEP_TIMEOUT, login)
            .await
            .expect("IMAP login timed out")
    }

    /// Puts `messages` into `user`'s INBOX with IMAP APPEND, on one connection.
    pub async fn append(&self, user: &str, messages: impl Iterator<Item = Vec<u8>>) {
        let mut session = self.imap(user).await;
        for raw in messages {
            tokio::time::timeout(STEP_TIMEOUT, session.append("INBOX", None, None, &raw))
                .await
                .expect("IMAP APPEND timed out")
                .expect("IMAP APPEND");
        }
        let _ = session.logout().await;
    }

    /// Runs `leadbot ARGS` with exactly `env` (plus PATH), `stdin` on its standard input.
    pub fn leadbot(&self, env: &[(String, String)], args: &[&str], stdin: &[u8]) -> Output {
        let mut command = leadbot_command(env);
        command.args(args);
        run_bounded(&mut command, stdin)
    }

    /// `leadbot run`, once it answers /healthz.
    pub async fn daemon(&self, env: &[(String, String)]) -> Daemon {
        let http_port = free_port();
        let child = leadbot_command(env)
            .arg("run")
            .env("LEADBOT_HTTP_LISTEN", format!("127.0.0.1:{http_port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start leadbot run");
        let daemon = Daemon {
            child: Some(child),
            http_port,
        };
        let deadline = Instant::now() + STEP_TIMEOUT;
        while !daemon.healthy().await {
            assert!(
                Instant::now() < deadline,
                "leadbot run did not answer /healthz within {STEP_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        daemon
    }
}

fn leadbot_command(env: &[(String, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_leadbot"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    command
}

/// Longest a single process of a figure may run (a sweep of a million leads included).
const PROCESS_LIMIT: Duration = Duration::from_secs(30 * 60);

/// Runs `command` to its end with `stdin` as input, killing it after [`PROCESS_LIMIT`].
pub fn run_bounded(command: &mut Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    let pid = child.id();
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin)
            .expect("write a process's standard input");
    }
    // Its output is read on another thread, so that a full pipe never stalls the wait.
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match finished.recv_timeout(PROCESS_LIMIT) {
        Ok(output) => output.unwrap_or_else(|e| panic!("wait for {command:?}: {e}")),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("{command:?} ran longer than {PROCESS_LIMIT:?}; killed")
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// `leadbot run` as a child process; SIGTERM when dropped.
pub struct Daemon {
    child: Option<Child>,
    http_port: u16,
}

impl Daemon {
    async fn healthy(&self) -> bool {
        let get = async {
            let mut stream = TcpStream::connect(("127.0.0.1", self.http_port))
                .await
                .ok()?;
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .await
                .ok()?;
            let mut response = String::new();
            stream.read_to_string(&mut response).await.ok()?;
            Some(response.starts_with("HTTP/1.1 200"))
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(2), get).await,
            Ok(Some(true))
        )
    }

    /// A field of /proc/PID/status in megabytes: `VmRSS` (now) or `VmHWM` (peak).
    pub fn memory_mb(&self, field: &str) -> f64 {
        let pid = self.child.as_ref().map_or(0, Child::id);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }

    /// SIGTERM, then waits (bounded) for the exit; SIGKILL if it will not. How long it took
    /// to exit by itself, or `None` if it had to be killed (or was already stopped).
    pub fn stop(&mut self) -> Option<Duration> {
        let mut child = self.child.take()?;
        let asked = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        while asked.elapsed() < STEP_TIMEOUT {
            if let Ok(Some(_)) = child.try_wait() {
                return Some(asked.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("leadbot run ignored SIGTERM for {STEP_TIMEOUT:?}; killing it");
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Files under `dir`, in its subfolders too (Postfix hashes its queue into subfolders).
fn count_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| match entry.file_type() {
                    Ok(kind) if kind.is_dir() => count_files(&entry.path()),
                    _ => 1,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// The names of the files in `dir` (none if it does not exist yet).
pub fn listing(dir: &std::path::Path) -> HashSet<OsString> {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default()
}

/// Calls `check` every `poll` until it gives a value or `limit` passes.
pub async fn wait_until<T, F, Fut>(limit: Duration, poll: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(poll).await;
    }
}

/// An RFI from a new customer to [`PROFILE`], told apart by `tag` (in its Message-ID, subject
/// and body).
pub fn rfi(tag: &str) -> Vec<u8> {
    format!(
        "From: Client {tag} <c-{tag}@client.test>\r\nTo: {PROFILE}\r\nSubject: Teams {tag}\r\n\
         Date: Mon, 02 Nov 2026 09:00:00 +0100\r\nMessage-ID: <bench-{tag}@client.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n\
         Bonjour,\r\nNous voulons migrer 200 boîtes vers Teams (réf. {tag}).\r\n\r\n\
         Cordialement,\r\nClient {tag}\r\nSociété {tag}\r\n"
    )
    .into_bytes()
}
