//! IMAP: one selected mailbox of one account, seen as raw messages numbered by UID.
//!
//! This module speaks the protocol and nothing else: it connects (plain, STARTTLS or TLS),
//! logs in, selects the mailbox and reports its UIDVALIDITY, lists the UIDs (and sizes) after
//! a given one, fetches messages' bytes without marking them seen, marks them seen or moves
//! them to a folder — several per command, by UID set — and waits with IDLE until the
//! mailbox changes. What the messages mean is the
//! workflow's business.
//!
//! Every step has a time limit, so a server (or a network path) that goes silent becomes an
//! error the caller can recover from by connecting again, never a hang.

use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use async_imap::error::Error as ProtocolError;
use async_imap::extensions::idle::IdleResponse;
use async_imap::types::UnsolicitedResponse;
use async_imap::{Client, Session};
use futures::TryStreamExt as _;
use tokio::net::TcpStream;
use tokio_rustls::rustls;

use crate::config::{ImapConfig, Security};

mod stream;

use stream::{MailStream, tls_handshake};

/// While idling, a server that says nothing for this long is checked by ending IDLE (which
/// needs an answer). Dovecot says "Still here" every 2 minutes, so on a live connection this
/// never fires; on a dead one it turns silence into an error within minutes, not at the
/// next IDLE renewal.
const IDLE_SILENCE_LIMIT: Duration = Duration::from_secs(5 * 60);

/// How often a server without IDLE is asked for new mail.
const POLL_INTERVAL_WITHOUT_IDLE: Duration = Duration::from_secs(30);

/// Leaving (DONE after a stop, LOGOUT) is a courtesy: a server that does not answer
/// quickly must not hold up a shutdown.
const GOODBYE_LIMIT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("cannot connect to the IMAP server at {address}")]
    Connect {
        address: String,
        #[source]
        source: io::Error,
    },
    #[error("`{host}` is not a name a TLS certificate can be checked against")]
    TlsName { host: String },
    #[error("the IMAP server {host} did not start TLS (STARTTLS)")]
    StartTls {
        host: String,
        #[source]
        source: ProtocolError,
    },
    #[error("cannot read the CA certificates for IMAP in {path}: {detail}")]
    CaFile { path: PathBuf, detail: String },
    #[error("cannot set up TLS")]
    TlsSetup {
        #[source]
        source: rustls::Error,
    },
    #[error("TLS handshake with the IMAP server {host} failed")]
    Tls {
        host: String,
        #[source]
        source: io::Error,
    },
    #[error("the IMAP server refused the login of {username}")]
    Login {
        username: String,
        #[source]
        source: ProtocolError,
    },
    #[error("cannot open the IMAP mailbox {mailbox:?}")]
    Select {
        mailbox: String,
        #[source]
        source: ProtocolError,
    },
    #[error(
        "the IMAP server reports no UIDVALIDITY for {mailbox:?}, so its UIDs cannot be trusted \
         from one session to the next"
    )]
    NoUidValidity { mailbox: String },
    #[error("{folder:?} cannot be used as an IMAP folder name (line breaks are not allowed)")]
    FolderName { folder: String },
    #[error("IMAP error while {doing}")]
    Command {
        doing: &'static str,
        #[source]
        source: ProtocolError,
    },
    #[error("the IMAP server did not answer within {after:?} while {doing}")]
    TimedOut {
        doing: &'static str,
        after: Duration,
    },
}

impl ImapError {
    /// Worth connecting again later. False for what only a change of configuration (or of
    /// the server's) can fix: a refused login, a missing mailbox, a refused certificate.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect { .. } | Self::Command { .. } | Self::TimedOut { .. } => true,
            // rustls reports a refused certificate (or protocol) as InvalidData.
            Self::Tls { source, .. } => source.kind() != io::ErrorKind::InvalidData,
            Self::StartTls { source, .. }
            | Self::Login { source, .. }
            | Self::Select { source, .. } => !refused_for_good(source),
            Self::TlsName { .. }
            | Self::CaFile { .. }
            | Self::TlsSetup { .. }
            | Self::NoUidValidity { .. }
            | Self::FolderName { .. } => false,
        }
    }
}

/// A NO or BAD answer is final, unless the server says it is temporarily UNAVAILABLE
/// (RFC 5530), as Dovecot does when its authentication backend is down.
fn refused_for_good(error: &ProtocolError) -> bool {
    match error {
        ProtocolError::No(text) | ProtocolError::Bad(text) => {
            !text.to_ascii_uppercase().contains("UNAVAILABLE")
        }
        _ => false,
    }
}

/// Why `wait_for_change` returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wakeup<S> {
    /// The server reported a change (usually EXISTS: new mail).
    MailboxChanged,
    /// The longest wait passed (IDLE must be renewed), or the line was checked after a long
    /// silence: look for new mail, then wait again.
    Renew,
    /// The caller's stop future finished first; it carries that future's output.
    Stopped(S),
}

/// What the server can do beyond IMAP4rev1, from its CAPABILITY answer after login.
#[derive(Debug, Clone, Copy, Default)]
struct Capabilities {
    idle: bool,
    move_command: bool,
    uidplus: bool,
}

/// A message in the mailbox, as listed before its body is fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub uid: u32,
    /// Its size in bytes (RFC822.SIZE), to keep a batch of fetched messages small.
    pub size: u32,
}

/// A logged-in session with one mailbox selected (read-write).
pub struct ImapMailbox {
    session: Session<MailStream>,
    mailbox: String,
    uid_validity: u32,
    capabilities: Capabilities,
    step_timeout: Duration,
    /// Folders already found or created in this session.
    known_folders: HashSet<String>,
    /// The server announced new messages (EXISTS) alongside an answer to another command.
    new_mail_reported: bool,
}

impl fmt::Debug for ImapMailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapMailbox")
            .field("mailbox", &self.mailbox)
            .field("uid_validity", &self.uid_validity)
            .field("capabilities", &self.capabilities)
            .finish_non_exhaustive()
    }
}

impl ImapMailbox {
    /// Connects, secures the connection as configured, logs in and selects
    /// `config.mailbox`. Each step may take up to `step_timeout`.
    pub async fn connect(config: &ImapConfig, step_timeout: Duration) -> Result<Self, ImapError> {
        let address = format!("{}:{}", config.host, config.port);
        let tcp = within(
            step_timeout,
            "connecting",
            TcpStream::connect((config.host.as_str(), config.port)),
        )
        .await?
        .map_err(|source| ImapError::Connect {
            address: address.clone(),
            source,
        })?;
        // IMAP is a conversation of short lines; don't let Nagle hold them back.
        let _ = tcp.set_nodelay(true);

        let stream = match config.security {
            Security::Tls => tls_handshake(tcp, config, step_timeout).await?,
            Security::None | Security::StartTls => MailStream::Plain(tcp),
        };
        let mut client = Client::new(stream);
        let greeting = step(step_timeout, "reading the server greeting", async {
            client.read_response().await.map_err(ProtocolError::from)
        })
        .await?;
        if greeting.is_none() {
            return Err(ImapError::Command {
                doing: "reading the server greeting",
                source: ProtocolError::ConnectionLost,
            });
        }
        if config.security == Security::StartTls {
            within(
                step_timeout,
                "asking for STARTTLS",
                client.run_command_and_check_ok("STARTTLS", None),
            )
            .await?
            .map_err(|source| ImapError::StartTls {
                host: config.host.clone(),
                source,
            })?;
            // Whatever the server sent before the handshake is dropped with the old
            // client, as RFC 3501 asks (no greeting follows STARTTLS).
            let stream = match client.into_inner() {
                MailStream::Plain(tcp) => tls_handshake(tcp, config, step_timeout).await?,
                secured => secured,
            };
            client = Client::new(stream);
        }

        let login = async {
            client
                .login(&config.username, config.password.expose())
                .await
                .map_err(|(source, _client)| source)
        };
        let mut session = within(step_timeout, "logging in", login)
            .await?
            .map_err(|source| ImapError::Login {
                username: config.username.clone(),
                source,
            })?;

        let capabilities = step(
            step_timeout,
            "asking for capabilities",
            session.capabilities(),
        )
        .await?;
        let capabilities = Capabilities {
            idle: capabilities.has_str("IDLE"),
            move_command: capabilities.has_str("MOVE"),
            uidplus: capabilities.has_str("UIDPLUS"),
        };

        let selected = within(
            step_timeout,
            "selecting the mailbox",
            session.select(&config.mailbox),
        )
        .await?
        .map_err(|source| ImapError::Select {
            mailbox: config.mailbox.clone(),
            source,
        })?;
        let uid_validity = selected
            .uid_validity
            .ok_or_else(|| ImapError::NoUidValidity {
                mailbox: config.mailbox.clone(),
            })?;

        let mut mailbox = Self {
            session,
            mailbox: config.mailbox.clone(),
            uid_validity,
            capabilities,
            step_timeout,
            known_folders: HashSet::new(),
            new_mail_reported: false,
        };
        mailbox.note_unsolicited();
        Ok(mailbox)
    }

    /// The selected mailbox's name.
    pub fn name(&self) -> &str {
        &self.mailbox
    }

    /// UIDs are only meaningful together with this number: when it changes, the server has
    /// renumbered the mailbox and every stored UID is void.
    pub fn uid_validity(&self) -> u32 {
        self.uid_validity
    }

    /// The server waits for mail with IDLE (else `wait_for_change` polls).
    pub fn supports_idle(&self) -> bool {
        self.capabilities.idle
    }

    /// The messages after `last_uid`, ascending by UID, each with its size: listed without
    /// their bodies, so that the caller can fetch them in batches of bounded size.
    pub async fn waiting_after(&mut self, last_uid: u32) -> Result<Vec<Waiting>, ImapError> {
        let Some(first) = last_uid.checked_add(1) else {
            return Ok(Vec::new());
        };
        let session = &mut self.session;
        let listed = step(self.step_timeout, "listing new messages", async move {
            let answers = session
                .uid_fetch(format!("{first}:*"), "(UID RFC822.SIZE)")
                .await?;
            answers.try_collect::<Vec<_>>().await
        })
        .await?;
        self.note_unsolicited();
        // `N:*` always includes the newest message, even when its UID is below N.
        let mut waiting: Vec<Waiting> = listed
            .iter()
            .filter_map(|answer| {
                let uid = answer.uid.filter(|uid| *uid > last_uid)?;
                Some(Waiting {
                    uid,
                    size: answer.size.unwrap_or(0),
                })
            })
            .collect();
        waiting.sort_unstable_by_key(|message| message.uid);
        waiting.dedup_by_key(|message| message.uid);
        Ok(waiting)
    }

    /// The raw bytes of the messages `uids` (ascending), fetched in one command without
    /// setting \Seen, in UID order. A message expunged by another client since it was listed
    /// is missing from the answer.
    pub async fn fetch(&mut self, uids: &[u32]) -> Result<Vec<(u32, Vec<u8>)>, ImapError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let session = &mut self.session;
        let set = uid_set(uids);
        let fetched = step(self.step_timeout, "fetching messages", async move {
            let answers = session.uid_fetch(set, "(UID BODY.PEEK[])").await?;
            answers.try_collect::<Vec<_>>().await
        })
        .await?;
        self.note_unsolicited();
        // Other messages' flag changes may come along; keep only the ones asked for.
        let mut messages: Vec<(u32, Vec<u8>)> = fetched
            .iter()
            .filter_map(|answer| {
                let uid = answer.uid.filter(|uid| uids.binary_search(uid).is_ok())?;
                Some((uid, answer.body()?.to_vec()))
            })
            .collect();
        messages.sort_unstable_by_key(|(uid, _)| *uid);
        messages.dedup_by_key(|(uid, _)| *uid);
        Ok(messages)
    }

    /// Sets \Seen on the messages `uids`: done with them.
    pub async fn mark_seen(&mut self, uids: &[u32]) -> Result<(), ImapError> {
        self.add_flag(uids, "\\Seen", "marking messages seen").await
    }

    /// Moves the messages `uids` into `folder`, creating the folder if it does not exist.
    /// Servers without MOVE get COPY, \Deleted and EXPUNGE (UID EXPUNGE of just these
    /// messages when they have UIDPLUS).
    pub async fn move_to_folder(&mut self, uids: &[u32], folder: &str) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        self.ensure_folder(folder).await?;
        let timeout = self.step_timeout;
        let set = uid_set(uids);
        if self.capabilities.move_command {
            step(
                timeout,
                "moving messages",
                self.session.uid_mv(&set, folder),
            )
            .await?;
        } else {
            step(
                timeout,
                "copying messages",
                self.session.uid_copy(&set, folder),
            )
            .await?;
            self.add_flag(uids, "\\Deleted", "marking copied messages deleted")
                .await?;
            let (session, uidplus) = (&mut self.session, self.capabilities.uidplus);
            step(timeout, "expunging copied messages", async move {
                if uidplus {
                    let gone = session.uid_expunge(set).await?;
                    gone.try_collect::<Vec<_>>().await.map(|_| ())
                } else {
                    let gone = session.expunge().await?;
                    gone.try_collect::<Vec<_>>().await.map(|_| ())
                }
            })
            .await?;
        }
        self.note_unsolicited();
        Ok(())
    }

    /// True once after the server announced new messages (EXISTS) alongside the answer to
    /// some other command. A server announces each new message once: if it did so while we
    /// were busy, IDLE will not tell us again, so look before idling.
    pub fn take_new_mail_report(&mut self) -> bool {
        self.note_unsolicited();
        std::mem::take(&mut self.new_mail_reported)
    }

    /// Waits until the mailbox changes, `longest` passes, or `stop` finishes — whichever
    /// comes first — then leaves IDLE so that commands can be sent again. `longest` should
    /// stay below 29 minutes (RFC 2177: servers may drop a client idle for 30).
    pub async fn wait_for_change<S>(
        self,
        longest: Duration,
        stop: impl Future<Output = S>,
    ) -> Result<(Self, Wakeup<S>), ImapError> {
        if !self.capabilities.idle {
            let wakeup = tokio::select! {
                biased;
                stopped = stop => Wakeup::Stopped(stopped),
                () = tokio::time::sleep(longest.min(POLL_INTERVAL_WITHOUT_IDLE)) => Wakeup::Renew,
            };
            return Ok((self, wakeup));
        }
        let Self {
            session,
            mailbox,
            uid_validity,
            capabilities,
            step_timeout,
            known_folders,
            new_mail_reported,
        } = self;
        let mut idle = session.idle();
        step(step_timeout, "starting IDLE", idle.init()).await?;
        let (wait, interrupt) = idle.wait_with_timeout(longest.min(IDLE_SILENCE_LIMIT));
        let wakeup = tokio::select! {
            biased;
            stopped = stop => Wakeup::Stopped(stopped),
            answer = tokio::time::timeout(longest, wait) => match answer {
                Err(_our_time_is_up) => Wakeup::Renew,
                Ok(Ok(IdleResponse::NewData(_))) => Wakeup::MailboxChanged,
                Ok(Ok(IdleResponse::Timeout)) => Wakeup::Renew,
                // We never interrupt it: the server closed the connection.
                Ok(Ok(IdleResponse::ManualInterrupt)) => {
                    return Err(ImapError::Command {
                        doing: "waiting in IDLE",
                        source: ProtocolError::ConnectionLost,
                    });
                }
                Ok(Err(source)) => {
                    return Err(ImapError::Command { doing: "waiting in IDLE", source });
                }
            },
        };
        // Dropping the interrupt ends the wait; it had to live until the wait was over.
        drop(interrupt);
        let done_limit = match wakeup {
            Wakeup::Stopped(_) => step_timeout.min(GOODBYE_LIMIT),
            Wakeup::MailboxChanged | Wakeup::Renew => step_timeout,
        };
        let session = step(done_limit, "ending IDLE", idle.done()).await?;
        let mut mailbox = Self {
            session,
            mailbox,
            uid_validity,
            capabilities,
            step_timeout,
            known_folders,
            new_mail_reported,
        };
        mailbox.note_unsolicited();
        Ok((mailbox, wakeup))
    }

    /// Says goodbye to the server (best effort: the connection closes either way).
    pub async fn logout(mut self) -> Result<(), ImapError> {
        let limit = self.step_timeout.min(GOODBYE_LIMIT);
        step(limit, "logging out", self.session.logout()).await
    }

    async fn add_flag(
        &mut self,
        uids: &[u32],
        flag: &str,
        doing: &'static str,
    ) -> Result<(), ImapError> {
        let session = &mut self.session;
        let change = format!("+FLAGS.SILENT ({flag})");
        let set = uid_set(uids);
        step(self.step_timeout, doing, async move {
            // The answers must be read to the end, or the next command would read them.
            let answers = session.uid_store(set, &change).await?;
            answers.try_collect::<Vec<_>>().await.map(|_| ())
        })
        .await?;
        self.note_unsolicited();
        Ok(())
    }

    async fn ensure_folder(&mut self, folder: &str) -> Result<(), ImapError> {
        if self.known_folders.contains(folder) {
            return Ok(());
        }
        let pattern = quoted(folder)?;
        let session = &mut self.session;
        let listed = step(self.step_timeout, "looking for a folder", async {
            let names = session.list(Some(""), Some(&pattern)).await?;
            names.try_collect::<Vec<_>>().await
        })
        .await?;
        if !listed.iter().any(|name| name.name() == folder) {
            step(
                self.step_timeout,
                "creating a folder",
                self.session.create(folder),
            )
            .await?;
            tracing::info!(folder, "created the IMAP folder");
        }
        self.note_unsolicited();
        self.known_folders.insert(folder.to_string());
        Ok(())
    }

    /// Reads what the server said on the side (EXISTS, EXPUNGE, ...). The channel holding it
    /// is bounded and drops what does not fit, so it is emptied after every command.
    fn note_unsolicited(&mut self) {
        while let Ok(response) = self.session.unsolicited_responses.try_recv() {
            if matches!(
                response,
                UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
            ) {
                self.new_mail_reported = true;
            }
        }
    }
}

/// `uids` (ascending) as an IMAP sequence set, runs of consecutive UIDs as ranges:
/// `1:3,7,9:10`. Only UIDs in `uids` are covered, never one between them.
fn uid_set(uids: &[u32]) -> String {
    let mut set = String::new();
    let mut rest = uids.iter().copied().peekable();
    while let Some(first) = rest.next() {
        let mut last = first;
        while let Some(next) = rest.next_if(|&uid| last.checked_add(1) == Some(uid)) {
            last = next;
        }
        if !set.is_empty() {
            set.push(',');
        }
        // Writing to a String cannot fail.
        let _ = if first == last {
            write!(set, "{first}")
        } else {
            write!(set, "{first}:{last}")
        };
    }
    set
}

/// `folder` as an IMAP quoted string (LIST takes its pattern verbatim).
fn quoted(folder: &str) -> Result<String, ImapError> {
    if folder.contains(['\r', '\n']) {
        return Err(ImapError::FolderName {
            folder: folder.to_string(),
        });
    }
    Ok(format!(
        "\"{}\"",
        folder.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

/// Runs one protocol step with a time limit.
async fn step<T>(
    limit: Duration,
    doing: &'static str,
    work: impl Future<Output = Result<T, ProtocolError>>,
) -> Result<T, ImapError> {
    within(limit, doing, work)
        .await?
        .map_err(|source| ImapError::Command { doing, source })
}

async fn within<T>(
    limit: Duration,
    doing: &'static str,
    work: impl Future<Output = T>,
) -> Result<T, ImapError> {
    tokio::time::timeout(limit, work)
        .await
        .map_err(|_| ImapError::TimedOut {
            doing,
            after: limit,
        })
}

/// For `leadbot check`: connect with the configured security, log in, open the mailbox,
/// log out.
pub async fn check(config: &ImapConfig) -> Result<(), ImapError> {
    let mailbox = ImapMailbox::connect(config, Duration::from_secs(15)).await?;
    mailbox.logout().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_cover_exactly_the_uids_given() {
        assert_eq!(uid_set(&[7]), "7");
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[4, 6, 8]), "4,6,8");
        assert_eq!(uid_set(&[u32::MAX - 1, u32::MAX]), "4294967294:4294967295");
        assert_eq!(uid_set(&[]), "");
    }

    #[test]
    fn folder_names_are_quoted_for_list() {
        assert_eq!(quoted("Quarantine").unwrap(), "\"Quarantine\"");
        assert_eq!(quoted("a \"b\" \\c").unwrap(), "\"a \\\"b\\\" \\\\c\"");
        assert!(matches!(
            quoted("evil\r\nA1 DELETE INBOX"),
            Err(ImapError::FolderName { .. })
        ));
    }

    #[test]
    fn refusals_are_final_unless_the_server_is_unavailable() {
        let refused = ImapError::Login {
            username: "bot".into(),
            source: ProtocolError::No("code: None, info: Some(\"Authentication failed.\")".into()),
        };
        assert!(!refused.is_transient());
        let unavailable = ImapError::Login {
            username: "bot".into(),
            source: ProtocolError::No(
                "code: None, info: Some(\"[UNAVAILABLE] Temporary authentication failure.\")"
                    .into(),
            ),
        };
        assert!(unavailable.is_transient());
        let dropped = ImapError::Command {
            doing: "fetching a message",
            source: ProtocolError::ConnectionLost,
        };
        assert!(dropped.is_transient());
        let bad_certificate = ImapError::Tls {
            host: "mail.test".into(),
            source: io::Error::new(io::ErrorKind::InvalidData, "invalid peer certificate"),
        };
        assert!(!bad_certificate.is_transient());
    }
}
