//! The outbox entries being sent to Google: each in its own task, taken back one at a time as they
//! finish (a slow one holds back nobody), their leases extended together.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::PgPool;
use tokio::task::{Id, JoinError, JoinSet};
use uuid::Uuid;

use super::process::{self, Done, JobError};
use crate::config::Reminder;
use crate::db::outbox::Job;
use crate::google::GoogleClient;

/// Jobs in flight; dropping it aborts them (their leases lapse and they are claimed again).
#[derive(Default)]
pub struct InFlight {
    tasks: JoinSet<Result<Done, JobError>>,
    jobs: HashMap<Id, Job>,
}

impl InFlight {
    /// Starts sending `job`.
    pub fn spawn(
        &mut self,
        pool: &PgPool,
        client: &Arc<GoogleClient>,
        defaults: &Arc<Vec<Reminder>>,
        job: Job,
    ) {
        let (pool, client, defaults) = (pool.clone(), client.clone(), defaults.clone());
        let claimed = job.clone();
        let handle = self
            .tasks
            .spawn(async move { process::process(&pool, &client, &defaults, &claimed).await });
        self.jobs.insert(handle.id(), job);
    }

    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// The entries whose leases must be kept alive.
    pub fn event_ids(&self) -> Vec<Uuid> {
        self.jobs.values().map(|j| j.event_id).collect()
    }

    /// The next job to finish, with its outcome (None when none is in flight). Cancel-safe.
    pub async fn next(&mut self) -> Option<(Job, Result<Done, JobError>)> {
        let done = self.tasks.join_next_with_id().await?;
        self.take(done)
    }

    /// A job that has already finished, if any.
    pub fn try_next(&mut self) -> Option<(Job, Result<Done, JobError>)> {
        let done = self.tasks.try_join_next_with_id()?;
        self.take(done)
    }

    fn take(
        &mut self,
        done: Result<(Id, Result<Done, JobError>), JoinError>,
    ) -> Option<(Job, Result<Done, JobError>)> {
        let (id, result) = match done {
            Ok((id, result)) => (id, result),
            Err(e) => (e.id(), Err(JobError::Panicked)),
        };
        let job = self.jobs.remove(&id)?;
        if matches!(result, Err(JobError::Panicked)) {
            // The panic hook has printed the message; the entry is retried like any failure.
            tracing::error!(calendar = %job.calendar_id, event = %job.event_id, "outbox job panicked");
        }
        Some((job, result))
    }
}
