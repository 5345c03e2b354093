//! The mailbox's advisory lock, kept by a task of its own while the listener works.

use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::chain;
use crate::store::locks::LockConnection;

/// The mailbox's advisory lock, held by a small task that owns its connection, checks it
/// every `lock_check`, and tells the listener when it died. Dropping the `HeldLock` (also
/// when the listener's task is aborted) makes the task release the lock and close.
pub(super) struct HeldLock {
    lost: watch::Receiver<bool>,
    release: Option<oneshot::Sender<()>>,
    keeper: Option<JoinHandle<()>>,
}

impl HeldLock {
    pub(super) fn keep(mut connection: LockConnection, check_every: Duration) -> Self {
        let (lost_tx, lost) = watch::channel(false);
        let (release, mut released) = oneshot::channel::<()>();
        let keeper = tokio::spawn(async move {
            loop {
                tokio::select! {
                    // Sent, or the sender dropped with the listener: either way, let go.
                    _ = &mut released => {
                        if let Err(error) = connection.unlock_and_close().await {
                            tracing::debug!(error = %chain(&error), "releasing the mailbox lock");
                        }
                        return;
                    }
                    () = tokio::time::sleep(check_every) => {
                        if let Err(error) = connection.ping().await {
                            tracing::warn!(
                                lock = connection.name(),
                                error = %chain(&error),
                                "the mailbox lock's connection died: the lock is gone"
                            );
                            let _ = lost_tx.send(true);
                            return;
                        }
                    }
                }
            }
        });
        Self {
            lost,
            release: Some(release),
            keeper: Some(keeper),
        }
    }

    pub(super) fn is_lost(&self) -> bool {
        *self.lost.borrow() || self.lost.has_changed().is_err()
    }

    /// Finishes when the lock is gone.
    pub(super) async fn lost(&mut self) {
        let _ = self.lost.wait_for(|lost| *lost).await;
    }

    /// Lets go of the lock and waits until PostgreSQL has it back.
    pub(super) async fn release(mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.send(());
        }
        if let Some(keeper) = self.keeper.take() {
            let _ = keeper.await;
        }
    }
}
