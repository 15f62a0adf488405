//! `Syncer`: claims a calendar, runs the engine, records the run, the health key, metrics and alerts.

use std::sync::Arc;

use sqlx::PgPool;
use uuid::Uuid;

use super::alerts::{Alert, AlertSink};
use super::engine::{self, HEARTBEAT, LEASE, RunContext, RunError, RunReport};
use crate::accounts::GoogleAccounts;
use crate::config::Settings;
use crate::db::sync_runs;
use crate::db::sync_state as state;
use crate::metrics::Metrics;
use crate::notify::TelegramNotifier;
use crate::redis_health::{LastSync, RedisHealth};

/// Consecutive failed runs of a calendar before one system alert.
pub const ALERT_AFTER_FAILURES: i32 = 3;

/// What started a run; it lives in the data layer, which stores it (`sync_runs.trigger`).
pub use crate::db::sync_runs::Trigger;

/// Runs syncs; cheap to clone, one per process.
#[derive(Clone)]
pub struct Syncer {
    pub pool: PgPool,
    /// Every account's Google client.
    pub google: Arc<GoogleAccounts>,
    pub settings: Arc<Settings>,
    pub redis: Option<RedisHealth>,
    pub alerts: Arc<dyn AlertSink>,
    pub metrics: Arc<Metrics>,
    pub owner: Uuid,
    /// Telegram "event modified" messages for Google-side changes; None when Telegram is off.
    pub notifier: Option<TelegramNotifier>,
}

/// Outcome of asking for one calendar's sync.
#[derive(Debug)]
pub enum Outcome {
    Done(RunReport),
    /// Another worker (or replica) holds the calendar; its run covers this request.
    Busy,
    /// A permanent error paused the calendar (the reason); an explicit sync (`calsync sync`,
    /// `POST /api/v1/calendar/sync`) lifts the pause and retries.
    Paused(String),
    Failed(RunError),
}

impl Syncer {
    /// Claims and syncs one calendar now, for `trigger` (a CLI, API or benchmark caller).
    pub async fn sync_calendar(
        &self,
        calendar_id: &str,
        trigger: Trigger,
        full: bool,
    ) -> Result<Outcome, sqlx::Error> {
        self.run(calendar_id, Some(trigger), full).await
    }

    /// Claims and syncs a pending calendar (the sync worker): the run's trigger is what marked it
    /// (`push`, `poll` or `safety`).
    pub async fn sync_pending(&self, calendar_id: &str) -> Result<Outcome, sqlx::Error> {
        self.run(calendar_id, None, false).await
    }

    async fn run(
        &self,
        calendar_id: &str,
        trigger: Option<Trigger>,
        full: bool,
    ) -> Result<Outcome, sqlx::Error> {
        if let Some(trigger @ (Trigger::Manual | Trigger::Api)) = trigger {
            if let Some(account) = crate::db::calendars::account_of(&self.pool, calendar_id).await?
            {
                self.google.resume_credentials(&account).await;
            }
            let resumed = state::resume(&self.pool, calendar_id).await?;
            if resumed != state::Resumed::default() {
                tracing::info!(calendar = %calendar_id, trigger = trigger.as_str(),
                    accounts = resumed.accounts, calendars = resumed.calendars,
                    outbox_entries = resumed.entries,
                    "pauses lifted and parked writes re-queued by an explicit sync");
            }
        }
        let Some(claim) =
            state::claim(&self.pool, calendar_id, self.owner, LEASE, trigger, full).await?
        else {
            return Ok(match state::paused_reason(&self.pool, calendar_id).await? {
                Some(reason) => Outcome::Paused(reason),
                None => Outcome::Busy,
            });
        };
        let (run_id, trigger) = (claim.run_id, claim.trigger);
        if claim.push_proved {
            tracing::info!(calendar = %calendar_id, casquette = %claim.casquette,
                "a new channel delivered a notification: the calendar is back on push");
        }
        let result = match self.google.client(&claim.account).await {
            Ok(client) => {
                // The claim says the account is not paused, cluster-wide. A hold this process still
                // keeps from a refusal is then either one no run has turned into the account's pause
                // yet (the writer met it first: its hold would keep answering "on hold", never
                // invalid_grant, and the account would not be paused) or one an explicit sync on
                // another replica has lifted. Either way the run asks the token endpoint itself.
                client.lift_hold();
                let ctx = RunContext {
                    pool: &self.pool,
                    client: &client,
                    page_size: self.settings.google.page_size,
                    sync_range: self.settings.google_calendar.sync_range,
                    notifier: self.notifier.as_ref(),
                };
                let (pool, held) = (&self.pool, &claim);
                crate::runner::with_heartbeat(
                    engine::run(&ctx, &claim, full),
                    HEARTBEAT,
                    move || async move {
                        if let Err(e) = state::heartbeat(pool, held, LEASE).await {
                            tracing::debug!(calendar = %calendar_id, error.cause = %e, "lease heartbeat failed");
                        }
                    },
                )
                .await
            }
            Err(e) => Err(engine::RunError::Google(e)),
        };
        let labels = || {
            vec![
                ("account", claim.account.clone()),
                ("calendar", calendar_id.to_string()),
                ("casquette", claim.casquette.clone()),
                ("trigger", trigger.as_str().into()),
            ]
        };
        match result {
            Ok(report) => {
                sync_runs::finish_run(
                    &self.pool,
                    run_id,
                    report.full,
                    report.pages,
                    report.counts,
                    None,
                )
                .await?;
                self.metrics
                    .counter("calsync_sync_runs_total", "Sync runs by outcome.", {
                        let mut l = labels();
                        l.push(("outcome", "ok".into()));
                        l
                    })
                    .inc();
                self.metrics
                    .histogram(
                        "calsync_sync_run_seconds",
                        "Duration of successful sync runs.",
                        vec![("trigger", trigger.as_str().into())],
                    )
                    .observe(std::time::Duration::from_millis(report.elapsed_ms));
                if let (Trigger::Push, Some(since)) = (trigger, claim.pending_since) {
                    let delay = (chrono::Utc::now() - since).to_std().unwrap_or_default();
                    self.metrics
                        .histogram(
                            "calsync_push_to_db_seconds",
                            "From the push that marked a calendar to its changes committed.",
                            vec![],
                        )
                        .observe(delay);
                }
                tracing::info!(
                    account = %claim.account, calendar = %calendar_id, casquette = %claim.casquette,
                    trigger = trigger.as_str(),
                    full = report.full, pages = report.pages, created = report.counts.created,
                    updated = report.counts.updated, deleted = report.counts.deleted,
                    unchanged = report.counts.unchanged, elapsed_ms = report.elapsed_ms,
                    "sync run done"
                );
                self.check_announced(&claim, &report).await?;
                if let Some(redis) = &self.redis {
                    let c = report.counts;
                    let value = LastSync::now(c.created, c.updated, c.deleted, 0);
                    if let Err(e) = redis.write_last_sync(&value).await {
                        tracing::warn!(error.cause = %e, "health key not written (redis unavailable)");
                    }
                }
                Ok(Outcome::Done(report))
            }
            Err(err) => {
                let permanent = err.permanent_reason();
                let message = err.to_string();
                if let Err(e) = sync_runs::finish_run(
                    &self.pool,
                    run_id,
                    full,
                    0,
                    Default::default(),
                    Some(&message),
                )
                .await
                {
                    tracing::warn!(error.cause = %e, "sync run row not closed");
                }
                let record = state::record_failure(
                    &self.pool,
                    &claim,
                    permanent.as_deref(),
                    ALERT_AFTER_FAILURES,
                )
                .await?;
                self.metrics
                    .counter("calsync_sync_runs_total", "Sync runs by outcome.", {
                        let mut l = labels();
                        l.push(("outcome", "error".into()));
                        l
                    })
                    .inc();
                tracing::warn!(
                    account = %claim.account, calendar = %calendar_id, casquette = %claim.casquette,
                    trigger = trigger.as_str(),
                    consecutive_failures = record.consecutive, permanent = permanent.is_some(),
                    error = %message, "sync run failed"
                );
                if matches!(&err, RunError::Google(g) if g.is_invalid_grant()) {
                    // The account, not the calendar: its other calendars stop too, one alert.
                    crate::sync::pause::refused(
                        &self.pool,
                        self.alerts.as_ref(),
                        &claim.account,
                        &message,
                    )
                    .await?;
                } else if record.alert_now {
                    self.alerts
                        .alert(&Alert::ConsecutiveFailures {
                            account: claim.account.clone(),
                            calendar_id: calendar_id.to_string(),
                            casquette: claim.casquette.clone(),
                            failures: record.consecutive,
                            last_error: message,
                        })
                        .await;
                }
                Ok(Outcome::Failed(err))
            }
        }
    }

    /// A safety sync that found changes no push announced marks the calendar's channel degraded: it
    /// goes on the fallback poll, and the renewal loop gives it a new channel.
    async fn check_announced(
        &self,
        claim: &state::Claim,
        report: &RunReport,
    ) -> Result<(), sqlx::Error> {
        let c = report.counts;
        let changes = c.created + c.updated + c.deleted;
        if claim.trigger != Trigger::Safety || changes == 0 {
            return Ok(());
        }
        if state::mark_push_degraded(&self.pool, &claim.calendar_id, changes, claim.claimed_at)
            .await?
        {
            tracing::warn!(calendar = %claim.calendar_id, casquette = %claim.casquette, changes,
                "safety sync found changes no push announced: channel degraded, calendar on the fallback poll until a new channel delivers");
            self.metrics
                .counter(
                    "calsync_channels_degraded_total",
                    "Channels a safety sync found silent (changes no push announced).",
                    vec![("casquette", claim.casquette.clone())],
                )
                .inc();
        }
        Ok(())
    }
}
