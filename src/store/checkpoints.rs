//! Where the IMAP listener stopped in each mailbox: the mailbox's UIDVALIDITY and the highest
//! UID whose message is committed. UIDs only mean something together with their UIDVALIDITY,
//! so both are stored and compared together.

use sqlx::PgPool;

use super::{Doing, StoreError};

/// The listener's place in one mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    pub uid_validity: u32,
    /// Every message up to this UID is committed; 0 before the first one.
    pub last_uid: u32,
}

pub async fn read(pool: &PgPool, mailbox: &str) -> Result<Option<Checkpoint>, StoreError> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT uid_validity, last_uid FROM imap_checkpoints WHERE mailbox = $1")
            .bind(mailbox)
            .fetch_optional(pool)
            .await
            .doing("reading the IMAP checkpoint")?;
    // The columns are bigint because IMAP numbers are unsigned 32-bit; anything out of that
    // range was not written by us and is treated as "no checkpoint".
    Ok(row.and_then(|(uid_validity, last_uid)| {
        Some(Checkpoint {
            uid_validity: u32::try_from(uid_validity).ok()?,
            last_uid: u32::try_from(last_uid).ok()?,
        })
    }))
}

/// Records that everything up to `checkpoint.last_uid` is committed. Within one UIDVALIDITY
/// the checkpoint never moves backwards (a late writer cannot undo progress); a new
/// UIDVALIDITY replaces the old place altogether.
pub async fn advance(
    pool: &PgPool,
    mailbox: &str,
    checkpoint: Checkpoint,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO imap_checkpoints (mailbox, uid_validity, last_uid, updated_at)
         VALUES ($1, $2, $3, now())
         ON CONFLICT (mailbox) DO UPDATE SET
             uid_validity = EXCLUDED.uid_validity,
             last_uid = CASE
                 WHEN imap_checkpoints.uid_validity = EXCLUDED.uid_validity
                 THEN GREATEST(imap_checkpoints.last_uid, EXCLUDED.last_uid)
                 ELSE EXCLUDED.last_uid
             END,
             updated_at = now()",
    )
    .bind(mailbox)
    .bind(i64::from(checkpoint.uid_validity))
    .bind(i64::from(checkpoint.last_uid))
    .execute(pool)
    .await
    .doing("advancing the IMAP checkpoint")?;
    Ok(())
}
