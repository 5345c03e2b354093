//! A loopback relay between leadbot and Postfix that notes the instant Postfix accepts each
//! mail (its `250 … queued as` after the data) and for whom. leadbot's own records say when
//! a flush began, not when the server answered; this sees the answer as leadbot does.
//! Copying bytes on loopback adds microseconds, not the milliseconds being measured.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

/// One mail Postfix accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub recipients: Vec<String>,
    /// The message's size as sent (its data lines, with their line ends).
    pub bytes: usize,
    pub at: SystemTime,
}

pub struct SmtpWatch {
    port: u16,
    accepted: Arc<Mutex<Vec<Accepted>>>,
}

impl SmtpWatch {
    /// Listens on a free loopback port and relays each connection to `postfix_port`.
    pub async fn start(postfix_port: u16) -> SmtpWatch {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SMTP watch");
        let port = listener.local_addr().expect("SMTP watch address").port();
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&accepted);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(("127.0.0.1", postfix_port)).await {
                        relay(client, server, log).await;
                    }
                });
            }
        });
        SmtpWatch { port, accepted }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// When Postfix accepted the first mail for `recipient` after `since`, if it has.
    pub fn accepted_for(&self, recipient: &str, since: SystemTime) -> Option<SystemTime> {
        self.first_for(recipient, since, |mail| mail.at)
    }

    /// When Postfix last accepted a mail through the watch.
    pub fn last_accepted(&self) -> Option<SystemTime> {
        let accepted = self.accepted.lock().unwrap_or_else(|e| e.into_inner());
        accepted.last().map(|mail| mail.at)
    }

    /// The size of the first mail for `recipient` accepted after `since`, in bytes.
    pub fn bytes_for(&self, recipient: &str, since: SystemTime) -> Option<usize> {
        self.first_for(recipient, since, |mail| mail.bytes)
    }

    /// `what` of the first mail for `recipient` that Postfix accepted after `since`.
    fn first_for<T>(
        &self,
        recipient: &str,
        since: SystemTime,
        what: impl FnOnce(&Accepted) -> T,
    ) -> Option<T> {
        let accepted = self.accepted.lock().unwrap_or_else(|e| e.into_inner());
        accepted
            .iter()
            .filter(|mail| mail.at >= since)
            .find(|mail| {
                mail.recipients
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(recipient))
            })
            .map(what)
    }
}

/// What the client side said in the transaction under way.
#[derive(Debug, Default)]
struct Transaction {
    recipients: Vec<String>,
    /// Between `DATA` and the lone `.` that ends it.
    in_data: bool,
    bytes: usize,
}

impl Transaction {
    /// Follows one line the client sent.
    fn client_line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if self.in_data {
            if line == b"." {
                self.in_data = false;
            } else {
                self.bytes += line.len() + 2;
            }
        } else if line.eq_ignore_ascii_case(b"DATA") {
            self.in_data = true;
        } else if let Some(recipient) = rcpt_to(line) {
            self.recipients.push(recipient);
        }
    }
}

async fn relay(client: TcpStream, server: TcpStream, log: Arc<Mutex<Vec<Accepted>>>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let transaction = Arc::new(Mutex::new(Transaction::default()));
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let upstream = {
        let transaction = Arc::clone(&transaction);
        copy_lines(client_read, server_write, move |line| {
            let mut transaction = transaction.lock().unwrap_or_else(|e| e.into_inner());
            transaction.client_line(line);
        })
    };
    let downstream = copy_lines(server_read, client_write, move |line| {
        if is_queued_reply(line) {
            let at = SystemTime::now();
            let mut transaction = transaction.lock().unwrap_or_else(|e| e.into_inner());
            let done = std::mem::take(&mut *transaction);
            log.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Accepted {
                    recipients: done.recipients,
                    bytes: done.bytes,
                    at,
                });
        }
    });
    let _ = tokio::join!(upstream, downstream);
}

/// Copies everything from `from` to `to`, calling `on_line` on each complete line first seen.
async fn copy_lines(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut on_line: impl FnMut(&[u8]),
) {
    let mut buffer = vec![0_u8; 64 * 1024];
    let mut partial: Vec<u8> = Vec::new();
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        let chunk = &buffer[..read];
        // Note the instant before passing the bytes on: the reader sees them after us.
        partial.extend_from_slice(chunk);
        while let Some(end) = partial.iter().position(|&b| b == b'\n') {
            on_line(&partial[..end]);
            partial.drain(..=end);
        }
        // A long body line without an end is nothing we look for: keep the tail short.
        if partial.len() > 4096 {
            partial.drain(..partial.len() - 512);
        }
        if to.write_all(chunk).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// The address of an `RCPT TO:<addr>` command line.
fn rcpt_to(line: &[u8]) -> Option<String> {
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let head = line.get(..8)?;
    if !head.eq_ignore_ascii_case("RCPT TO:") {
        return None;
    }
    let rest = line[8..].trim_start();
    let address = rest.strip_prefix('<')?.split('>').next()?;
    Some(address.to_owned())
}

/// Postfix's answer to the end of the data: `250 2.0.0 Ok: queued as ID`.
fn is_queued_reply(line: &[u8]) -> bool {
    line.starts_with(b"250 ") && line.windows(9).any(|w| w == b"queued as")
}
