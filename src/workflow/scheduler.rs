//! The scheduler: timed rules over leads (expiry, reminders, the end of the customer's
//! contact window) and the daily digests, run once per [`tick`] at a given `now`.
//!
//! Which rule is due for a lead is a pure function of its timestamps, the configuration and
//! `now` ([`due_chores`]). Each batch of leads is claimed with `FOR UPDATE SKIP LOCKED` in a
//! short transaction that also sets each rule's marker and queues its mail, so a rule fires
//! once per lead, even with several schedulers running, and a scheduler that was down
//! catches up once: an overdue lead is expired (not reminded), and of two missed reminders
//! only the final one goes out.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool};

use super::act::{ActError, act_in};
use super::digest::{self, DigestError};
use super::notify::{self, ContactNotice, NotifyError};
use crate::config::{Config, ScheduleConfig};
use crate::domain::{Action, Actor, EventKind, LeadEvent, LeadId, LeadState};
use crate::mail::templates::Reminder;
use crate::store::schedule::{self as store, DueLead};
use crate::store::{Doing, StoreError, leads};

/// Leads claimed per transaction: short enough to keep locks brief.
const BATCH: i64 = 50;
/// A tick stops after this many batches (500,000 leads); the next tick continues.
const MAX_BATCHES: usize = 10_000;

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
}

/// Why one lead's timed work failed (logged; the lead is retried next tick).
#[derive(Debug, thiserror::Error)]
enum ChoreError {
    #[error("expiring lead {lead}")]
    Expire { lead: LeadId, source: ActError },
    #[error("notifying about lead {lead}")]
    Notify { lead: LeadId, source: NotifyError },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("lead {0} vanished while claimed")]
    Vanished(LeadId),
}

/// Runs every due rule once at `now`: the lead rules, then the digests.
pub async fn tick(
    pool: &PgPool,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<TickReport, SchedulerError> {
    let mut report = TickReport::default();
    run_lead_rules(pool, config, now, &mut report).await?;
    let digests = digest::send_due(pool, config, now).await?;
    report.digests = digests.sent;
    report.mails_queued += digests.sent;
    Ok(report)
}

/// Claims due leads batch by batch, in id order, each batch in one transaction.
async fn run_lead_rules(
    pool: &PgPool,
    config: &Config,
    now: DateTime<Utc>,
    report: &mut TickReport,
) -> Result<(), StoreError> {
    // Leads are visited in id order, each at most once per tick, even one whose work fails.
    let mut after = 0;
    for _ in 0..MAX_BATCHES {
        let mut tx = pool.begin().await.doing("starting a scheduler batch")?;
        let claimed = store::claim_due(&mut tx, after, &config.schedule, now, BATCH).await?;
        let Some(last) = claimed.last() else {
            return Ok(());
        };
        after = last.id;
        for lead in &claimed {
            let Ok(times) = lead_times(lead) else {
                tracing::error!(lead = lead.id, state = lead.state, "unknown lead state");
                report.failed += 1;
                continue;
            };
            let chores = due_chores(&times, &config.schedule, now);
            if chores.is_empty() {
                continue;
            }
            // A savepoint per lead: one lead's failure must not undo the batch's other mail.
            sqlx::query("SAVEPOINT chore")
                .execute(&mut *tx)
                .await
                .doing("running a timed rule")?;
            match do_chores(&mut tx, config, LeadId(lead.id), chores, &times, now).await {
                Ok(mails) => {
                    sqlx::query("RELEASE SAVEPOINT chore")
                        .execute(&mut *tx)
                        .await
                        .doing("running a timed rule")?;
                    report.mails_queued += mails;
                    report.expired += usize::from(chores.expire);
                    report.first_reminders += usize::from(chores.remind == Some(Reminder::First));
                    report.final_reminders += usize::from(chores.remind == Some(Reminder::Final));
                    report.hot_windows_closed += usize::from(chores.close_hot_window);
                }
                Err(error) => {
                    sqlx::query("ROLLBACK TO SAVEPOINT chore")
                        .execute(&mut *tx)
                        .await
                        .doing("running a timed rule")?;
                    tracing::error!(lead = lead.id, error = %error_chain(&error), "timed rule failed");
                    report.failed += 1;
                }
            }
        }
        tx.commit().await.doing("committing a scheduler batch")?;
    }
    tracing::warn!("tick stopped after {MAX_BATCHES} batches; the next tick continues");
    Ok(())
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

/// Does one lead's chores inside the batch's transaction; returns the mail queued.
async fn do_chores(
    tx: &mut PgConnection,
    config: &Config,
    id: LeadId,
    chores: Chores,
    times: &LeadTimes,
    now: DateTime<Utc>,
) -> Result<usize, ChoreError> {
    let bot = &config.bot;
    let notify_error = |source| ChoreError::Notify { lead: id, source };
    if chores.expire {
        let outcome = act_in(tx, id, &Actor::Scheduler, Action::Expire, now)
            .await
            .map_err(|source| ChoreError::Expire { lead: id, source })?;
        let queued = notify::notices(tx, bot, &outcome, now)
            .await
            .map_err(notify_error)?;
        return Ok(queued.len());
    }
    let lead = leads::load(tx, id).await?.ok_or(ChoreError::Vanished(id))?;
    let mut mails = 0;
    if let Some(reminder) = chores.remind {
        mails += notify::to_contacts(tx, bot, &lead, ContactNotice::Reminder(reminder), now)
            .await
            .map_err(notify_error)?
            .len();
        let (kind, data) = match reminder {
            Reminder::First => (EventKind::FirstReminderSent, json!({})),
            Reminder::Final => (
                EventKind::FinalReminderSent,
                // Caught up after downtime: this reminder stands in for the first one too.
                json!({"expires_at": lead.expires_at, "first_skipped": times.first_reminder_at.is_none()}),
            ),
        };
        store::mark_reminded(tx, id, true, reminder == Reminder::Final, now).await?;
        scheduler_event(tx, id, kind, data, now).await?;
    }
    if chores.close_hot_window {
        mails += notify::to_contacts(tx, bot, &lead, ContactNotice::HotWindowClosed, now)
            .await
            .map_err(notify_error)?
            .len();
        store::mark_hot_window_closed(tx, id, now).await?;
        let data = json!({"hot_until": lead.hot_until});
        scheduler_event(tx, id, EventKind::HotWindowClosed, data, now).await?;
    }
    Ok(mails)
}

async fn scheduler_event(
    tx: &mut PgConnection,
    id: LeadId,
    kind: EventKind,
    data: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let event = LeadEvent {
        kind,
        actor: Actor::Scheduler.label(),
        data,
    };
    leads::append_event(tx, id, now, &event).await
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
