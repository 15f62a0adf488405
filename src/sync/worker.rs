//! The sync worker: wakes on `NOTIFY calsync_sync` (a sweep every few seconds as backstop) and runs pending calendars.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinError;
use tokio_util::sync::CancellationToken;

use super::runner::Syncer;
use crate::db::sync_state as state;
use crate::runner::{self, Claimed, Work};

/// Channel the `sync_state` trigger notifies when a calendar becomes pending.
pub const SYNC_CHANNEL: &str = "calsync_sync";

/// Pause before looking again while a burst's tail is held back (pushes of the last second).
const HELD_BACK: Duration = Duration::from_millis(50);

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

/// Runs until `shutdown`; in-flight runs finish (they are bounded by the client's retry caps, and
/// the process aborts whatever outlives its shutdown deadline).
/// `wake` carries calendars this replica's webhook just made runnable: claimed at once, without
/// waiting for the NOTIFY round trip and the pending query.
pub async fn run(
    syncer: Syncer,
    config: WorkerConfig,
    wake: Option<mpsc::UnboundedReceiver<String>>,
    shutdown: CancellationToken,
) {
    let pool = syncer.pool.clone();
    let config = runner::Config {
        name: "sync worker",
        channel: SYNC_CHANNEL,
        slots: config.concurrency,
        sweep: config.sweep,
        // Each run heartbeats its own calendar's lease (`Syncer::sync_calendar`).
        heartbeat: None,
    };
    runner::run(Calendars(syncer), pool, config, wake, shutdown).await;
}

/// Pending calendars, one run each at a time in this process (one cluster-wide: the run's lease).
struct Calendars(Syncer);

impl Work for Calendars {
    type Item = String;
    type Output = ();

    /// The calendars woken in-process, or else the pending ones; nothing while every slot is busy
    /// (a run that ends claims again), so a stream of NOTIFYs on a busy worker reads nothing.
    async fn claim(&self, free: usize, woken: Vec<String>) -> Claimed<String> {
        if free == 0 {
            return Claimed::none();
        }
        if !woken.is_empty() {
            return Claimed::items(woken);
        }
        match state::pending_calendars(&self.0.pool).await {
            Ok((pending, held_back)) => Claimed {
                items: pending,
                again_in: held_back.then_some(HELD_BACK),
            },
            Err(e) => {
                tracing::warn!(error.cause = %e, "pending calendars not readable; retrying");
                Claimed::none()
            }
        }
    }

    fn process(&self, calendar: &String) -> impl Future<Output = ()> + Send + 'static {
        let (syncer, id) = (self.0.clone(), calendar.clone());
        async move {
            if let Err(e) = syncer.sync_pending(&id).await {
                tracing::warn!(calendar = %id, error.cause = %e, "sync bookkeeping failed (database)");
            }
        }
    }

    /// A panicked run is logged with its calendar (an abort is shutdown's doing); the calendar
    /// is claimed again later either way.
    async fn settle(&self, calendar: String, done: Result<(), JoinError>) {
        match done {
            Ok(()) => {}
            // The panic hook has printed the message.
            Err(e) if e.is_panic() => tracing::error!(calendar = %calendar, "sync run panicked"),
            Err(_) => tracing::debug!(calendar = %calendar, "sync run cancelled"),
        }
    }

    fn key<'a>(&self, calendar: &'a String) -> Option<&'a str> {
        Some(calendar)
    }
}
