//! PostgreSQL → Google: the outbox writer. Local changes (API or plain SQL) queued by the trigger are claimed,
//! sent, and their new etag stored; failures retry with backoff and poisoned entries are parked.

pub mod body;
pub mod process;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::task::JoinError;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::accounts::GoogleAccounts;
use crate::config::Reminder;
use crate::db::outbox;
use crate::db::outbox::Job;
use crate::runner::{self, Claimed, InFlight, Work};
use process::{Done, JobError};

/// Channel the outbox trigger notifies.
pub const OUTBOX_CHANNEL: &str = "calsync_outbox";
/// Lease on a claimed entry: short, so entries claimed by a crashed process come back in seconds;
/// extended every [`HEARTBEAT`] while their Google calls are in flight.
const LEASE: Duration = Duration::from_secs(15);
const HEARTBEAT: Duration = Duration::from_secs(5);
/// Backstop sweep when no NOTIFY arrives.
const SWEEP: Duration = Duration::from_secs(5);

/// Everything the writer needs.
#[derive(Clone)]
pub struct Writer {
    pub pool: PgPool,
    /// Every account's Google client.
    pub google: Arc<GoogleAccounts>,
    pub default_reminders: Arc<Vec<Reminder>>,
    pub owner: Uuid,
    pub batch: i64,
    /// Telegram "event added" messages; None when Telegram is off.
    pub notifier: Option<crate::notify::TelegramNotifier>,
    /// `calsync_outbox_writes_total{op,outcome}`; None in tools that do not export metrics.
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub claimed: usize,
    pub written: usize,
    pub retried: usize,
    pub parked: usize,
}

impl Writer {
    /// Claims one batch and sends it, each entry settled as soon as it finishes; `Pass::claimed == 0`
    /// means the queue is empty (tests drain with this).
    pub async fn run_once(&self) -> Result<Pass, sqlx::Error> {
        let jobs = outbox::claim(&self.pool, self.owner, self.batch, LEASE).await?;
        let mut pass = Pass {
            claimed: jobs.len(),
            ..Pass::default()
        };
        let mut in_flight = InFlight::default();
        for job in jobs {
            let send = self.process(&job);
            in_flight.spawn(job, send);
        }
        let mut beat = runner::heartbeat(HEARTBEAT);
        let mut failed = None;
        while !in_flight.is_empty() {
            tokio::select! {
                Some((job, done)) = in_flight.next() => {
                    let result = joined(&job, done);
                    if let Err(e) = self.record(&job, result, &mut pass).await {
                        failed.get_or_insert(e);
                    }
                }
                _ = beat.tick() => self.heartbeat(in_flight.items().collect()).await,
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(pass),
        }
    }

    /// Records how one entry ended: completed, parked, or scheduled for a retry.
    async fn record(
        &self,
        job: &Job,
        result: Result<Done, JobError>,
        pass: &mut Pass,
    ) -> Result<(), sqlx::Error> {
        self.count(&result);
        if let Ok(Done::Created { event, casquette }) = &result {
            self.announce(&job.calendar_id, event, casquette).await;
        }
        match result {
            Ok(Done::Written | Done::Created { .. } | Done::Skipped | Done::GoogleWon)
            | Err(JobError::Vanished) => {
                outbox::complete(&self.pool, job).await?;
                pass.written += 1;
            }
            Err(JobError::Google(e)) if e.is_permanent() => {
                tracing::warn!(calendar = %job.calendar_id, event = %job.event_id, reason = %e.short_reason(), "outbox entry parked");
                outbox::park(&self.pool, job, &e.to_string()).await?;
                pass.parked += 1;
                if e.is_invalid_grant()
                    && let Some(account) =
                        crate::db::calendars::account_of(&self.pool, &job.calendar_id).await?
                {
                    let alerts: &dyn crate::sync::alerts::AlertSink = match &self.notifier {
                        Some(n) => n,
                        None => &crate::sync::alerts::LogAlerts,
                    };
                    crate::sync::pause::refused(&self.pool, alerts, &account, &e.to_string())
                        .await?;
                }
            }
            Err(e) => {
                // Credentials on hold: retried at its backoff, at the latest when the hold ends (no
                // token request while it lasts). Not held back for the whole hold: an explicit sync
                // on another replica, or a sync run here, may lift it sooner (an explicit sync also
                // re-queues the entry at once).
                let delay = match &e {
                    JobError::Google(g @ crate::google::GoogleError::CredentialsOnHold(_)) => {
                        g.retry_after().map_or_else(
                            || outbox::backoff(job.attempts),
                            |hold| hold.min(outbox::backoff(job.attempts)),
                        )
                    }
                    _ => outbox::backoff(job.attempts),
                };
                tracing::info!(calendar = %job.calendar_id, event = %job.event_id, attempts = job.attempts,
                    retry_in_s = delay.as_secs(), error = %e, "outbox entry will be retried");
                outbox::retry_later(&self.pool, job, delay, &e.to_string()).await?;
                pass.retried += 1;
            }
        }
        Ok(())
    }

    /// The seed's "event added" message for an event calsync just created at Google.
    async fn announce(&self, calendar_id: &str, event: &serde_json::Value, casquette: &str) {
        let Some(notifier) = &self.notifier else {
            return;
        };
        let zone = crate::db::calendars::zone_of(&self.pool, calendar_id)
            .await
            .ok()
            .flatten();
        let tz = zone
            .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
            .unwrap_or(chrono_tz::UTC);
        if let Some(summary) = crate::notify::EventSummary::from_google(event, casquette, tz) {
            notifier.notify_event_added(&summary);
        }
    }

    fn count(&self, result: &Result<Done, JobError>) {
        let Some(m) = &self.metrics else { return };
        let (op, outcome) = match result {
            Ok(Done::Created { .. }) => ("create", "ok"),
            Ok(Done::Written) => ("write", "ok"),
            Ok(Done::Skipped) => ("skip", "ok"),
            Ok(Done::GoogleWon) => ("conflict", "google_won"),
            Err(JobError::Vanished) => ("skip", "vanished"),
            Err(JobError::Google(e)) if e.is_permanent() => ("write", "parked"),
            Err(_) => ("write", "retry"),
        };
        m.counter(
            "calsync_outbox_writes_total",
            "Outbox entries processed, by operation and outcome.",
            vec![("op", op.into()), ("outcome", outcome.into())],
        )
        .inc();
    }

    /// Runs until `shutdown` on the worker runner: up to `batch` entries in flight, settled as each
    /// finishes; claims again whenever entries finish, on every NOTIFY, and every few seconds as a
    /// backstop. At shutdown it stops claiming and waits for the entries in flight (the process
    /// aborts them at its deadline).
    pub async fn run(self, shutdown: CancellationToken) {
        let pool = self.pool.clone();
        let config = runner::Config {
            name: "outbox writer",
            channel: OUTBOX_CHANNEL,
            slots: usize::try_from(self.batch).unwrap_or(0),
            sweep: SWEEP,
            heartbeat: Some(HEARTBEAT),
        };
        runner::run(self, pool, config, None, shutdown).await;
    }
}

/// The outbox as the runner's work: entries claimed with a lease, each sent in its own task, their
/// leases extended together while in flight.
impl Work for Writer {
    type Item = Job;
    type Output = Result<Done, JobError>;

    /// Claims as many entries as there are free slots.
    async fn claim(&self, free: usize, _woken: Vec<Job>) -> Claimed<Job> {
        if free == 0 {
            return Claimed::none();
        }
        let free = i64::try_from(free).unwrap_or(i64::MAX);
        match outbox::claim(&self.pool, self.owner, free, LEASE).await {
            Ok(jobs) => Claimed::items(jobs),
            Err(e) => {
                tracing::warn!(error.cause = %e, "writer: database error; retrying");
                Claimed::none()
            }
        }
    }

    fn process(&self, job: &Job) -> impl Future<Output = Self::Output> + Send + 'static {
        let (pool, client, defaults) = (
            self.pool.clone(),
            self.google.clone(),
            self.default_reminders.clone(),
        );
        let job = job.clone();
        async move { process::process(&pool, &client, &defaults, &job).await }
    }

    async fn settle(&self, job: Job, done: Result<Self::Output, JoinError>) {
        let result = joined(&job, done);
        if let Err(e) = self.record(&job, result, &mut Pass::default()).await {
            tracing::warn!(error.cause = %e, "writer: database error; the entry will be retried");
        }
    }

    /// Keeps the leases of the entries in flight.
    async fn heartbeat(&self, in_flight: Vec<&Job>) {
        let ids: Vec<Uuid> = in_flight.iter().map(|j| j.event_id).collect();
        if let Err(e) = outbox::extend(&self.pool, self.owner, &ids, LEASE).await {
            tracing::debug!(error.cause = %e, "outbox lease heartbeat failed");
        }
    }
}

/// One entry's outcome; a task that panicked (or was cut short) is retried like any transient failure.
fn joined(job: &Job, done: Result<Result<Done, JobError>, JoinError>) -> Result<Done, JobError> {
    done.unwrap_or_else(|_| {
        // The panic hook has printed the message.
        tracing::error!(calendar = %job.calendar_id, event = %job.event_id, "outbox job panicked");
        Err(JobError::Panicked)
    })
}
