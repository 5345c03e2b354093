//! `leadbot run` as a child process, configured through the environment like a systemd
//! unit would, stopped (SIGTERM) or killed (SIGKILL) by the test, never left behind.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::MailStack;
use super::db::TestDb;

pub const BOT: &str = "leads@leads.example.test";
pub const BOT_PASSWORD: &str = "bot-password";

pub struct Daemon {
    child: Option<Child>,
    pub http_port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The environment of a daemon wired to `db` and `stack` (IMAP and SMTP without TLS).
pub fn environment(db: &TestDb, stack: &MailStack, http_port: u16) -> Vec<(String, String)> {
    let mut env = db.env();
    for (key, value) in [
        ("LEADBOT_IMAP_HOST", "127.0.0.1".to_string()),
        ("LEADBOT_IMAP_PORT", stack.imap_port().to_string()),
        ("LEADBOT_IMAP_SECURITY", "none".into()),
        ("LEADBOT_IMAP_USERNAME", BOT.into()),
        ("LEADBOT_IMAP_PASSWORD", BOT_PASSWORD.into()),
        ("LEADBOT_SMTP_HOST", "127.0.0.1".into()),
        ("LEADBOT_SMTP_PORT", stack.smtp_port().to_string()),
        ("LEADBOT_SMTP_SECURITY", "none".into()),
        ("LEADBOT_HTTP_LISTEN", format!("127.0.0.1:{http_port}")),
        ("LEADBOT_SCHEDULE_TICK_INTERVAL", "1s".into()),
    ] {
        env.push((key.into(), value));
    }
    env
}

impl Daemon {
    pub async fn start(db: &TestDb, stack: &MailStack) -> Self {
        let http_port = free_port();
        let env = environment(db, stack, http_port);
        let child = Command::new(env!("CARGO_BIN_EXE_leadbot"))
            .arg("run")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LEADBOT_LOG", "info")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start leadbot run");
        let daemon = Self {
            child: Some(child),
            http_port,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while daemon.get("/healthz").await.is_none() {
            assert!(
                Instant::now() < deadline,
                "leadbot run did not answer /healthz"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        daemon
    }

    /// `GET path` → (status, body), or `None` when nothing listens.
    pub async fn get(&self, path: &str) -> Option<(u16, String)> {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.http_port))
            .await
            .ok()?;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut response = String::new();
        tokio::time::timeout(
            Duration::from_secs(10),
            stream.read_to_string(&mut response),
        )
        .await
        .ok()?
        .ok()?;
        let status = response.split_whitespace().nth(1)?.parse().ok()?;
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())?;
        Some((status, body))
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// SIGTERM, then the exit code once it has finished its work in flight.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("leadbot run did not stop within 20 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: a crash, no chance to clean up.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}
