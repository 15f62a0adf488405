//! The sync worker: wakes on `NOTIFY calsync_sync` (a sweep every few seconds as backstop) and runs pending calendars.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::runner::{Outcome, Syncer, Trigger};
use super::state;

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

/// Runs until `shutdown`; in-flight runs finish (they are bounded by the client's retry caps).
/// `wake` carries calendars this replica's webhook just made runnable: claimed at once, without
/// waiting for the NOTIFY round trip and the pending query.
pub async fn run(
    syncer: Syncer,
    config: WorkerConfig,
    mut wake: Option<mpsc::UnboundedReceiver<String>>,
    shutdown: CancellationToken,
) {
    let mut listener = connect_listener(&syncer, &shutdown).await;
    let running: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut tasks = JoinSet::new();
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
                    {
                        let mut set = running.lock().unwrap_or_else(|p| p.into_inner());
                        if !set.insert(calendar.clone()) {
                            continue;
                        }
                    }
                    let syncer = syncer.clone();
                    let running = running.clone();
                    tasks.spawn(async move {
                        let outcome = syncer.sync_calendar(&calendar, Trigger::Push, false).await;
                        if let Err(e) = &outcome {
                            tracing::warn!(calendar = %calendar, error.cause = %e, "sync bookkeeping failed (database)");
                        }
                        running.lock().unwrap_or_else(|p| p.into_inner()).remove(&calendar);
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
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            Some(id) = recv_wake(&mut wake) => {
                woken.push(id);
                while let Some(Ok(more)) = wake.as_mut().map(|w| w.try_recv()) {
                    woken.push(more);
                }
            }
            _ = wait_notification(&mut listener, sweep) => {}
        }
    }
    while tasks.join_next().await.is_some() {}
    tracing::debug!("sync worker stopped");
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

async fn wait_notification(listener: &mut Option<PgListener>, sweep: Duration) {
    match listener {
        Some(l) => {
            let _ = tokio::time::timeout(sweep, l.try_recv()).await;
        }
        None => tokio::time::sleep(sweep).await,
    }
}
