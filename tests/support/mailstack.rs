//! A real mail stack on loopback for integration tests: Dovecot (IMAP + LMTP) and Postfix
//! (SMTP, delivering over LMTP into Dovecot), one private instance per `MailStack`.
//!
//! Everything lives in a temporary folder: configs, queue, maildirs, logs. Ports are free
//! loopback ports picked at start, so stacks in parallel tests never collide. Dropping the
//! stack stops both servers (also when a test panics); a watchdog process cleans up if the
//! test process dies without running `Drop` (killed, aborted).
//!
//! ```ignore
//! let stack = MailStack::start().await;
//! stack.add_user("leads@leads.example.test", "secret");
//! stack.send("a@client.test", &["leads+tok@leads.example.test"], raw).await;
//! let mail = stack
//!     .wait_for("leads@leads.example.test", "secret", "INBOX", |m| m.len() > 0, MailStack::DEFAULT_TIMEOUT)
//!     .await;
//! ```
//!
//! The recipe and its pitfalls: MAILSTACK.md (shared project notes).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_imap::Session;
use async_imap::extensions::idle::IdleResponse;
use futures::TryStreamExt as _;
use lettre::address::Envelope;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};
use tempfile::TempDir;
use tokio::net::TcpStream;

/// Domains Postfix accepts mail for (all delivered into Dovecot; any local part works).
pub const TEST_DOMAINS: &[&str] = &[
    "leads.example.test",
    "example.test",
    "partner.test",
    "client.test",
    "microsoft.test",
    "contoso.test",
    "fabrikam.test",
];

/// The recipient `MailStack::start` makes Postfix refuse with a permanent 550 at RCPT time.
pub const REJECTED_RECIPIENT: &str = "reject@client.test";

const INSTALL_HINT: &str = "apt-get update && echo \"postfix postfix/main_mailer_type select No configuration\" | debconf-set-selections && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dovecot-imapd dovecot-lmtpd postfix swaks";

/// Owner of the maildirs; Dovecot needs no passwd entry for it (above first_valid_uid).
const MAIL_UID: u32 = 5000;
/// How long start-up, shutdown and single protocol steps may take before we give up.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
const POLL_INTERVAL: Duration = Duration::from_millis(20);

type ImapSession = Session<TcpStream>;

/// Where each part of one stack lives inside its temporary folder.
#[derive(Debug, Clone)]
struct Layout {
    root: PathBuf,
    dovecot_conf: PathBuf,
    dovecot_base: PathBuf,
    dovecot_log: PathBuf,
    passwd_file: PathBuf,
    mail_root: PathBuf,
    postfix_conf_dir: PathBuf,
    postfix_queue: PathBuf,
    postfix_log: PathBuf,
}

impl Layout {
    fn new(root: &Path) -> Layout {
        Layout {
            root: root.to_path_buf(),
            dovecot_conf: root.join("dovecot/dovecot.conf"),
            dovecot_base: root.join("dovecot/run"),
            dovecot_log: root.join("dovecot.log"),
            passwd_file: root.join("dovecot/users"),
            mail_root: root.join("mail"),
            postfix_conf_dir: root.join("postfix/etc"),
            postfix_queue: root.join("postfix/queue"),
            postfix_log: root.join("postfix.log"),
        }
    }

    fn dovecot_pid_file(&self) -> PathBuf {
        self.dovecot_base.join("master.pid")
    }

    fn postfix_pid_file(&self) -> PathBuf {
        self.postfix_queue.join("pid/master.pid")
    }

    fn recipient_access_file(&self) -> PathBuf {
        self.postfix_conf_dir.join("recipient_access")
    }
}

/// Loopback ports of one stack.
#[derive(Debug, Clone, Copy)]
struct Ports {
    imap: u16,
    lmtp: u16,
    smtp: u16,
    /// IMAP over TLS and SMTP submission over TLS (wrapper mode), with `start_with_tls`.
    imaps: u16,
    smtps: u16,
}

/// Absolute paths of the server binaries, found before anything starts.
#[derive(Debug, Clone)]
struct Binaries {
    dovecot: PathBuf,
    postfix: PathBuf,
}

/// A running Dovecot + Postfix pair. Stops both when dropped.
pub struct MailStack {
    layout: Layout,
    ports: Ports,
    bins: Binaries,
    dovecot_started: bool,
    postfix_started: bool,
    /// Cleans up if this process dies without running Drop; killed by Drop.
    watchdog: Option<Child>,
    /// Declared last: the folder is removed after the servers are stopped.
    _dir: TempDir,
}

impl MailStack {
    /// Default bound for `wait_for`: IDLE reports ~0.5 s after delivery, so this is generous.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// Starts a fresh stack whose Postfix refuses `REJECTED_RECIPIENT` with 550.
    pub async fn start() -> MailStack {
        Self::start_rejecting(&[REJECTED_RECIPIENT]).await
    }

    /// A stack that also speaks TLS, with a certificate for 127.0.0.1 signed by a CA made
    /// for it ([`MailStack::ca_file`]): Dovecot offers STARTTLS on the IMAP port and TLS on
    /// [`MailStack::imaps_port`]; Postfix offers STARTTLS on the SMTP port and TLS on
    /// [`MailStack::smtps_port`].
    pub async fn start_with_tls() -> MailStack {
        Self::start_with(&[REJECTED_RECIPIENT], true).await
    }

    /// Starts a fresh stack whose Postfix refuses each of `rejected` with a permanent 550.
    /// Panics with a clear message (install command, server diagnostics) if it cannot start.
    pub async fn start_rejecting(rejected: &[&str]) -> MailStack {
        Self::start_with(rejected, false).await
    }

    async fn start_with(rejected: &[&str], tls: bool) -> MailStack {
        let bins = find_binaries();
        let dir = tempfile::Builder::new()
            .prefix("leadbot-mailstack-")
            .tempdir()
            .expect("create the mail stack's temporary folder");
        let layout = Layout::new(dir.path());
        let ports = Ports {
            imap: free_port(),
            lmtp: free_port(),
            smtp: free_port(),
            imaps: if tls { free_port() } else { 0 },
            smtps: if tls { free_port() } else { 0 },
        };
        let certificate = tls.then(|| make_test_certificates(&layout.root.join("tls")));
        write_dovecot_files(
            &layout,
            ports,
            &unique_instance_name(),
            certificate.as_ref(),
        );
        write_postfix_files(&layout, ports, rejected, certificate.as_ref());

        // From here on a panic drops `stack`, which stops whatever already started.
        let mut stack = MailStack {
            watchdog: Some(spawn_watchdog(&layout)),
            layout,
            ports,
            bins,
            dovecot_started: false,
            postfix_started: false,
            _dir: dir,
        };
        stack.start_dovecot();
        stack.start_smtp().await;
        stack
            .wait_until_accepting(stack.ports.imap, "Dovecot IMAP")
            .await;
        stack
            .wait_until_accepting(stack.ports.lmtp, "Dovecot LMTP")
            .await;
        // Its ports can accept before the daemonized master has written its pid file; Drop
        // needs that pid, so a test that ends at once must not outrun it.
        stack
            .wait_for_pid_file(&stack.layout.dovecot_pid_file(), "Dovecot")
            .await;
        stack
    }

    /// The IMAP-over-TLS port (only with `start_with_tls`).
    pub fn imaps_port(&self) -> u16 {
        assert_ne!(self.ports.imaps, 0, "start the stack with start_with_tls");
        self.ports.imaps
    }

    /// The SMTP-over-TLS (wrapper mode) port (only with `start_with_tls`).
    pub fn smtps_port(&self) -> u16 {
        assert_ne!(self.ports.smtps, 0, "start the stack with start_with_tls");
        self.ports.smtps
    }

    /// The test CA's certificate (PEM), which signed the servers' certificate for 127.0.0.1.
    pub fn ca_file(&self) -> PathBuf {
        self.layout.root.join("tls/ca.pem")
    }

    pub fn imap_port(&self) -> u16 {
        self.ports.imap
    }

    pub fn smtp_port(&self) -> u16 {
        self.ports.smtp
    }

    pub fn postfix_log_path(&self) -> &Path {
        &self.layout.postfix_log
    }

    pub fn dovecot_log_path(&self) -> &Path {
        &self.layout.dovecot_log
    }

    /// The temporary folder holding configs, queue, maildirs and logs.
    pub fn dir(&self) -> &Path {
        &self.layout.root
    }

    /// Pids of the Dovecot and Postfix master processes now running.
    pub fn server_pids(&self) -> Vec<u32> {
        [
            self.layout.dovecot_pid_file(),
            self.layout.postfix_pid_file(),
        ]
        .iter()
        .filter_map(|file| read_pid(file))
        .filter(|pid| is_running(*pid))
        .collect()
    }

    /// Every running process of this stack: both masters start their own session (setsid),
    /// and their children stay in it.
    pub fn server_processes(&self) -> Vec<u32> {
        processes_in_sessions(&self.server_pids())
    }

    /// Both logs, for a failing test to print.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for (name, path) in [
            ("postfix", &self.layout.postfix_log),
            ("dovecot", &self.layout.dovecot_log),
        ] {
            let text = fs::read_to_string(path).unwrap_or_else(|e| format!("(unreadable: {e})\n"));
            let _ = write!(out, "----- {name} log {} -----\n{text}", path.display());
        }
        out
    }

    /// Lets `email` log in over IMAP. Every address in the test domains receives mail
    /// anyway; this only sets its password. Dovecot re-reads the file on the next login.
    pub fn add_user(&self, email: &str, password: &str) {
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(&self.layout.passwd_file)
            .expect("open Dovecot's passwd-file");
        writeln!(file, "{email}:{{PLAIN}}{password}").expect("append to Dovecot's passwd-file");
    }

    // ----- SMTP -----

    /// Sends `raw` (a complete RFC 5322 message) by SMTP; panics if Postfix refuses it.
    pub async fn send(&self, from: &str, to: &[&str], raw: &[u8]) {
        if let Err(e) = self.try_send(from, to, raw).await {
            panic!(
                "SMTP send from {from} to {to:?} failed: {e}\n{}",
                self.logs()
            );
        }
    }

    /// Sends `raw` by SMTP and returns Postfix's refusal, if any (`e.status()` holds the code).
    pub async fn try_send(
        &self,
        from: &str,
        to: &[&str],
        raw: &[u8],
    ) -> Result<(), lettre::transport::smtp::Error> {
        let envelope = Envelope::new(
            Some(from.parse().expect("valid sender address")),
            to.iter()
                .map(|r| r.parse().expect("valid recipient address"))
                .collect(),
        )
        .expect("valid SMTP envelope");
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(self.ports.smtp)
            .timeout(Some(STEP_TIMEOUT))
            .build();
        transport.send_raw(&envelope, raw).await.map(|_| ())
    }

    /// Stops Postfix; returns once its SMTP port refuses connections.
    pub async fn stop_smtp(&mut self) {
        if let Some(pid) = self.ask_postfix_to_stop() {
            wait_for_exit(pid);
        }
        // Postfix's own "quick-stop" marker: the next start skips the slow integrity checks.
        let _ = fs::write(self.layout.postfix_queue.join("quick-start"), "");
        let deadline = Instant::now() + STEP_TIMEOUT;
        while port_accepts(self.ports.smtp).await {
            assert!(
                Instant::now() < deadline,
                "Postfix still accepts on port {} after stop\n{}",
                self.ports.smtp,
                self.logs()
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Starts (or restarts) Postfix; returns once its SMTP port accepts connections.
    pub async fn start_smtp(&mut self) {
        let mut command = Command::new(&self.bins.postfix);
        command
            .arg("-c")
            .arg(&self.layout.postfix_conf_dir)
            .arg("start");
        let (status, output) =
            run_daemonizing(&mut command, &self.layout.root.join("postfix-start.out"));
        if !status.success() {
            panic!(
                "postfix start failed ({status}): {output}\n`postfix check` says (Postfix reports start-up errors only to syslog):\n{}\n{}",
                self.postfix_check_output(),
                self.logs()
            );
        }
        self.postfix_started = true;
        self.wait_until_accepting(self.ports.smtp, "Postfix SMTP")
            .await;
    }

    /// `postfix check` run under a pseudo-terminal, the only way to see its errors without syslog.
    fn postfix_check_output(&self) -> String {
        let command = format!(
            "{} -c {} check",
            self.bins.postfix.display(),
            self.layout.postfix_conf_dir.display()
        );
        match Command::new("script")
            .args(["-qc", &command, "/dev/null"])
            .output()
        {
            Ok(out) => format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => format!("(could not run `script -qc '{command}' /dev/null`: {e})"),
        }
    }

    // ----- IMAP -----

    /// Every message in `mailbox` of `user`, oldest first, as raw bytes (fetched with BODY.PEEK[]
    /// so nothing is marked seen).
    pub async fn fetch_all(&self, user: &str, password: &str, mailbox: &str) -> Vec<Vec<u8>> {
        let mut session = self.imap_login(user, password).await;
        self.select(&mut session, user, mailbox).await;
        let messages = self.fetch_from_uid(&mut session, 1).await;
        let _ = tokio::time::timeout(STEP_TIMEOUT, session.logout()).await;
        messages.into_iter().map(|(_, raw)| raw).collect()
    }

    /// The first message in `mailbox` for which `matches` is true, waiting with IMAP IDLE for
    /// new mail. Panics (with both logs) if none arrives within `timeout`.
    pub async fn wait_for(
        &self,
        user: &str,
        password: &str,
        mailbox: &str,
        matches: impl Fn(&[u8]) -> bool,
        timeout: Duration,
    ) -> Vec<u8> {
        let deadline = Instant::now() + timeout;
        let mut session = self.imap_login(user, password).await;
        self.select(&mut session, user, mailbox).await;
        let mut next_uid = 1;
        let mut seen_subjects = Vec::new();
        loop {
            for (uid, raw) in self.fetch_from_uid(&mut session, next_uid).await {
                next_uid = uid + 1;
                seen_subjects.push(subject_of(&raw));
                if matches(&raw) {
                    let _ = tokio::time::timeout(STEP_TIMEOUT, session.logout()).await;
                    return raw;
                }
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                panic!(
                    "no matching message in {user}/{mailbox} within {timeout:?}; messages there: {seen_subjects:?}\n{}",
                    self.logs()
                );
            }
            // Dovecot checks the mailbox as IDLE starts, so mail that landed since the fetch
            // above is reported at once, not missed.
            session = idle_until_change(session, remaining).await;
        }
    }

    async fn imap_login(&self, user: &str, password: &str) -> ImapSession {
        let login = async {
            let tcp = TcpStream::connect(("127.0.0.1", self.ports.imap))
                .await
                .expect("connect to Dovecot IMAP");
            let mut client = async_imap::Client::new(tcp);
            client
                .read_response()
                .await
                .expect("read IMAP greeting")
                .expect("IMAP greeting");
            client.login(user, password).await.map_err(|(e, _)| e)
        };
        match tokio::time::timeout(STEP_TIMEOUT, login).await {
            Ok(Ok(session)) => session,
            Ok(Err(e)) => panic!(
                "IMAP login as {user} failed: {e} (did the test call add_user?)\n{}",
                self.logs()
            ),
            Err(_) => panic!(
                "IMAP login as {user} took over {STEP_TIMEOUT:?}\n{}",
                self.logs()
            ),
        }
    }

    async fn select(&self, session: &mut ImapSession, user: &str, mailbox: &str) {
        match tokio::time::timeout(STEP_TIMEOUT, session.select(mailbox)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("IMAP SELECT {mailbox} for {user} failed: {e}"),
            Err(_) => panic!("IMAP SELECT {mailbox} for {user} took over {STEP_TIMEOUT:?}"),
        }
    }

    /// Messages with UID >= `first_uid`, sorted by UID.
    async fn fetch_from_uid(
        &self,
        session: &mut ImapSession,
        first_uid: u32,
    ) -> Vec<(u32, Vec<u8>)> {
        let fetch = async {
            let stream = session
                .uid_fetch(format!("{first_uid}:*"), "BODY.PEEK[]")
                .await?;
            stream.try_collect::<Vec<_>>().await
        };
        let fetched = match tokio::time::timeout(STEP_TIMEOUT, fetch).await {
            Ok(Ok(fetched)) => fetched,
            Ok(Err(e)) => panic!("IMAP UID FETCH failed: {e}"),
            Err(_) => panic!("IMAP UID FETCH took over {STEP_TIMEOUT:?}"),
        };
        let mut messages: Vec<(u32, Vec<u8>)> = fetched
            .iter()
            .filter_map(|f| Some((f.uid?, f.body()?.to_vec())))
            // `N:*` also returns the newest message when N is past the end.
            .filter(|(uid, _)| *uid >= first_uid)
            .collect();
        messages.sort_by_key(|(uid, _)| *uid);
        messages
    }

    // ----- processes -----

    fn start_dovecot(&mut self) {
        let mut command = Command::new(&self.bins.dovecot);
        command.arg("-c").arg(&self.layout.dovecot_conf);
        let (status, output) =
            run_daemonizing(&mut command, &self.layout.root.join("dovecot-start.out"));
        if !status.success() {
            panic!(
                "dovecot failed to start ({status}): {output}\n{}",
                self.logs()
            );
        }
        self.dovecot_started = true;
    }

    async fn wait_for_pid_file(&self, pid_file: &Path, what: &str) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        while read_pid(pid_file).is_none() {
            if Instant::now() >= deadline {
                panic!(
                    "{what} wrote no pid file {} within {STEP_TIMEOUT:?}\n{}",
                    pid_file.display(),
                    self.logs()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    async fn wait_until_accepting(&self, port: u16, what: &str) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        while !port_accepts(port).await {
            if Instant::now() >= deadline {
                panic!(
                    "{what} does not accept connections on 127.0.0.1:{port} after {STEP_TIMEOUT:?}\n{}",
                    self.logs()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// SIGTERM to Postfix's master (what `postfix stop` does, minus its 1 s polling); the
    /// master stops its children. Returns the pid to wait for.
    fn ask_postfix_to_stop(&mut self) -> Option<u32> {
        if !std::mem::take(&mut self.postfix_started) {
            return None;
        }
        let pid = read_pid(&self.layout.postfix_pid_file())?;
        // Never signal a stale pid later (the number may be reused once the master is gone).
        let _ = fs::remove_file(self.layout.postfix_pid_file());
        send_sigterm(pid);
        Some(pid)
    }

    /// SIGTERM to Dovecot's master; it stops its children, then takes ~1 s to exit.
    fn ask_dovecot_to_stop(&mut self) -> Option<u32> {
        if !std::mem::take(&mut self.dovecot_started) {
            return None;
        }
        let pid = read_pid(&self.layout.dovecot_pid_file())?;
        send_sigterm(pid);
        Some(pid)
    }
}

impl Drop for MailStack {
    fn drop(&mut self) {
        // Must not panic: this also runs while a failing test unwinds. Both servers are asked
        // first, then awaited, so their shutdowns overlap.
        let running = [self.ask_postfix_to_stop(), self.ask_dovecot_to_stop()];
        for pid in running.into_iter().flatten() {
            wait_for_exit(pid);
        }
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}

/// IDLEs until the server reports any change or `limit` passes, then leaves IDLE.
async fn idle_until_change(session: ImapSession, limit: Duration) -> ImapSession {
    let mut idle = session.idle();
    tokio::time::timeout(STEP_TIMEOUT, idle.init())
        .await
        .expect("IMAP IDLE start timed out")
        .expect("IMAP IDLE start");
    let (wait, _stop) = idle.wait_with_timeout(limit);
    match wait.await.expect("IMAP IDLE wait") {
        IdleResponse::NewData(_) | IdleResponse::Timeout | IdleResponse::ManualInterrupt => {}
    }
    tokio::time::timeout(STEP_TIMEOUT, idle.done())
        .await
        .expect("IMAP IDLE DONE timed out")
        .expect("IMAP IDLE DONE")
}

/// The Subject header's value, for error messages.
fn subject_of(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .lines()
        .take_while(|line| !line.is_empty())
        .find_map(|line| line.strip_prefix("Subject: ").map(str::to_owned))
        .unwrap_or_else(|| "(no subject)".to_owned())
}

// ----- configuration files -----

/// The servers' certificate and key, as files.
struct ServerCertificate {
    cert: PathBuf,
    key: PathBuf,
}

/// A CA, and a certificate for IP 127.0.0.1 (and no name) that it signed, made with the
/// `openssl` command line in `folder`.
fn make_test_certificates(folder: &Path) -> ServerCertificate {
    fs::create_dir_all(folder).expect("create the TLS folder");
    let openssl = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(folder)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run openssl ({e}): the TLS tests make their certificates with it \
                     (Debian: apt-get install -y openssl)"
                )
            });
        assert!(
            output.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let curve = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=leadbot test CA"];
    ca.extend(curve);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(&ca);
    let mut request = vec!["req", "-subj", "/CN=127.0.0.1"];
    request.extend(curve);
    request.extend(["-keyout", "server.key", "-out", "server.csr"]);
    openssl(&request);
    fs::write(
        folder.join("server.ext"),
        "subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth\n\
         basicConstraints = critical,CA:FALSE\n",
    )
    .expect("write server.ext");
    openssl(&[
        "x509",
        "-req",
        "-days",
        "2",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]);
    ServerCertificate {
        cert: folder.join("server.pem"),
        key: folder.join("server.key"),
    }
}

fn write_dovecot_files(
    layout: &Layout,
    ports: Ports,
    instance_name: &str,
    tls: Option<&ServerCertificate>,
) {
    // Postfix and Dovecot drop privileges: every folder on the way must be traversable.
    fs::set_permissions(&layout.root, fs::Permissions::from_mode(0o755))
        .expect("chmod stack folder");
    fs::create_dir_all(&layout.dovecot_base).expect("create Dovecot base_dir");
    fs::create_dir_all(layout.root.join("dovecot/state")).expect("create Dovecot state_dir");
    fs::create_dir_all(&layout.mail_root).expect("create mail folder");
    std::os::unix::fs::chown(&layout.mail_root, Some(MAIL_UID), Some(MAIL_UID))
        .expect("chown mail folder");
    fs::write(&layout.passwd_file, "").expect("create Dovecot passwd-file");

    let root = layout.root.display();
    let config = format!(
        r#"# Generated by tests/support/mailstack.rs: one private Dovecot per test stack.
instance_name = {instance_name}
base_dir = {base}
state_dir = {root}/dovecot/state
log_path = {log}
protocols = imap lmtp
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
# leads+TOKEN@domain is delivered to leads@domain's INBOX, not to a "TOKEN" folder.
recipient_delimiter = +
lmtp_save_to_detail_mailbox = no

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
# allow_all_users: LMTP accepts any recipient (else 550 for users not in a passdb).
userdb {{
  driver = static
  args = uid={uid} gid={uid} home={mail}/%d/%n allow_all_users=yes
}}

service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp}
  }}
}}
"#,
        base = layout.dovecot_base.display(),
        log = layout.dovecot_log.display(),
        passwd = layout.passwd_file.display(),
        uid = MAIL_UID,
        mail = layout.mail_root.display(),
        imap = ports.imap,
        imaps = ports.imaps,
        lmtp = ports.lmtp,
        ssl = match tls {
            Some(tls) => format!(
                "ssl = yes\nssl_cert = <{}\nssl_key = <{}",
                tls.cert.display(),
                tls.key.display()
            ),
            None => "ssl = no".into(),
        },
    );
    fs::write(&layout.dovecot_conf, config).expect("write dovecot.conf");
}

fn write_postfix_files(
    layout: &Layout,
    ports: Ports,
    rejected: &[&str],
    tls: Option<&ServerCertificate>,
) {
    fs::create_dir_all(&layout.postfix_conf_dir).expect("create Postfix config dir");
    // Postfix fills the queue folder but does not create it; it creates data_directory itself
    // (which must be owned by the postfix user).
    fs::create_dir_all(&layout.postfix_queue).expect("create Postfix queue_directory");
    let root = layout.root.display();
    let main_cf = format!(
        r#"# Generated by tests/support/mailstack.rs: one private Postfix per test stack.
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {root}/postfix/data
# No syslog on this machine: Postfix logs to a file through postlogd.
maillog_file = {log}
maillog_file_prefixes = {root}
myhostname = mail.example.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = {domains}
virtual_transport = lmtp:inet:127.0.0.1:{lmtp}
smtpd_reject_unlisted_recipient = no
recipient_delimiter = +
relay_domains =
default_transport = error:no outbound mail from the test stack
# Not permit_mynetworks: mail for outside domains would be accepted, then bounced.
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access texthash:{access}, reject_unauth_destination
smtpd_peername_lookup = no
smtpd_error_sleep_time = 0
alias_maps =
alias_database =
biff = no
# Retry quickly if Dovecot was briefly unreachable (defaults are minutes).
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
{tls}"#,
        queue = layout.postfix_queue.display(),
        log = layout.postfix_log.display(),
        domains = TEST_DOMAINS.join(" "),
        lmtp = ports.lmtp,
        access = layout.recipient_access_file().display(),
        tls = match tls {
            Some(tls) => format!(
                "smtpd_tls_cert_file = {}\nsmtpd_tls_key_file = {}\nsmtpd_tls_security_level = may\nsmtpd_tls_loglevel = 1\n",
                tls.cert.display(),
                tls.key.display()
            ),
            None => String::new(),
        },
    );
    write_settled(&layout.postfix_conf_dir.join("main.cf"), &main_cf);
    write_settled(
        &layout.postfix_conf_dir.join("master.cf"),
        &master_cf(ports.smtp, ports.smtps),
    );

    let access: String = rejected
        .iter()
        .map(|r| format!("{r} 550 5.1.1 <{r}>: recipient rejected by the test stack\n"))
        .collect();
    fs::write(layout.recipient_access_file(), access).expect("write recipient_access");
}

/// Writes a Postfix config file dated 10 s in the past. Postfix treats a main.cf modified
/// within the last second as still being edited and re-reads it every 300 ms until it settles,
/// which costs 1.5 s per start.
fn write_settled(path: &Path, contents: &str) {
    fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    let past = std::time::SystemTime::now() - Duration::from_secs(10);
    fs::File::options()
        .write(true)
        .open(path)
        .and_then(|file| file.set_modified(past))
        .unwrap_or_else(|e| panic!("backdate {}: {e}", path.display()));
}

/// Debian's services, without chroot (the queue is not set up as a chroot jail), and one
/// smtpd on our loopback port.
fn master_cf(smtp_port: u16, smtps_port: u16) -> String {
    let wrapper_mode = if smtps_port == 0 {
        String::new()
    } else {
        format!("127.0.0.1:{smtps_port} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes\n")
    };
    format!(
        "127.0.0.1:{smtp_port} inet n - n - - smtpd
{wrapper_mode}pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n - 0 cleanup
qmgr       unix  n - n 300 1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n - - trivial-rewrite
bounce     unix  - - n - 0 bounce
defer      unix  - - n - 0 bounce
trace      unix  - - n - 0 bounce
verify     unix  - - n - 1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n - - proxymap
proxywrite unix  - - n - 1 proxymap
smtp       unix  - - n - - smtp
relay      unix  - - n - - smtp
showq      unix  n - n - - showq
error      unix  - - n - - error
retry      unix  - - n - - error
discard    unix  - - n - - discard
lmtp       unix  - - n - - lmtp
anvil      unix  - - n - 1 anvil
scache     unix  - - n - 1 scache
postlog    unix-dgram n - n - 1 postlogd
"
    )
}

// ----- small process and network helpers -----

/// Finds dovecot and postfix, or fails with the command that installs them.
fn find_binaries() -> Binaries {
    let find = |name: &str| {
        find_in_path(name).unwrap_or_else(|| {
            panic!("`{name}` is not installed; the mail-stack tests need real Dovecot and Postfix. Install them (as root):\n  {INSTALL_HINT}")
        })
    };
    Binaries {
        dovecot: find("dovecot"),
        postfix: find("postfix"),
    }
}

/// Looks in PATH and the sbin folders (often missing from a non-login PATH).
fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin"])
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(name))
        .find(|candidate| candidate.is_file())
}

/// A loopback port nobody listens on now. Ports handed out earlier in this process are never
/// repeated, so stacks started in parallel threads cannot get the same one.
fn free_port() -> u16 {
    static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut guard = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let handed_out = guard.get_or_insert_with(HashSet::new);
    for _ in 0..100 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind a free loopback port")
            .port();
        if handed_out.insert(port) {
            return port;
        }
    }
    panic!("no fresh loopback port after 100 tries");
}

fn unique_instance_name() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "leadbot-test-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Whether a TCP connection to the loopback port completes. Short timeout: a socket that is
/// being closed can leave a SYN unanswered, and that counts as "not accepting".
async fn port_accepts(port: u16) -> bool {
    matches!(
        tokio::time::timeout(
            Duration::from_millis(250),
            TcpStream::connect(("127.0.0.1", port))
        )
        .await,
        Ok(Ok(_))
    )
}

/// Runs a command that leaves a daemon behind. Its output goes to a file, not a pipe: the
/// daemon inherits the pipe, and reading it to the end (`Command::output`) would never return.
fn run_daemonizing(
    command: &mut Command,
    output_file: &Path,
) -> (std::process::ExitStatus, String) {
    let out = fs::File::create(output_file).expect("create command output file");
    let err = out.try_clone().expect("clone command output file");
    let status = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    (status, fs::read_to_string(output_file).unwrap_or_default())
}

fn run_quietly(command: &mut Command) {
    let _ = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn read_pid(pid_file: &Path) -> Option<u32> {
    fs::read_to_string(pid_file).ok()?.trim().parse().ok()
}

/// True while `pid` runs (a zombie, already exited but not reaped, counts as gone).
pub fn is_running(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the ")" that closes the command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Running (non-zombie) processes whose session id is one of `sessions`.
pub fn processes_in_sessions(sessions: &[u32]) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| is_running(*pid))
        .filter(|pid| session_of(*pid).is_some_and(|sid| sessions.contains(&sid)))
        .collect()
}

/// Field 6 of /proc/PID/stat (fields counted after the parenthesised command name).
fn session_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after_name) = stat.rsplit_once(')')?;
    // state ppid pgrp session ...
    after_name.split_whitespace().nth(3)?.parse().ok()
}

fn send_sigterm(pid: u32) {
    run_quietly(Command::new("kill").arg(pid.to_string()));
}

/// Waits (bounded) for `pid` to exit; kills it if it will not.
/// Blocking on purpose: it also runs in Drop.
fn wait_for_exit(pid: u32) {
    let deadline = Instant::now() + STEP_TIMEOUT;
    while is_running(pid) {
        if Instant::now() >= deadline {
            eprintln!("mailstack: pid {pid} ignored SIGTERM for {STEP_TIMEOUT:?}; killing it");
            run_quietly(Command::new("kill").args(["-9", &pid.to_string()]));
            return;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// A shell that waits for this test process to go away (its stdin pipe closes when the process
/// exits, however it exits), then stops the servers and removes the folder. Drop kills it
/// after a normal shutdown. It ignores Ctrl-C and runs in its own session so that it outlives
/// the test process it guards.
fn spawn_watchdog(layout: &Layout) -> Child {
    const SCRIPT: &str = r#"
trap '' INT TERM HUP
read -r _ignored || true
for pid_file in "$1" "$2"; do
  pid=$(cat "$pid_file" 2>/dev/null) && kill $pid 2>/dev/null
done
sleep 2
rm -rf "$3"
"#;
    Command::new("setsid")
        .args(["sh", "-c", SCRIPT, "mailstack-watchdog"])
        .arg(layout.postfix_pid_file())
        .arg(layout.dovecot_pid_file())
        .arg(&layout.root)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the mail stack's watchdog (setsid sh)")
}
