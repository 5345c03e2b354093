//! Rate limits on answers that change nothing (errors, refusals), per sender and kind, so a
//! misconfigured client or an attacker cannot make leadbot send mail in a loop.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::{Doing, StoreError};

/// Counts one answer to `sender` of `kind` in the current hour-long window; true while the
/// count stays within `per_hour`.
pub async fn allow_answer(
    conn: &mut PgConnection,
    sender: &str,
    kind: &str,
    per_hour: u32,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let answers: i32 = sqlx::query_scalar(
        "INSERT INTO answer_limits (sender, kind, window_start, answers) VALUES ($1, $2, $3, 1)
         ON CONFLICT (sender, kind) DO UPDATE SET
             answers = CASE WHEN answer_limits.window_start <= $3 - interval '1 hour'
                            THEN 1 ELSE answer_limits.answers + 1 END,
             window_start = CASE WHEN answer_limits.window_start <= $3 - interval '1 hour'
                            THEN $3 ELSE answer_limits.window_start END
         RETURNING answers",
    )
    .bind(sender)
    .bind(kind)
    .bind(now)
    .fetch_one(conn)
    .await
    .doing("counting answers to a sender")?;
    Ok(answers <= i32::try_from(per_hour).unwrap_or(i32::MAX))
}
