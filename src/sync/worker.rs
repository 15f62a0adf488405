//! The sync worker: wakes on `NOTIFY calsync_sync` (a sweep every few seconds as backstop) and runs pending calendars.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::mpsc;
use tokio::task::{Id, JoinError, JoinSet};
use tokio_util::sync::CancellationToken;

use super::runner::{Outcome, Syncer, Trigger};
use crate::db::sync_state as state;

/// Channel the `sync_state` trigger notifies when a calendar becomes pending.
pub const SYNC_CHANNEL: &str = "calsync_sync";

/// Tunables of the worker loop.
#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    /// Calendars synced at once by this process.
    pub concurrency: usize,
    /// Backstop sweep when no notification arrives.
    pub sweep: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            sweep: Duration::from_secs(5),
        }
    }
}

/// Calendars with a run in flight in this process.
type Running = Arc<Mutex<HashSet<String>>>;

/// Runs until `shutdown`; in-flight runs finish (they are bounded by the client's retry caps, and
/// the process aborts whatever outlives its shutdown deadline).
/// `wake` carries calendars this replica's webhook just made runnable: claimed at once, without
/// waiting for the NOTIFY round trip and the pending query.
pub async fn run(
    syncer: Syncer,
    config: WorkerConfig,
    mut wake: Option<mpsc::UnboundedReceiver<String>>,
    shutdown: CancellationToken,
) {
    let mut listener = connect_listener(&syncer, &shutdown).await;
    let running: Running = Arc::default();
    let mut tasks = JoinSet::new();
    let mut calendars: HashMap<Id, String> = HashMap::new();
    let mut woken: Vec<String> = Vec::new();
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        let mut held_back = false;
        let pending = if woken.is_empty() {
            state::pending_calendars(&syncer.pool).await
        } else {
            Ok((std::mem::take(&mut woken), false))
        };
        match pending {
            Ok((pending, waiting)) => {
                held_back = waiting;
                for calendar in pending {
                    if tasks.len() >= config.concurrency {
                        break;
                    }
                    let syncer = syncer.clone();
                    let id = calendar.clone();
                    spawn_run(&mut tasks, &mut calendars, &running, calendar, async move {
                        let outcome = syncer.sync_calendar(&id, Trigger::Push, false).await;
                        if let Err(e) = &outcome {
                            tracing::warn!(calendar = %id, error.cause = %e, "sync bookkeeping failed (database)");
                        }
                        matches!(outcome, Ok(Outcome::Done(_)))
                    });
                }
            }
            Err(e) => tracing::warn!(error.cause = %e, "pending calendars not readable; retrying"),
        }
        // Wait for: a run to finish, a notification, the sweep (short while a burst's tail is held back), or shutdown.
        let sweep = if held_back {
            Duration::from_millis(50)
        } else {
            config.sweep
        };
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => reap(done, &mut calendars),
            Some(id) = recv_wake(&mut wake) => {
                woken.push(id);
                while let Some(Ok(more)) = wake.as_mut().map(|w| w.try_recv()) {
                    woken.push(more);
                }
            }
            _ = crate::db::wait_notification(&mut listener, sweep) => {}
        }
    }
    while let Some(done) = tasks.join_next_with_id().await {
        reap(done, &mut calendars);
    }
    tracing::debug!("sync worker stopped");
}

/// Spawns `calendar`'s run unless one is in flight here. The calendar leaves `running` when the task
/// ends however it ends (a panic or an abort included), so the worker claims it again later.
fn spawn_run(
    tasks: &mut JoinSet<bool>,
    calendars: &mut HashMap<Id, String>,
    running: &Running,
    calendar: String,
    run: impl Future<Output = bool> + Send + 'static,
) {
    if !running
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(calendar.clone())
    {
        return;
    }
    let guard = RunningGuard {
        running: running.clone(),
        calendar: calendar.clone(),
    };
    let handle = tasks.spawn(async move {
        let _guard = guard;
        run.await
    });
    calendars.insert(handle.id(), calendar);
}

/// Removes its calendar from the running set when dropped.
struct RunningGuard {
    running: Running,
    calendar: String,
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.calendar);
    }
}

/// Forgets a finished run; a panicked one is logged with its calendar (an abort is shutdown's doing).
fn reap(done: Result<(Id, bool), JoinError>, calendars: &mut HashMap<Id, String>) {
    match done {
        Ok((id, _)) => {
            calendars.remove(&id);
        }
        Err(e) => {
            let calendar = calendars.remove(&e.id()).unwrap_or_default();
            if e.is_panic() {
                // The panic hook has printed the message; the calendar will be claimed again.
                tracing::error!(calendar = %calendar, "sync run panicked");
            } else {
                tracing::debug!(calendar = %calendar, "sync run cancelled");
            }
        }
    }
}

async fn recv_wake(wake: &mut Option<mpsc::UnboundedReceiver<String>>) -> Option<String> {
    match wake {
        Some(w) => w.recv().await,
        None => std::future::pending().await,
    }
}

async fn connect_listener(syncer: &Syncer, shutdown: &CancellationToken) -> Option<PgListener> {
    if shutdown.is_cancelled() {
        return None;
    }
    match PgListener::connect_with(&syncer.pool).await {
        Ok(mut l) => match l.listen(SYNC_CHANNEL).await {
            Ok(()) => Some(l),
            Err(e) => {
                tracing::warn!(error.cause = %e, "LISTEN failed; sweeping only");
                None
            }
        },
        Err(e) => {
            tracing::warn!(error.cause = %e, "no LISTEN connection; sweeping only");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_run_frees_its_calendar() {
        let running: Running = Arc::default();
        let mut tasks = JoinSet::new();
        let mut calendars = HashMap::new();
        spawn_run(&mut tasks, &mut calendars, &running, "cal".into(), async {
            panic!("boom")
        });
        assert!(running.lock().unwrap().contains("cal"));
        let done = tasks.join_next_with_id().await.unwrap();
        assert!(done.as_ref().is_err_and(JoinError::is_panic));
        reap(done, &mut calendars);
        assert!(
            running.lock().unwrap().is_empty(),
            "calendar still marked running"
        );
        assert!(calendars.is_empty());
    }

    #[tokio::test]
    async fn a_calendar_already_running_is_not_spawned_twice() {
        let running: Running = Arc::default();
        let mut tasks = JoinSet::new();
        let mut calendars = HashMap::new();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        spawn_run(&mut tasks, &mut calendars, &running, "cal".into(), async {
            let _ = rx.await;
            true
        });
        spawn_run(&mut tasks, &mut calendars, &running, "cal".into(), async {
            true
        });
        assert_eq!(tasks.len(), 1);
        let _ = tx.send(());
        let done = tasks.join_next_with_id().await.unwrap();
        reap(done, &mut calendars);
        assert!(running.lock().unwrap().is_empty());
    }
}
