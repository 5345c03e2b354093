//! Applying an action to a lead: read it, let the domain decide, save guarded by version.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::domain::lifecycle::{self, Action, Actor, Outcome, TransitionError};
use crate::domain::{LeadId, LeadState};
use crate::store::leads::{self, EventRow};
use crate::store::{Doing, StoreError};

/// How often a write that lost a version race is decided again on fresh data.
const MAX_ATTEMPTS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum ActError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("lead {0} does not exist")]
    UnknownLead(LeadId),
    /// Somebody else moved the lead first: tell the second actor who and when.
    #[error(
        "{action} is no longer possible: the lead was already {state} by {by} at {}",
        at.format("%Y-%m-%d %H:%M UTC")
    )]
    AlreadyActed {
        action: &'static str,
        state: LeadState,
        by: String,
        at: DateTime<Utc>,
    },
    #[error(transparent)]
    Refused(#[from] TransitionError),
    #[error("lead {0} kept changing while saving; try again")]
    Contended(LeadId),
}

/// Decides and saves one action inside the caller's transaction, so the caller can add
/// the mail it causes to the same commit. Retries on a lost version race.
pub async fn act_in(
    tx: &mut PgConnection,
    id: LeadId,
    actor: &Actor,
    action: Action,
    now: DateTime<Utc>,
) -> Result<Outcome, ActError> {
    for _ in 0..MAX_ATTEMPTS {
        let before = leads::load(tx, id)
            .await?
            .ok_or(ActError::UnknownLead(id))?;
        let outcome = match lifecycle::apply(&before, actor, action.clone(), now) {
            Ok(outcome) => outcome,
            Err(error) => return Err(explain_refusal(tx, id, error).await),
        };
        // Savepoint: a lost race must not leave half a write in the caller's transaction.
        sqlx::query("SAVEPOINT act")
            .execute(&mut *tx)
            .await
            .doing("saving a lead")?;
        if leads::save(tx, &before, &outcome, now).await? {
            sqlx::query("RELEASE SAVEPOINT act")
                .execute(&mut *tx)
                .await
                .doing("saving a lead")?;
            return Ok(outcome);
        }
        sqlx::query("ROLLBACK TO SAVEPOINT act")
            .execute(&mut *tx)
            .await
            .doing("saving a lead")?;
    }
    Err(ActError::Contended(id))
}

/// `act_in` in a transaction of its own.
pub async fn act(
    pool: &PgPool,
    id: LeadId,
    actor: &Actor,
    action: Action,
    now: DateTime<Utc>,
) -> Result<Outcome, ActError> {
    let mut tx = pool.begin().await.doing("starting a transaction")?;
    let outcome = act_in(&mut tx, id, actor, action, now).await?;
    tx.commit().await.doing("committing a lead change")?;
    Ok(outcome)
}

/// A refusal because the lead already left the state the actor expected becomes
/// "already accepted by Alice at 10:42" when the history says who moved it.
async fn explain_refusal(tx: &mut PgConnection, id: LeadId, error: TransitionError) -> ActError {
    let (action, state) = match &error {
        TransitionError::NotAllowed { action, state }
        | TransitionError::Closed { action, state }
            if *state != LeadState::Received =>
        {
            (*action, *state)
        }
        _ => return error.into(),
    };
    match leads::last_state_change(tx, id).await {
        Ok(Some(EventRow { at, actor, .. })) => ActError::AlreadyActed {
            action,
            state,
            by: actor,
            at,
        },
        Ok(None) => error.into(),
        Err(store) => store.into(),
    }
}
