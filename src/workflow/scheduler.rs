//! The scheduler: timed rules over leads (expiry, reminders, the end of the customer's
//! contact window) and the daily digests, run once per [`tick`] at a given `now`.
//!
//! Which rule is due for a lead is a pure function of its timestamps, the configuration and
//! `now` ([`due_chores`]). Each rule claims its leads along its own partial index, in
//! chunks, with `FOR UPDATE SKIP LOCKED`; a chunk is one short transaction that decides and
//! renders its leads' work in memory, then sets each rule's marker, appends the events and
//! queues the mail with a few set-based statements. So a rule fires once per lead, even with
//! several schedulers running, and a scheduler that was down catches up once: an overdue
//! lead is expired (not reminded), and of two missed reminders only the final one goes out.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::PgPool;

use super::digest::{self, DigestError};
use super::notify::{self, Addressed, Audience, ContactNotice, Decided};
use crate::config::{BotConfig, Config, ScheduleConfig};
use crate::domain::lifecycle::{self, TransitionError};
use crate::domain::{Action, Actor, EventKind, Lead, LeadEvent, LeadId, LeadState, Outcome};
use crate::mail::templates::{Reminder, RenderError};
use crate::store::schedule::{self as store, Cursor, DueLead, Rule};
use crate::store::{Doing, StoreError, counts, leads, outbox};

/// Leads claimed per transaction: few enough that a reply waiting on one of their locks
/// waits milliseconds, enough that the round trips are shared by many leads.
pub const CHUNK: i64 = 500;
/// A rule stops after this many chunks (1,000,000 leads) per tick; the next tick continues.
const MAX_CHUNKS: usize = 2_000;

/// A lead's clock, as the timed rules read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeadTimes {
    pub state: LeadState,
    pub received_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub hot_until: Option<DateTime<Utc>>,
    pub first_reminder_at: Option<DateTime<Utc>>,
    pub final_reminder_at: Option<DateTime<Utc>>,
    pub hot_closed_at: Option<DateTime<Utc>>,
}

/// What is due for one lead at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Chores {
    pub expire: bool,
    pub remind: Option<Reminder>,
    pub close_hot_window: bool,
}

impl Chores {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The timed rules, for one lead at `now`:
/// - unanswered at `expires_at`: expire it, and nothing else (no late reminders);
/// - unanswered `final_reminder` before expiry: the final reminder, once (it stands in for a
///   first reminder that was never sent);
/// - unanswered `first_reminder` after receipt: the first reminder, once;
/// - open after the customer's contact window: say the window closed, once.
pub fn due_chores(lead: &LeadTimes, schedule: &ScheduleConfig, now: DateTime<Utc>) -> Chores {
    let waiting = lead.state == LeadState::Received;
    if waiting && lead.expires_at <= now {
        return Chores {
            expire: true,
            ..Chores::default()
        };
    }
    let final_due =
        lead.final_reminder_at.is_none() && lead.expires_at - schedule.final_reminder <= now;
    let first_due =
        lead.first_reminder_at.is_none() && lead.received_at + schedule.first_reminder <= now;
    let remind = match (waiting, final_due, first_due) {
        (true, true, _) => Some(Reminder::Final),
        (true, false, true) => Some(Reminder::First),
        _ => None,
    };
    let close_hot_window = lead.state.is_open()
        && lead.hot_closed_at.is_none()
        && lead.hot_until.is_some_and(|until| until <= now);
    Chores {
        expire: false,
        remind,
        close_hot_window,
    }
}

/// What one tick did, rule by rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TickReport {
    pub expired: usize,
    pub first_reminders: usize,
    pub final_reminders: usize,
    pub hot_windows_closed: usize,
    pub digests: usize,
    /// Mail queued by all of the above.
    pub mails_queued: usize,
    /// Leads whose work failed; rolled back and tried again next tick.
    pub failed: usize,
}

impl TickReport {
    pub fn did_nothing(&self) -> bool {
        *self == Self::default()
    }

    fn add(&mut self, other: Self) {
        self.expired += other.expired;
        self.first_reminders += other.first_reminders;
        self.final_reminders += other.final_reminders;
        self.hot_windows_closed += other.hot_windows_closed;
        self.digests += other.digests;
        self.mails_queued += other.mails_queued;
        self.failed += other.failed;
    }
}

impl std::fmt::Display for TickReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "expired {}, first reminders {}, final reminders {}, contact windows closed {}, \
             digests {}; {} mail(s) queued",
            self.expired,
            self.first_reminders,
            self.final_reminders,
            self.hot_windows_closed,
            self.digests,
            self.mails_queued
        )?;
        if self.failed > 0 {
            write!(f, "; {} lead(s) failed, see the log", self.failed)?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Digest(#[from] DigestError),
    /// Cannot happen while the claim's locks hold; the chunk is rolled back and retried.
    #[error("leads {0:?} changed while claimed")]
    Contended(Vec<LeadId>),
    /// The process is shutting down its runtime: the chunk being written was rolled back.
    #[error("a scheduler chunk was cancelled while it was written")]
    Cancelled,
}

/// Why one lead's timed work could not be decided (logged; the lead is retried next tick).
#[derive(Debug, thiserror::Error)]
enum ChoreError {
    #[error("expiring lead {lead}")]
    Expire {
        lead: LeadId,
        source: TransitionError,
    },
    #[error("rendering the mail about lead {lead}")]
    Render { lead: LeadId, source: RenderError },
}

/// Runs every due rule once at `now`: the lead rules, then the digests.
pub async fn tick(
    pool: &PgPool,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<TickReport, SchedulerError> {
    tick_until(pool, config, now, || false).await
}

/// [`tick`], asking `stop` between chunks and between rules: once it says so, the tick ends
/// after the chunk in flight (each chunk commits on its own, so nothing is left half done)
/// and the next tick goes on from there.
pub async fn tick_until(
    pool: &PgPool,
    config: &Config,
    now: DateTime<Utc>,
    stop: impl Fn() -> bool,
) -> Result<TickReport, SchedulerError> {
    let mut report = TickReport::default();
    // Keeps /metrics' counts a few rows each, however much was written since the last tick.
    counts::compact(&mut *pool.acquire().await.doing("folding row counts")?).await?;
    for rule in Rule::ALL {
        run_rule(pool, config, rule, now, &stop, &mut report).await?;
    }
    if stop() {
        return Ok(report);
    }
    let digests = digest::send_due(pool, config, now).await?;
    report.digests = digests.sent;
    report.mails_queued += digests.sent;
    Ok(report)
}

/// Claims the rule's due leads chunk by chunk along its index, each chunk in one short
/// transaction, each lead at most once per tick (even one whose work fails).
///
/// Two chunks overlap: while one chunk's writes commit (PostgreSQL's work), the next is
/// claimed, read and rendered (leadbot's), on two connections, so that both cores work.
/// Only one chunk writes at a time, and the next is claimed past the last lead of the one
/// before, which keeps its locks until it commits.
async fn run_rule(
    pool: &PgPool,
    config: &Config,
    rule: Rule,
    now: DateTime<Utc>,
    stop: &impl Fn() -> bool,
    report: &mut TickReport,
) -> Result<(), SchedulerError> {
    let mut after = Cursor::start();
    let mut writing: Option<tokio::task::JoinHandle<Result<TickReport, SchedulerError>>> = None;
    for _ in 0..MAX_CHUNKS {
        if stop() {
            break;
        }
        let prepared = prepare_chunk(pool, config, rule, after, now, report).await;
        // The chunk before is committed (or failed) before this one writes.
        if let Some(previous) = writing.take() {
            report.add(finished(previous).await?);
        }
        match prepared? {
            Some((next, chunk)) => {
                after = next;
                writing = Some(tokio::spawn(chunk.write()));
            }
            None => break,
        }
    }
    if let Some(previous) = writing.take() {
        report.add(finished(previous).await?);
        if !stop() {
            tracing::warn!(
                ?rule,
                "tick stopped after {MAX_CHUNKS} chunks; the next tick continues"
            );
        }
    }
    Ok(())
}

/// The outcome of a chunk's writes; a panic there is this task's.
async fn finished(
    writing: tokio::task::JoinHandle<Result<TickReport, SchedulerError>>,
) -> Result<TickReport, SchedulerError> {
    match writing.await {
        Ok(result) => result,
        Err(error) => match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            // Only a runtime shutting down cancels it: its transaction was rolled back.
            Err(_) => Err(SchedulerError::Cancelled),
        },
    }
}

/// One chunk, all or nothing: claims up to [`CHUNK`] leads, decides and renders their work
/// in memory, and returns it to be written with a few statements ([`ChunkWrites::write`]),
/// with where the next chunk starts; `None` when the rule has nothing more due.
async fn prepare_chunk(
    pool: &PgPool,
    config: &Config,
    rule: Rule,
    after: Cursor,
    now: DateTime<Utc>,
    report: &mut TickReport,
) -> Result<Option<(Cursor, ChunkWrites)>, SchedulerError> {
    let mut tx = pool.begin().await.doing("starting a scheduler chunk")?;
    let claimed = store::claim_due(&mut tx, rule, after, &config.schedule, now, CHUNK).await?;
    let Some(last) = claimed.last() else {
        return Ok(None);
    };
    let next = rule.cursor(last);
    let mut due = HashMap::new();
    for lead in &claimed {
        let Ok(times) = lead_times(lead) else {
            tracing::error!(lead = lead.id, state = lead.state, "unknown lead state");
            report.failed += 1;
            continue;
        };
        let chores = due_chores(&times, &config.schedule, now);
        if !chores.is_empty() {
            due.insert(LeadId(lead.id), (chores, times));
        }
    }
    let ids: Vec<LeadId> = due.keys().copied().collect();
    let leads = leads::load_many(&mut tx, &ids).await?;
    let mut audience =
        Audience::load(&mut tx, &config.bot, &leads.iter().collect::<Vec<_>>()).await?;

    let mut chunk = ChunkWork::default();
    for lead in &leads {
        let Some(&(chores, times)) = due.get(&lead.id) else {
            continue;
        };
        match decide(&config.bot, &audience, lead, chores, &times, now) {
            Ok(work) => chunk.add(lead, chores, work),
            Err(error) => {
                tracing::error!(lead = lead.id.0, error = %error_chain(&error), "timed rule failed");
                report.failed += 1;
            }
        }
    }
    let mails = notify::address(&config.bot, &mut audience, chunk.decided);
    let writes = ChunkWrites {
        tx,
        expired: chunk
            .expired
            .into_iter()
            .map(|(lead, outcome)| (lead.clone(), outcome))
            .collect(),
        reminded: chunk.reminded,
        hot_closed: chunk.hot_closed,
        events: chunk.events,
        mails,
        now,
    };
    Ok(Some((next, writes)))
}

/// A chunk decided and rendered, in the transaction that holds its leads' locks: what is
/// left is to write it.
struct ChunkWrites {
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    /// Each expired lead as read, and its transition.
    expired: Vec<(Lead, Outcome)>,
    reminded: Vec<(LeadId, bool, bool)>,
    hot_closed: Vec<LeadId>,
    events: Vec<(LeadId, LeadEvent)>,
    mails: Vec<Addressed>,
    now: DateTime<Utc>,
}

impl ChunkWrites {
    /// Sets the markers, saves the transitions, appends the events, queues the mail, and
    /// commits; returns what the chunk did.
    async fn write(self) -> Result<TickReport, SchedulerError> {
        let Self {
            mut tx,
            expired,
            reminded,
            hot_closed,
            events,
            mails,
            now,
        } = self;
        let saves: Vec<(&Lead, &Outcome)> = expired.iter().map(|(l, o)| (l, o)).collect();
        let stale = leads::save_many(&mut tx, &saves, now).await?;
        if !stale.is_empty() {
            return Err(SchedulerError::Contended(stale));
        }
        store::mark_reminded(&mut tx, &reminded, now).await?;
        store::mark_hot_windows_closed(&mut tx, &hot_closed, now).await?;
        let events: Vec<(LeadId, &LeadEvent)> = events.iter().map(|(id, e)| (*id, e)).collect();
        leads::append_events(&mut tx, &events, now).await?;
        let new: Vec<_> = mails.iter().map(Addressed::to_new).collect();
        let queued = outbox::insert_many(&mut tx, &new, now).await?;
        tx.commit().await.doing("committing a scheduler chunk")?;

        let reminders = |final_one| reminded.iter().filter(|r| r.2 == final_one).count();
        Ok(TickReport {
            mails_queued: queued.len(),
            expired: expired.len(),
            first_reminders: reminders(false),
            final_reminders: reminders(true),
            hot_windows_closed: hot_closed.len(),
            ..TickReport::default()
        })
    }
}

fn lead_times(lead: &DueLead) -> Result<LeadTimes, String> {
    Ok(LeadTimes {
        state: lead.state.parse()?,
        received_at: lead.received_at,
        expires_at: lead.expires_at,
        hot_until: lead.hot_until,
        first_reminder_at: lead.first_reminder_at,
        final_reminder_at: lead.final_reminder_at,
        hot_closed_at: lead.hot_closed_at,
    })
}

/// One lead's timed work, decided and its mail rendered, not yet written.
#[derive(Default)]
struct LeadWork {
    expired: Option<Outcome>,
    events: Vec<LeadEvent>,
    decided: Vec<Decided>,
}

/// A chunk's work, gathered lead by lead in order, written together.
#[derive(Default)]
struct ChunkWork<'a> {
    /// Each expired lead as read, and its transition.
    expired: Vec<(&'a Lead, Outcome)>,
    /// (lead, first marker, final marker), as `store::mark_reminded` takes them.
    reminded: Vec<(LeadId, bool, bool)>,
    hot_closed: Vec<LeadId>,
    /// The scheduler's own events (an expiry's come with its transition).
    events: Vec<(LeadId, LeadEvent)>,
    decided: Vec<Decided>,
}

impl<'a> ChunkWork<'a> {
    fn add(&mut self, lead: &'a Lead, chores: Chores, work: LeadWork) {
        if let Some(outcome) = work.expired {
            self.expired.push((lead, outcome));
        }
        if let Some(reminder) = chores.remind {
            self.reminded
                .push((lead.id, true, reminder == Reminder::Final));
        }
        if chores.close_hot_window {
            self.hot_closed.push(lead.id);
        }
        self.events
            .extend(work.events.into_iter().map(|event| (lead.id, event)));
        self.decided.extend(work.decided);
    }
}

/// Decides one lead's chores and renders their mail, touching nothing: a lead whose work
/// cannot be decided is left out of its chunk whole.
fn decide(
    bot: &BotConfig,
    audience: &Audience,
    lead: &Lead,
    chores: Chores,
    times: &LeadTimes,
    now: DateTime<Utc>,
) -> Result<LeadWork, ChoreError> {
    let id = lead.id;
    let render = |source| ChoreError::Render { lead: id, source };
    if chores.expire {
        let outcome = lifecycle::apply(lead, &Actor::Scheduler, Action::Expire, now)
            .map_err(|source| ChoreError::Expire { lead: id, source })?;
        let decided = notify::decide_notices(bot, audience, &outcome).map_err(render)?;
        return Ok(LeadWork {
            expired: Some(outcome),
            events: Vec::new(),
            decided,
        });
    }
    let mut work = LeadWork::default();
    if let Some(reminder) = chores.remind {
        let notice = ContactNotice::Reminder(reminder);
        work.decided
            .extend(notify::decide_to_contacts(bot, audience, lead, notice).map_err(render)?);
        let (kind, data) = match reminder {
            Reminder::First => (EventKind::FirstReminderSent, json!({})),
            Reminder::Final => (
                EventKind::FinalReminderSent,
                // Caught up after downtime: this reminder stands in for the first one too.
                json!({"expires_at": lead.expires_at, "first_skipped": times.first_reminder_at.is_none()}),
            ),
        };
        work.events.push(scheduler_event(kind, data));
    }
    if chores.close_hot_window {
        let notice = ContactNotice::HotWindowClosed;
        work.decided
            .extend(notify::decide_to_contacts(bot, audience, lead, notice).map_err(render)?);
        let data = json!({"hot_until": lead.hot_until});
        work.events
            .push(scheduler_event(EventKind::HotWindowClosed, data));
    }
    Ok(work)
}

fn scheduler_event(kind: EventKind, data: serde_json::Value) -> LeadEvent {
    LeadEvent {
        kind,
        actor: Actor::Scheduler.label(),
        data,
    }
}

/// "expiring lead L-1: database error while saving a lead: …" on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    for _ in 0..8 {
        let Some(cause) = source else { break };
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone};

    use super::*;

    fn schedule() -> ScheduleConfig {
        crate::config::Config::from_parts(None, "[bot]\nsecret = \"0123456789abcdef\"\n", &[])
            .expect("defaults")
            .schedule
    }

    fn received() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
    }

    fn fresh() -> LeadTimes {
        LeadTimes {
            state: LeadState::Received,
            received_at: received(),
            expires_at: received() + TimeDelta::days(14),
            hot_until: Some(received() + TimeDelta::hours(72)),
            first_reminder_at: None,
            final_reminder_at: None,
            hot_closed_at: None,
        }
    }

    fn at(days: i64, hours: i64) -> DateTime<Utc> {
        received() + TimeDelta::days(days) + TimeDelta::hours(hours)
    }

    fn chores(lead: &LeadTimes, now: DateTime<Utc>) -> Chores {
        due_chores(lead, &schedule(), now)
    }

    const NOTHING: Chores = Chores {
        expire: false,
        remind: None,
        close_hot_window: false,
    };

    fn remind(reminder: Reminder) -> Chores {
        Chores {
            remind: Some(reminder),
            ..NOTHING
        }
    }

    #[test]
    fn a_lead_expires_at_its_deadline_and_not_before() {
        let lead = LeadTimes {
            first_reminder_at: Some(at(1, 0)),
            final_reminder_at: Some(at(12, 0)),
            hot_closed_at: Some(at(3, 0)),
            ..fresh()
        };
        assert_eq!(chores(&lead, at(13, 23)), NOTHING);
        assert!(chores(&lead, at(14, 0)).expire);
        assert!(chores(&lead, at(14, 1)).expire);
    }

    #[test]
    fn reminders_come_at_their_times_once() {
        let lead = LeadTimes {
            hot_until: None,
            ..fresh()
        };
        assert_eq!(chores(&lead, at(0, 23)), NOTHING);
        assert_eq!(chores(&lead, at(1, 0)), remind(Reminder::First));
        let reminded = LeadTimes {
            first_reminder_at: Some(at(1, 0)),
            ..lead
        };
        assert_eq!(chores(&reminded, at(1, 1)), NOTHING);
        assert_eq!(chores(&reminded, at(11, 23)), NOTHING);
        assert_eq!(chores(&reminded, at(12, 0)), remind(Reminder::Final));
        let both = LeadTimes {
            final_reminder_at: Some(at(12, 0)),
            ..reminded
        };
        assert_eq!(chores(&both, at(13, 23)), NOTHING);
    }

    #[test]
    fn after_downtime_only_the_latest_rule_fires() {
        let lead = fresh();
        // Past both reminder times: only the final one.
        let late = chores(&lead, at(12, 5));
        assert_eq!(late.remind, Some(Reminder::Final));
        assert!(late.close_hot_window);
        // Past expiry: expired, neither reminded nor told about the contact window.
        assert_eq!(
            chores(&lead, at(20, 0)),
            Chores {
                expire: true,
                ..NOTHING
            }
        );
    }

    #[test]
    fn the_contact_window_closes_once_while_the_lead_is_open() {
        let lead = LeadTimes {
            first_reminder_at: Some(at(1, 0)),
            ..fresh()
        };
        assert!(!chores(&lead, at(2, 23)).close_hot_window);
        assert!(chores(&lead, at(3, 0)).close_hot_window);
        let accepted = LeadTimes {
            state: LeadState::Accepted,
            ..lead
        };
        // Accepted leads get no reminders, but still hear that the window closed.
        assert_eq!(
            chores(&accepted, at(12, 0)),
            Chores {
                close_hot_window: true,
                ..NOTHING
            }
        );
        let closed = LeadTimes {
            hot_closed_at: Some(at(3, 0)),
            ..accepted
        };
        assert_eq!(chores(&closed, at(4, 0)), NOTHING);
        let won = LeadTimes {
            state: LeadState::Won,
            ..lead
        };
        assert_eq!(chores(&won, at(30, 0)), NOTHING);
    }
}
