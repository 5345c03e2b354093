//! The delivery worker: sends what the outbox holds over a few lanes at once (one SMTP
//! connection each), each row in its own transaction that holds the row's lock while the
//! message is on the wire.
//!
//! Delivery is at least once: if the server accepted a message but the commit that marks it
//! sent is lost, the row is sent again later. Receivers de-duplicate on Message-ID.
//!
//! Why a crash resends at most one mail per lane: a lane claims its next row only after the
//! commit that marks the previous one sent (or retried, or failed) has returned, so when the
//! process dies each lane has at most one claimed row whose mark is not durable — the one on
//! its connection. Its lock dies with the session and the row, still queued, is sent again.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use sqlx::PgPool;
use tokio::sync::Notify;

use crate::config::Config;
use crate::domain::EmailAddress;
use crate::store::{Doing, StoreError, outbox};
use crate::transport::MailTransport;

/// The display name on everything leadbot sends.
pub const FROM_NAME: &str = "leadbot";
/// `max_attempts` when no `[smtp]` section sets it (file transport).
const DEFAULT_MAX_ATTEMPTS: u32 = 8;
/// One flush sends at most this many rows; the next flush (or tick) continues.
const MAX_PER_FLUSH: usize = 10_000;
const FIRST_RETRY: TimeDelta = TimeDelta::seconds(30);
const LONGEST_RETRY: TimeDelta = TimeDelta::hours(1);
/// Listening for queued mail again after losing the database: the first pause, doubled
/// after each failure up to the longest.
const LISTEN_RETRY_FIRST: Duration = Duration::from_millis(500);
const LISTEN_RETRY_LONGEST: Duration = Duration::from_secs(30);
/// How often a lane that yields looks whether it may go on.
const YIELD_POLL: Duration = Duration::from_millis(20);

/// Says when the outbox should hold back (see [`Courier::yield_to`]).
pub type YieldTo = Arc<dyn Fn() -> bool + Send + Sync>;

/// Everything the worker needs besides the database: where mail goes and who sends it.
#[derive(Clone)]
pub struct Courier {
    pub transport: MailTransport,
    pub from: EmailAddress,
    pub from_name: String,
    pub max_attempts: u32,
    /// How many rows are sent at once, each on its own lane (SMTP connection).
    pub lanes: usize,
    /// While this says true, no lane claims its next row. The daemon has the outbox yield
    /// to the IMAP listener while it reads a backlog: on two cores, sending the leads' mail
    /// through the local MTA at the same time takes the CPU that committing the leads needs.
    /// The mail goes out, on every lane, as soon as the backlog is read.
    pub yield_to: Option<YieldTo>,
}

impl Courier {
    pub fn new(transport: MailTransport, config: &Config) -> Self {
        Self {
            transport,
            from: config.bot.address.clone(),
            from_name: FROM_NAME.into(),
            max_attempts: config
                .smtp
                .as_ref()
                .map_or(DEFAULT_MAX_ATTEMPTS, |smtp| smtp.max_attempts),
            // Files are numbered in send order: one lane keeps that order.
            lanes: config.smtp.as_ref().map_or(1, |smtp| smtp.connections),
            yield_to: None,
        }
    }

    /// Waits while the courier must yield (and nobody asked to stop).
    async fn yield_while(&self, stop: &impl Fn() -> bool) {
        let Some(yielding) = &self.yield_to else {
            return;
        };
        while yielding() && !stop() {
            tokio::time::sleep(YIELD_POLL).await;
        }
    }
}

/// What happened to one claimed row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent {
        id: i64,
    },
    /// A transient failure; the row is due again at `next_at`.
    Retrying {
        id: i64,
        attempts: u32,
        next_at: DateTime<Utc>,
        error: String,
    },
    /// Refused for good, or out of attempts.
    Failed {
        id: i64,
        error: String,
    },
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct FlushReport {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Claims one due row, sends it and records the result. `None` when nothing is due.
pub async fn try_deliver_one(
    pool: &PgPool,
    courier: &Courier,
    now: DateTime<Utc>,
) -> Result<Option<Delivery>, StoreError> {
    let mut tx = pool.begin().await.doing("starting a delivery")?;
    let Some(outbox::ClaimedMail { row, inline }) = outbox::claim_due(&mut tx, now).await? else {
        return Ok(None);
    };
    let id = row.id;
    let attempts = u32::try_from(row.attempts).unwrap_or(0) + 1;
    let outcome = match row.to_mail(inline) {
        Ok(mail) => match mail.to_rfc5322(&courier.from, &courier.from_name) {
            Ok(raw) => courier
                .transport
                .send(&courier.from, &mail.to, &raw)
                .await
                .map_err(|e| (format!("{e:#}"), e.is_permanent())),
            Err(e) => Err((format!("cannot build the message: {e}"), true)),
        },
        Err(e) => Err((e.to_string(), true)),
    };
    let delivery = match outcome {
        Ok(()) => {
            outbox::mark_sent(&mut tx, id, now).await?;
            tracing::debug!(id, "mail accepted by the relay");
            Delivery::Sent { id }
        }
        Err((error, permanent)) if permanent || attempts >= courier.max_attempts => {
            let error = if permanent {
                error
            } else {
                format!("gave up after {attempts} attempts: {error}")
            };
            outbox::mark_failed(&mut tx, id, &error).await?;
            tracing::warn!(id, %error, "mail failed");
            Delivery::Failed { id, error }
        }
        Err((error, _)) => {
            let jitter = rand::thread_rng().gen_range(-1.0..=1.0);
            let next_at = now + retry_delay(attempts, jitter);
            outbox::schedule_retry(&mut tx, id, &error, next_at).await?;
            tracing::info!(id, attempts, %next_at, %error, "mail will be retried");
            Delivery::Retrying {
                id,
                attempts,
                next_at,
                error,
            }
        }
    };
    tx.commit().await.doing("recording a delivery")?;
    Ok(Some(delivery))
}

/// Sends everything due at `now`, until nothing is (rows retried are due later).
pub async fn flush(
    pool: &PgPool,
    courier: &Courier,
    now: DateTime<Utc>,
) -> Result<FlushReport, StoreError> {
    flush_until(pool, courier, now, || false).await
}

/// [`flush`], claiming no further row once `stop()` says so: a stopping daemon finishes
/// the sends in flight and leaves the rest queued.
///
/// `courier.lanes` lanes run at once, each claiming, sending and marking one row at a time
/// (see the module's comment for what a crash can cost). SKIP LOCKED keeps them, and other
/// processes, off each other's rows. While `courier.yield_to` says so, they wait between rows.
pub async fn flush_until(
    pool: &PgPool,
    courier: &Courier,
    now: DateTime<Utc>,
    stop: impl Fn() -> bool,
) -> Result<FlushReport, StoreError> {
    let claims_left = AtomicUsize::new(MAX_PER_FLUSH);
    let lane = async || {
        let mut report = FlushReport::default();
        loop {
            courier.yield_while(&stop).await;
            if stop() || !take_one(&claims_left) {
                break;
            }
            match try_deliver_one(pool, courier, now).await? {
                None => break,
                Some(Delivery::Sent { .. }) => report.sent += 1,
                Some(Delivery::Retrying { .. }) => report.retried += 1,
                Some(Delivery::Failed { .. }) => report.failed += 1,
            }
        }
        Ok::<_, StoreError>(report)
    };
    let lanes = futures::future::join_all((0..courier.lanes.max(1)).map(|_| lane())).await;
    let mut total = FlushReport::default();
    for report in lanes {
        let report = report?;
        total.sent += report.sent;
        total.retried += report.retried;
        total.failed += report.failed;
    }
    Ok(total)
}

/// Takes one claim from the flush's budget; false once it is spent.
fn take_one(claims_left: &AtomicUsize) -> bool {
    claims_left
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
            left.checked_sub(1)
        })
        .is_ok()
}

/// Rings `wake` when a transaction that queued mail commits (the `outbox_queued_notify`
/// trigger), and each time listening (re)starts: notices sent while nobody listened are
/// lost, so a flush must follow. A lost connection is listened to again, with backoff.
/// Runs until its task is dropped. `Notify` keeps one ring for a worker that is busy
/// flushing, so a notice during a flush is never missed.
pub async fn wake_on_queued(pool: PgPool, wake: Arc<Notify>) {
    let mut pause = LISTEN_RETRY_FIRST;
    loop {
        match outbox::listen_for_queued(&pool).await {
            Ok(mut listener) => {
                pause = LISTEN_RETRY_FIRST;
                wake.notify_one();
                // Ok(None): the connection was lost and sqlx listens again on a new one;
                // whatever was queued in between is found by the flush this ring causes.
                let error = loop {
                    match listener.try_recv().await {
                        Ok(_) => wake.notify_one(),
                        Err(error) => break error,
                    }
                };
                tracing::warn!(%error, "outbox: not listening for queued mail; polling meanwhile");
            }
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "outbox: cannot listen for queued mail");
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LISTEN_RETRY_LONGEST);
    }
}

/// How long to wait after the `attempts`-th failure: 30 s doubling each time, at most an
/// hour, spread by ±20 % (`jitter` in -1..=1) so a relay coming back is not hit all at once.
pub fn retry_delay(attempts: u32, jitter: f64) -> TimeDelta {
    let doublings = attempts.saturating_sub(1).min(16);
    let base = (FIRST_RETRY * 2_i32.pow(doublings)).min(LONGEST_RETRY);
    let factor = 1.0 + 0.2 * jitter.clamp(-1.0, 1.0);
    TimeDelta::milliseconds((base.num_milliseconds() as f64 * factor).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        let seconds = |attempts| retry_delay(attempts, 0.0).num_seconds();
        assert_eq!(seconds(1), 30);
        assert_eq!(seconds(2), 60);
        assert_eq!(seconds(3), 120);
        assert_eq!(seconds(8), 3600);
        assert_eq!(seconds(40), 3600);
    }

    #[test]
    fn jitter_spreads_retries_by_a_fifth() {
        assert_eq!(retry_delay(1, -1.0).num_seconds(), 24);
        assert_eq!(retry_delay(1, 1.0).num_seconds(), 36);
        assert_eq!(retry_delay(20, 1.0).num_seconds(), 4320);
    }
}
