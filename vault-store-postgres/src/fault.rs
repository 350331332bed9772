//! Fault injection for tests: fail or pause a write at a named step.

use std::sync::Mutex;

use sqlx::PgConnection;
use tokio::sync::oneshot;
use vault_core::store::{StoreError, StoreResult};

use crate::codec::{BACKEND, db};

/// What an armed step does.
#[derive(Debug)]
pub(crate) enum Action {
    /// Fail with an injected error.
    Fail,
    /// Report the connection's backend pid, then wait to be released.
    Pause {
        reached: oneshot::Sender<i32>,
        release: oneshot::Receiver<()>,
    },
}

#[derive(Debug, Default)]
pub(crate) struct Faults {
    armed: Mutex<Option<(&'static str, Action)>>,
}

/// The error an injected fault raises.
#[derive(Debug)]
pub(crate) struct InjectedFault(&'static str);

impl std::fmt::Display for InjectedFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "injected fault at {}", self.0)
    }
}

impl std::error::Error for InjectedFault {}

impl Faults {
    pub(crate) fn arm(&self, step: &'static str, action: Action) {
        *self.armed.lock().unwrap_or_else(|p| p.into_inner()) = Some((step, action));
    }

    pub(crate) async fn check(
        &self,
        conn: &mut PgConnection,
        step: &'static str,
    ) -> StoreResult<()> {
        let action = {
            let mut armed = self.armed.lock().unwrap_or_else(|p| p.into_inner());
            match armed.take() {
                Some((s, action)) if s == step => action,
                other => {
                    *armed = other;
                    return Ok(());
                }
            }
        };
        match action {
            Action::Fail => Err(StoreError::backend(BACKEND, InjectedFault(step))),
            Action::Pause { reached, release } => {
                let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db)?;
                let _ = reached.send(pid);
                // A dropped Pause releases too.
                let _ = release.await;
                Ok(())
            }
        }
    }
}

/// A write stopped at a step with its transaction open (feature
/// `fault-injection`, tests only). Dropping it releases the write.
#[derive(Debug)]
pub struct Pause {
    reached: Option<oneshot::Receiver<i32>>,
    release: Option<oneshot::Sender<()>>,
}

impl Pause {
    pub(crate) fn new() -> (Self, Action) {
        let (reached_tx, reached_rx) = oneshot::channel();
        let (release_tx, release_rx) = oneshot::channel();
        (
            Self {
                reached: Some(reached_rx),
                release: Some(release_tx),
            },
            Action::Pause {
                reached: reached_tx,
                release: release_rx,
            },
        )
    }

    /// Waits until a write reaches the step; returns the PostgreSQL backend
    /// pid of its connection (for `pg_terminate_backend`). `None` if the
    /// store was dropped first or this was already called.
    pub async fn reached(&mut self) -> Option<i32> {
        self.reached.take()?.await.ok()
    }

    /// Lets the paused write go on.
    pub fn release(mut self) {
        if let Some(tx) = self.release.take() {
            let _ = tx.send(());
        }
    }
}
