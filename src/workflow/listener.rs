//! The IMAP listener: turns the bot's mailbox into ingested messages, in UID order, and
//! never loses one.
//!
//! The rules it keeps:
//! - One listener per mailbox across all processes: it listens only while holding the
//!   PostgreSQL advisory lock `hashtext('imap:' || mailbox)` on a dedicated connection.
//!   Others stand by and take over within seconds of the holder going away (a dead
//!   process's connection closes, and PostgreSQL releases its lock).
//! - The checkpoint (UIDVALIDITY, last UID) lives in PostgreSQL. After every (re)connect the
//!   listener reads it and fetches every UID after it, so mail that arrived while nobody
//!   listened is caught up. A new UIDVALIDITY voids the stored UIDs: the whole mailbox is
//!   read again, and ingest recognizes what it already recorded.
//! - Whatever is waiting is handled in batches (up to `BATCH_MESSAGES` messages and about
//!   `BATCH_BYTES`): one FETCH, one transaction (`ingest_batch`), one STORE, one
//!   checkpoint. A message that arrives alone is a batch of one, handled at once. While
//!   more than one batch is waiting, the listener says it is catching up
//!   ([`ListenerStats::is_catching_up`]): the daemon's outbox holds back meanwhile.
//! - A message is marked done on the server only after its transaction committed: first it
//!   gets \Seen — or, if ingest quarantined it, it moves to the quarantine folder — then
//!   the checkpoint advances. A crash in between costs a repeated, harmless ingest (a
//!   duplicate), never a lost message nor one left unflagged behind the checkpoint.
//! - Between catch-ups it waits with IDLE, renewed before the 29-minute limit of RFC 2177.
//! - Any I/O error or database error ends the session; the listener connects again after a
//!   capped exponential backoff with jitter. Only what no retry can fix (a refused login, a
//!   missing mailbox, a refused certificate) ends it with an error.
//! - A shutdown signal is honoured between batches: the one in flight is finished.

use std::error::Error as StdError;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use rand::Rng as _;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::config::{Config, ImapConfig};
use crate::store::checkpoints::{self, Checkpoint};
use crate::store::inbound::{self, Outcome};
use crate::store::locks::LockConnection;
use crate::store::{Doing, StoreError};
use crate::transport::imap::{ImapError, ImapMailbox, Waiting, Wakeup};
use crate::workflow::ingest::{Handled, IngestError, Report, ingest_batch};

mod held_lock;
use held_lock::HeldLock;

/// At most this many messages share one FETCH and one transaction: enough that a backlog's
/// commits, IMAP round trips and per-batch statements cost little per message (2,000 RFIs:
/// 650–840 msg/s in batches of 50, 1,040–1,100 in batches of 200), few enough that a batch
/// holds its locks for a fraction of a second and a shutdown waits for little.
const BATCH_MESSAGES: usize = 200;

/// A batch stops growing at about this many bytes (a larger message goes alone), so that a
/// backlog of big messages keeps memory small.
const BATCH_BYTES: u64 = 4 * 1024 * 1024;

/// Timing knobs; the defaults suit production, tests shorten them.
#[derive(Debug, Clone)]
pub struct ListenerOptions {
    /// The longest single IDLE before it is ended and issued again (RFC 2177: servers may
    /// log out a client idle for 30 minutes).
    pub idle_renewal: Duration,
    /// The first wait before connecting again after an error; it doubles up to `reconnect_max`.
    pub reconnect_first: Duration,
    pub reconnect_max: Duration,
    /// How often a listener on standby tries to take the mailbox's lock.
    pub standby_retry: Duration,
    /// How often the held lock's connection is checked; a dead one means the lock is gone.
    pub lock_check: Duration,
    /// The longest any single IMAP step (connect, login, fetch, ...) may take.
    pub imap_step_timeout: Duration,
}

impl Default for ListenerOptions {
    fn default() -> Self {
        Self {
            idle_renewal: Duration::from_secs(25 * 60),
            reconnect_first: Duration::from_secs(1),
            reconnect_max: Duration::from_secs(60),
            standby_retry: Duration::from_secs(3),
            lock_check: Duration::from_secs(5),
            imap_step_timeout: Duration::from_secs(60),
        }
    }
}

/// Counters the daemon can show (health, metrics). Shared with the running listener.
#[derive(Debug, Default)]
pub struct ListenerStats {
    reconnects: AtomicU64,
    ingested: AtomicU64,
    duplicates: AtomicU64,
    quarantined: AtomicU64,
    idle_wakeups: AtomicU64,
    locks_taken: AtomicU64,
    holds_lock: AtomicBool,
    waiting_for_mail: AtomicBool,
    /// Reading a backlog: more than one batch was waiting.
    catching_up: AtomicBool,
    /// Time from fetched to committed, per message.
    pub ingest_latency: crate::telemetry::LatencyHistogram,
    /// Why the listener gave up for good (a configuration problem), for health checks.
    stopped: std::sync::Mutex<Option<String>>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ListenerStatsSnapshot {
    /// Sessions that ended in an error and were started again after a backoff.
    pub reconnects: u64,
    /// Messages newly recorded by ingest (quarantined ones included).
    pub ingested: u64,
    /// Messages ingest had already recorded (a resync, or a crash before \Seen).
    pub duplicates: u64,
    /// Messages moved to the quarantine folder.
    pub quarantined: u64,
    /// Times IDLE reported a change in the mailbox.
    pub idle_wakeups: u64,
    /// Times this listener took the mailbox's lock (more than once: it lost it meanwhile).
    pub locks_taken: u64,
    /// This listener holds the mailbox's lock (it is the active one, not on standby).
    pub holds_lock: bool,
    /// Caught up and waiting for new mail (in IDLE, or between polls without it).
    pub waiting_for_mail: bool,
}

impl ListenerStats {
    pub fn snapshot(&self) -> ListenerStatsSnapshot {
        ListenerStatsSnapshot {
            reconnects: self.reconnects.load(Ordering::Relaxed),
            ingested: self.ingested.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            quarantined: self.quarantined.load(Ordering::Relaxed),
            idle_wakeups: self.idle_wakeups.load(Ordering::Relaxed),
            locks_taken: self.locks_taken.load(Ordering::Relaxed),
            holds_lock: self.holds_lock.load(Ordering::Relaxed),
            waiting_for_mail: self.waiting_for_mail.load(Ordering::Relaxed),
        }
    }

    /// Reading a backlog (more than one batch was waiting when it last looked): what the
    /// outbox yields to.
    pub fn is_catching_up(&self) -> bool {
        self.catching_up.load(Ordering::Relaxed)
    }

    /// Records that the listener ended for good, and why.
    pub fn record_stop(&self, reason: String) {
        if let Ok(mut stopped) = self.stopped.lock() {
            *stopped = Some(reason);
        }
    }

    /// Why the listener ended for good, if it did.
    pub fn stopped_because(&self) -> Option<String> {
        self.stopped.lock().ok().and_then(|stopped| stopped.clone())
    }

    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    #[error("no [imap] section in the configuration: the listener has no mailbox to watch")]
    NotConfigured,
    #[error("IMAP listener for mailbox {mailbox:?}")]
    Imap {
        mailbox: String,
        #[source]
        source: ImapError,
    },
    #[error("IMAP listener for mailbox {mailbox:?}")]
    Store {
        mailbox: String,
        #[source]
        source: StoreError,
    },
    #[error("IMAP listener for mailbox {mailbox:?}")]
    Ingest {
        mailbox: String,
        #[source]
        source: IngestError,
    },
}

impl ListenerError {
    /// Worth trying again later. Database and ingest errors always are: the message that
    /// met one stays unflagged on the server and is fetched again.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::NotConfigured => false,
            Self::Imap { source, .. } => source.is_transient(),
            Self::Store { .. } | Self::Ingest { .. } => true,
        }
    }
}

/// Listens to `config.imap.mailbox` until `shutdown` turns true (or its sender is dropped).
/// Returns an error only for what retrying cannot fix.
pub async fn run_listener(
    pool: PgPool,
    config: Arc<Config>,
    shutdown: watch::Receiver<bool>,
    stats: Arc<ListenerStats>,
) -> Result<(), ListenerError> {
    run_listener_with(pool, config, ListenerOptions::default(), shutdown, stats).await
}

/// [`run_listener`] with explicit timing options.
pub async fn run_listener_with(
    pool: PgPool,
    config: Arc<Config>,
    options: ListenerOptions,
    mut shutdown: watch::Receiver<bool>,
    stats: Arc<ListenerStats>,
) -> Result<(), ListenerError> {
    let imap = config.imap.clone().ok_or(ListenerError::NotConfigured)?;
    let listener = Listener {
        source: format!("imap:{}", imap.mailbox),
        pool,
        config,
        imap,
        options,
        stats,
    };
    listener.run(&mut shutdown).await
}

/// Why listening ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Shutdown,
    /// The advisory lock's connection died: another process may be listening now.
    LockLost,
}

/// What ends one session; whether it ends the listener is `is_transient`'s call.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

impl Failure {
    fn into_listener_error(self, mailbox: &str) -> ListenerError {
        let mailbox = mailbox.to_string();
        match self {
            Self::Imap(source) => ListenerError::Imap { mailbox, source },
            Self::Store(source) => ListenerError::Store { mailbox, source },
            Self::Ingest(source) => ListenerError::Ingest { mailbox, source },
        }
    }
}

struct Listener {
    pool: PgPool,
    config: Arc<Config>,
    imap: ImapConfig,
    options: ListenerOptions,
    stats: Arc<ListenerStats>,
    /// How ingest records where messages came from: `imap:<mailbox>`.
    source: String,
}

impl Listener {
    async fn run(&self, shutdown: &mut watch::Receiver<bool>) -> Result<(), ListenerError> {
        let mailbox = self.imap.mailbox.as_str();
        loop {
            let Some(mut lock) = self.take_lock(shutdown).await else {
                return Ok(());
            };
            tracing::info!(mailbox, "holding the mailbox lock: listening");
            ListenerStats::count(&self.stats.locks_taken);
            self.stats.holds_lock.store(true, Ordering::Relaxed);
            let ended = self.listen_while_locked(&mut lock, shutdown).await;
            self.stats.holds_lock.store(false, Ordering::Relaxed);
            lock.release().await;
            match ended {
                Ok(Ended::Shutdown) => {
                    tracing::info!(mailbox, "IMAP listener stopped");
                    return Ok(());
                }
                Ok(Ended::LockLost) => {
                    tracing::warn!(mailbox, "lost the mailbox lock; standing by");
                }
                Err(failure) => return Err(failure.into_listener_error(mailbox)),
            }
        }
    }

    /// Waits until this process holds the mailbox's lock; `None` if asked to stop first.
    async fn take_lock(&self, shutdown: &mut watch::Receiver<bool>) -> Option<HeldLock> {
        let mailbox = self.imap.mailbox.as_str();
        let lock_name = format!("imap:{mailbox}");
        let mut connection: Option<LockConnection> = None;
        let mut said_standing_by = false;
        loop {
            if stop_is_requested(shutdown) {
                return None;
            }
            let attempt = match connection.take() {
                Some(open) => Ok(open),
                None => {
                    LockConnection::connect(self.config.database_url.expose(), lock_name.clone())
                        .await
                }
            };
            match attempt {
                Ok(mut open) => match open.try_lock().await {
                    Ok(true) => return Some(HeldLock::keep(open, self.options.lock_check)),
                    Ok(false) => {
                        if !said_standing_by {
                            tracing::info!(
                                mailbox,
                                "another process listens to this mailbox; standing by"
                            );
                            said_standing_by = true;
                        }
                        connection = Some(open);
                    }
                    Err(error) => tracing::warn!(
                        mailbox,
                        error = %chain(&error),
                        "cannot take the mailbox lock; trying again"
                    ),
                },
                Err(error) => tracing::warn!(
                    mailbox,
                    error = %chain(&error),
                    "cannot reach PostgreSQL for the mailbox lock; trying again"
                ),
            }
            tokio::select! {
                biased;
                () = stop_requested(shutdown) => return None,
                () = tokio::time::sleep(self.options.standby_retry) => {}
            }
        }
    }

    /// Sessions one after another, with a backoff after each failure, for as long as the
    /// lock is held.
    async fn listen_while_locked(
        &self,
        lock: &mut HeldLock,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Ended, Failure> {
        let mut backoff = Backoff::new(self.options.reconnect_first, self.options.reconnect_max);
        loop {
            let failure = match self.session(lock, shutdown, &mut backoff).await {
                Ok(ended) => return Ok(ended),
                Err(failure) if is_transient(&failure) => failure,
                Err(failure) => return Err(failure),
            };
            let delay = backoff.next_delay();
            ListenerStats::count(&self.stats.reconnects);
            tracing::warn!(
                mailbox = self.imap.mailbox.as_str(),
                error = %chain(&failure),
                retry_in = ?delay,
                "IMAP session interrupted; connecting again"
            );
            tokio::select! {
                biased;
                () = stop_requested(shutdown) => return Ok(Ended::Shutdown),
                () = lock.lost() => return Ok(Ended::LockLost),
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// One IMAP connection: catch up from the checkpoint, then IDLE and catch up on every
    /// change, until stopped or until something fails.
    async fn session(
        &self,
        lock: &mut HeldLock,
        shutdown: &mut watch::Receiver<bool>,
        backoff: &mut Backoff,
    ) -> Result<Ended, Failure> {
        let connecting = ImapMailbox::connect(&self.imap, self.options.imap_step_timeout);
        let mut mailbox = tokio::select! {
            biased;
            () = stop_requested(shutdown) => return Ok(Ended::Shutdown),
            () = lock.lost() => return Ok(Ended::LockLost),
            connected = connecting => connected?,
        };
        let mut place = self.resume_point(mailbox.uid_validity()).await?;
        tracing::info!(
            mailbox = mailbox.name(),
            uid_validity = place.uid_validity,
            last_uid = place.last_uid,
            idle = mailbox.supports_idle(),
            "connected to the IMAP mailbox"
        );
        loop {
            // Catch up: every message after the checkpoint, oldest first. New mail the
            // server mentioned meanwhile is looked for before idling.
            let caught_up = self
                .catch_up(&mut mailbox, &mut place, lock, shutdown)
                .await;
            self.stats.catching_up.store(false, Ordering::Relaxed);
            if let Some(ended) = caught_up? {
                let _ = mailbox.logout().await;
                return Ok(ended);
            }
            // Caught up over a working connection: the next failure starts a fresh backoff.
            backoff.reset();
            let stop = async {
                tokio::select! {
                    biased;
                    () = stop_requested(shutdown) => Ended::Shutdown,
                    () = lock.lost() => Ended::LockLost,
                }
            };
            self.stats.waiting_for_mail.store(true, Ordering::Relaxed);
            let waited = mailbox
                .wait_for_change(self.options.idle_renewal, stop)
                .await;
            self.stats.waiting_for_mail.store(false, Ordering::Relaxed);
            let (idle_over, wakeup) = waited?;
            mailbox = idle_over;
            match wakeup {
                Wakeup::MailboxChanged => ListenerStats::count(&self.stats.idle_wakeups),
                Wakeup::Renew => {}
                Wakeup::Stopped(ended) => {
                    let _ = mailbox.logout().await;
                    return Ok(ended);
                }
            }
        }
    }

    /// Every message after the checkpoint, oldest first, in batches; new mail the server
    /// mentioned meanwhile is looked for before returning. `Some` when asked to stop.
    async fn catch_up(
        &self,
        mailbox: &mut ImapMailbox,
        place: &mut Checkpoint,
        lock: &HeldLock,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<Option<Ended>, Failure> {
        loop {
            let waiting = mailbox.waiting_after(place.last_uid).await?;
            let backlog = batch_len(&waiting, BATCH_MESSAGES, BATCH_BYTES) < waiting.len();
            self.stats.catching_up.store(backlog, Ordering::Relaxed);
            let mut rest = waiting.as_slice();
            while !rest.is_empty() {
                if let Some(ended) = interruption(lock, shutdown) {
                    return Ok(Some(ended));
                }
                let (batch, after) = rest.split_at(batch_len(rest, BATCH_MESSAGES, BATCH_BYTES));
                self.handle(mailbox, batch, place).await?;
                rest = after;
            }
            if !mailbox.take_new_mail_report() {
                return Ok(None);
            }
        }
    }

    /// Where to start in a mailbox with this UIDVALIDITY.
    async fn resume_point(&self, uid_validity: u32) -> Result<Checkpoint, StoreError> {
        let mailbox = self.imap.mailbox.as_str();
        let from_scratch = Checkpoint {
            uid_validity,
            last_uid: 0,
        };
        match checkpoints::read(&self.pool, mailbox).await? {
            Some(saved) if saved.uid_validity == uid_validity => Ok(saved),
            Some(saved) => {
                tracing::warn!(
                    mailbox,
                    old = saved.uid_validity,
                    new = uid_validity,
                    "UIDVALIDITY changed: reading the whole mailbox again \
                     (messages already recorded are recognized and skipped)"
                );
                checkpoints::advance(&self.pool, mailbox, from_scratch).await?;
                Ok(from_scratch)
            }
            None => Ok(from_scratch),
        }
    }

    /// One batch: fetch its messages, ingest them (one transaction), mark them done on the
    /// server, then advance the checkpoint past the batch.
    async fn handle(
        &self,
        mailbox: &mut ImapMailbox,
        batch: &[Waiting],
        place: &mut Checkpoint,
    ) -> Result<(), Failure> {
        let Some(last) = batch.last() else {
            return Ok(());
        };
        let uids: Vec<u32> = batch.iter().map(|message| message.uid).collect();
        let fetching = Instant::now();
        let fetched = mailbox.fetch(&uids).await?;
        let fetch_took = fetching.elapsed();
        if fetched.len() < uids.len() {
            tracing::info!(
                missing = uids.len() - fetched.len(),
                "messages expunged by another client before they were fetched"
            );
        }
        let started = Instant::now();
        let raws: Vec<&[u8]> = fetched.iter().map(|(_, raw)| raw.as_slice()).collect();
        let reports = ingest_batch(&self.pool, &self.config, &self.source, &raws, Utc::now).await?;
        let took = started.elapsed();
        // Committed. Whatever fails from here on, each message is recorded exactly once.
        let mut seen = Vec::with_capacity(reports.len());
        let mut quarantined = Vec::new();
        for ((uid, _), report) in fetched.iter().zip(&reports) {
            self.stats.ingest_latency.observe(took);
            // Counted as soon as it is committed, before the effects on the server that
            // observers wait for (the flag, the checkpoint).
            let counter = match report.handled {
                Handled::Duplicate => &self.stats.duplicates,
                _ => &self.stats.ingested,
            };
            ListenerStats::count(counter);
            if self.belongs_in_quarantine(*uid, report).await? {
                quarantined.push(*uid);
            } else {
                seen.push(*uid);
            }
        }
        // Flag (or move) first, then move the checkpoint: a crash in between leaves the
        // messages after the checkpoint, so they are fetched again, recognised as
        // duplicates and flagged — none stays in the inbox unflagged behind the checkpoint.
        mailbox
            .move_to_folder(&quarantined, &self.imap.quarantine_mailbox)
            .await?;
        for _ in &quarantined {
            ListenerStats::count(&self.stats.quarantined);
        }
        let marking = Instant::now();
        mailbox.mark_seen(&seen).await?;
        let mark_took = marking.elapsed();
        self.advance(place, last.uid).await?;
        tracing::debug!(
            messages = reports.len(),
            fetch_us = fetch_took.as_micros() as u64,
            ingest_us = took.as_micros() as u64,
            mark_us = mark_took.as_micros() as u64,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "batch ingested"
        );
        Ok(())
    }

    /// Whether the message ended in quarantine: now, or when an earlier session recorded it
    /// and stopped short of moving it.
    async fn belongs_in_quarantine(&self, uid: u32, report: &Report) -> Result<bool, StoreError> {
        match (&report.handled, report.duplicate_of) {
            (Handled::Quarantined(reason), _) => {
                tracing::warn!(uid, reason = reason.as_str(), "message quarantined");
                Ok(true)
            }
            (Handled::Duplicate, Some(earlier)) => self.was_quarantined(earlier).await,
            _ => Ok(false),
        }
    }

    async fn advance(&self, place: &mut Checkpoint, uid: u32) -> Result<(), StoreError> {
        let next = Checkpoint {
            uid_validity: place.uid_validity,
            last_uid: uid,
        };
        checkpoints::advance(&self.pool, &self.imap.mailbox, next).await?;
        *place = next;
        Ok(())
    }

    async fn was_quarantined(&self, inbound_id: i64) -> Result<bool, StoreError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .doing("looking up an earlier ingest")?;
        let outcome = inbound::outcome(&mut conn, inbound_id).await?;
        Ok(outcome.as_deref() == Some(Outcome::Quarantined.as_str()))
    }
}

/// How many of the first `waiting` messages make the next batch: at most `max_messages`,
/// and no more than `max_bytes` together — unless the first alone is larger.
fn batch_len(waiting: &[Waiting], max_messages: usize, max_bytes: u64) -> usize {
    let mut bytes = 0u64;
    let mut len = 0;
    for message in waiting.iter().take(max_messages) {
        bytes += u64::from(message.size);
        if len > 0 && bytes > max_bytes {
            break;
        }
        len += 1;
    }
    len
}

fn is_transient(failure: &Failure) -> bool {
    match failure {
        Failure::Imap(error) => error.is_transient(),
        // The message that met it stays unflagged and is fetched again; the database may
        // well be back by then (a failing template is a bug: retried until it is fixed).
        Failure::Store(_) | Failure::Ingest(_) => true,
    }
}

/// A stop that is due now, checked between messages.
fn interruption(lock: &HeldLock, shutdown: &watch::Receiver<bool>) -> Option<Ended> {
    if stop_is_requested(shutdown) {
        Some(Ended::Shutdown)
    } else if lock.is_lost() {
        Some(Ended::LockLost)
    } else {
        None
    }
}

/// True once shutdown is asked for — or nobody can ask any more (the sender is gone).
fn stop_is_requested(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

/// Finishes when shutdown is asked for (or the sender is dropped).
async fn stop_requested(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Capped exponential backoff with jitter: each delay doubles up to the cap, and the wait
/// is drawn from the upper half of it, so that listeners cut off together do not all come
/// back at the same instant.
#[derive(Debug)]
struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            next: first.min(max),
        }
    }

    fn next_delay(&mut self) -> Duration {
        let ceiling = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        rand::thread_rng().gen_range(ceiling / 2..=ceiling)
    }

    fn reset(&mut self) {
        self.next = self.first.min(self.max);
    }
}

/// An error and its causes on one line: "a: b: c".
fn chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_and_resets() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let ceilings = [1, 2, 4, 8, 16, 32, 60, 60];
        for ceiling in ceilings {
            let ceiling = Duration::from_secs(ceiling);
            let delay = backoff.next_delay();
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "{delay:?} not within the upper half of {ceiling:?}"
            );
        }
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_secs(1));
    }

    #[test]
    fn a_batch_is_bounded_by_count_and_bytes_but_never_empty() {
        let waiting = |sizes: &[u32]| -> Vec<Waiting> {
            let uids = 1..;
            uids.zip(sizes)
                .map(|(uid, &size)| Waiting { uid, size })
                .collect()
        };
        assert_eq!(batch_len(&waiting(&[10; 7]), 5, 1_000), 5);
        assert_eq!(batch_len(&waiting(&[10; 3]), 5, 1_000), 3);
        assert_eq!(batch_len(&waiting(&[400, 400, 400]), 5, 1_000), 2);
        assert_eq!(batch_len(&waiting(&[5_000, 10]), 5, 1_000), 1, "alone");
        assert_eq!(batch_len(&waiting(&[10, 5_000]), 5, 1_000), 1);
        assert_eq!(batch_len(&[], 5, 1_000), 0);
    }

    #[test]
    fn database_errors_are_retried_refused_logins_are_not() {
        let database = Failure::Store(StoreError::Query {
            doing: "recording an inbound message",
            source: sqlx::Error::PoolClosed,
        });
        assert!(is_transient(&database));
        let refused = Failure::Imap(ImapError::Login {
            username: "bot".into(),
            source: async_imap::error::Error::No("authentication failed".into()),
        });
        assert!(!is_transient(&refused));
    }

    #[test]
    fn errors_read_with_their_causes() {
        let error = ListenerError::Imap {
            mailbox: "INBOX".into(),
            source: ImapError::TimedOut {
                doing: "logging in",
                after: Duration::from_secs(60),
            },
        };
        assert_eq!(
            chain(&error),
            "IMAP listener for mailbox \"INBOX\": the IMAP server did not answer within 60s \
             while logging in"
        );
    }

    #[tokio::test]
    async fn a_dropped_shutdown_sender_means_stop() {
        let (sender, receiver) = watch::channel(false);
        assert!(!stop_is_requested(&receiver));
        drop(sender);
        assert!(stop_is_requested(&receiver));
    }
}
