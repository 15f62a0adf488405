//! The sync_runs table: one row per sync run (what started it, full or not, how it ended, its
//! counts). A run's row is opened by `sync_state::claim`, in the statement that takes the calendar's
//! lease (one round trip on the push path), and its end time set by `sync_state::save_token` with
//! the last page; closing it with the outcome is here.

use sqlx::PgPool;

/// What one page (or run) changed locally: a run's `events_created`, `_updated`, `_deleted` and
/// `_unchanged`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub deleted: u64,
    pub unchanged: u64,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.created += other.created;
        self.updated += other.updated;
        self.deleted += other.deleted;
        self.unchanged += other.unchanged;
    }
}

/// What started a run (`sync_runs.trigger`; the table's CHECK lists the same values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum Trigger {
    /// The sync worker, for a calendar a push marked pending.
    Push,
    /// The sync worker, for a calendar the fallback poll marked (its channel is not live), or a
    /// catch-up after a calendar without a channel got one.
    Poll,
    /// The sync worker, for a calendar with a live channel marked by the safety sync
    /// (`push.safety_sync_hours`); changes it finds that no push announced degrade the channel.
    Safety,
    /// `calsync sync` (and the demo's and the benchmark's runs).
    Manual,
    /// `POST /api/v1/calendar/sync`.
    Api,
}

impl Trigger {
    /// The stored value, also the `trigger` label of the run metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Poll => "poll",
            Self::Safety => "safety",
            Self::Manual => "manual",
            Self::Api => "api",
        }
    }
}

/// How a run stands (`sync_runs.status`): `running` from its claim until it is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Success,
    Failed,
}

/// Closes a `sync_runs` row with its counts: failed when `error` is given, success otherwise.
pub async fn finish_run(
    pool: &PgPool,
    run_id: i64,
    full: bool,
    pages: u32,
    counts: Counts,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    let status = match error {
        Some(_) => RunStatus::Failed,
        None => RunStatus::Success,
    };
    sqlx::query!(
        "UPDATE sync_runs SET finished_at = COALESCE(finished_at, now()), status = $2, full_sync = $3, pages = $4,
                events_created = $5, events_updated = $6, events_deleted = $7,
                events_unchanged = $8, error = $9
          WHERE id = $1",
        run_id,
        status as RunStatus,
        full,
        pages as i32,
        counts.created as i32,
        counts.updated as i32,
        counts.deleted as i32,
        counts.unchanged as i32,
        error,
    )
    .execute(pool)
    .await?;
    Ok(())
}
