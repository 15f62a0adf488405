//! Per-calendar sync state: the lease that makes one run per calendar cluster-wide, the token and
//! failures; a run's `sync_runs` row is opened with the claim (the rest of that table: `sync_runs`).

use std::collections::HashMap;
use std::time::Duration;

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::sync_runs::Trigger;

mod marks;
mod resume;
pub use marks::{
    mark_due_for_poll, mark_pending_pushes, mark_push_degraded, next_poll_due,
    record_channel_created, record_renewal_failure, record_watch_refusal,
};
pub use resume::{Resumed, resume, resume_account};

/// Runs of one account at once, cluster-wide (checked at claim: a soft cap, two claims racing may
/// pass it by one). A quiet account's push then always finds a free worker slot, whatever another
/// account's runs are waiting out; three, so one person's three role calendars never wait.
pub const RUNS_PER_ACCOUNT: i64 = 3;

/// A calendar claimed for one run.
#[derive(Debug, Clone)]
pub struct Claim {
    pub calendar_id: String,
    pub casquette: String,
    /// The calendar's account, and its id at Google (`calendar_id` is calsync's key for it).
    pub account: String,
    pub google_id: String,
    pub owner: Uuid,
    pub sync_token: Option<String>,
    pub full_requested: bool,
    /// When the change this run answers was first known (push or poll mark), if one was pending.
    pub pending_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Its `sync_runs` row.
    pub run_id: i64,
    /// The calendar's time zone as last stored (written again only when Google reports another).
    pub time_zone: Option<String>,
    /// What started the run: the caller's, or else what marked the calendar pending.
    pub trigger: Trigger,
    /// When the claim was made (a safety sync's changes count as unannounced only if no push came since).
    pub claimed_at: chrono::DateTime<chrono::Utc>,
    /// This push-started run found the calendar's degraded channel replaced by one that has
    /// delivered a notification: the degraded mark was lifted by the claim.
    pub push_proved: bool,
}

/// Claims `calendar_id` if no live lease holds it and no permanent error paused it, and opens its
/// `sync_runs` row in the same statement (one round trip on the push path). `trigger` None: the run
/// carries what marked the calendar pending (`sync_state.pending_trigger`; `push` if nothing did).
/// Clearing `pending` here is what coalesces: pushes arriving during the run set it again, once.
/// A push-started claim also lifts a degraded mark once a channel created after it has delivered.
///
/// The push path's one durable commit after the webhook's mark is the run's data transaction: this
/// claim commits without waiting for the WAL flush (`synchronous_commit = off` for its transaction
/// only). That is safe because nothing durable depends on it: a claim lost with a PostgreSQL crash
/// reverts the row to the mark (pending, no lease), and the run that held it cannot commit its
/// data, since `save_token` is fenced by the lease; invariants 1, 5 and 6 hold.
pub async fn claim(
    pool: &PgPool,
    calendar_id: &str,
    owner: Uuid,
    lease: Duration,
    trigger: Option<Trigger>,
    full: bool,
) -> Result<Option<Claim>, sqlx::Error> {
    let lease_secs = lease.as_secs_f64();
    let row = sqlx::query!(
        r#"WITH before AS (
               SELECT CASE WHEN pending THEN pending_since END AS since,
                      COALESCE($4, CASE WHEN pending THEN pending_trigger ELSE 'push' END) AS trigger,
                      push_degraded_at IS NOT NULL AND last_push_at IS NOT NULL AND EXISTS (
                          SELECT 1 FROM watch_channels w
                           WHERE w.calendar_id = $1 AND w.state = 'active'
                             AND w.created_at > push_degraded_at AND w.created_at < last_push_at
                      ) AS proved
                 FROM sync_state,
                      -- Not flushed to disk before answering: lost with a PostgreSQL crash, the claim
                      -- leaves the durable mark (pending, no lease) and the calendar is claimed again;
                      -- the run's data commit, fenced by the lease, is durable and flushes it anyway.
                      (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed
                WHERE calendar_id = $1
           ), claimed AS (
               UPDATE sync_state s
                  SET lease_owner = $2, lease_until = now() + make_interval(secs => $3),
                      pending = FALSE, last_attempt_at = now(), updated_at = now(),
                      push_degraded = CASE WHEN before.proved AND before.trigger = 'push'
                                           THEN NULL ELSE s.push_degraded END,
                      push_degraded_at = CASE WHEN before.proved AND before.trigger = 'push'
                                              THEN NULL ELSE s.push_degraded_at END
                 FROM calendars c, before
                WHERE s.calendar_id = $1 AND c.id = s.calendar_id AND c.active
                  AND (s.lease_until IS NULL OR s.lease_until < now())
                  AND s.error_reason IS NULL
                  AND NOT EXISTS (SELECT 1 FROM account_state a
                                   WHERE a.account = c.account AND a.paused_reason IS NOT NULL)
                  -- Fair across accounts: one account's runs (say, in a 429 storm, each
                  -- waiting out its backoff) never hold every worker slot of the cluster.
                  AND (SELECT count(*) FROM sync_state o JOIN calendars oc ON oc.id = o.calendar_id
                        WHERE oc.account = c.account AND o.calendar_id <> $1
                          AND o.lease_owner IS NOT NULL AND o.lease_until > now()) < $6
            RETURNING s.calendar_id, s.sync_token, s.full_sync_requested, c.casquette,
                      c.account, c.google_id,
                      c.time_zone, before.since AS pending_since, before.trigger,
                      before.proved AND before.trigger = 'push' AS proved
           ), run AS (
               INSERT INTO sync_runs (calendar_id, trigger, full_sync, pending_since)
               SELECT calendar_id, trigger, $5, pending_since FROM claimed
               RETURNING id, started_at
           )
           SELECT claimed.sync_token, claimed.full_sync_requested AS "full_sync_requested!",
                  claimed.casquette AS "casquette!", claimed.account AS "account!",
                  claimed.google_id AS "google_id!", claimed.time_zone, claimed.pending_since,
                  claimed.trigger AS "trigger!: Trigger", claimed.proved AS "proved!",
                  run.id AS "run_id!", run.started_at AS "started_at!"
             FROM claimed, run"#,
        calendar_id,
        owner,
        lease_secs,
        trigger.map(Trigger::as_str),
        full,
        RUNS_PER_ACCOUNT,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| Claim {
        calendar_id: calendar_id.to_string(),
        casquette: r.casquette,
        account: r.account,
        google_id: r.google_id,
        owner,
        sync_token: r.sync_token,
        full_requested: r.full_sync_requested,
        time_zone: r.time_zone,
        pending_since: r.pending_since,
        run_id: r.run_id,
        trigger: r.trigger,
        claimed_at: r.started_at,
        push_proved: r.proved,
    }))
}

/// Extends a held lease; false when the lease was lost (another replica took over).
pub async fn heartbeat(pool: &PgPool, claim: &Claim, lease: Duration) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE sync_state SET lease_until = now() + make_interval(secs => $3)
          WHERE calendar_id = $1 AND lease_owner = $2",
        claim.calendar_id,
        claim.owner,
        lease.as_secs_f64(),
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Saves the new token inside the last page's transaction, fenced by the lease.
pub async fn save_token(
    tx: &mut Transaction<'_, Postgres>,
    claim: &Claim,
    token: &str,
) -> Result<bool, sqlx::Error> {
    // The run ends here, with its data and the lease's release in one commit: its row's end time is
    // set in the same statement, so no later run of the calendar can appear to overlap it.
    let done = sqlx::query!(
        "WITH run AS (UPDATE sync_runs SET finished_at = clock_timestamp() WHERE id = $4)
         UPDATE sync_state
            SET sync_token = $3, full_sync_requested = FALSE, last_success_at = now(), last_finished_at = now(),
                consecutive_failures = 0, alerted = FALSE, retry_at = NULL, lease_owner = NULL, lease_until = NULL,
                updated_at = now()
          WHERE calendar_id = $1 AND lease_owner = $2",
        claim.calendar_id,
        claim.owner,
        token,
        claim.run_id,
    )
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Outcome of recording a failure: whether this failure crossed the alert threshold.
pub struct FailureRecord {
    pub consecutive: i32,
    pub alert_now: bool,
}

/// Releases the lease after a failed run: the calendar stays dirty, the failure is counted,
/// and the third consecutive failure (only that one) asks for an alert.
pub async fn record_failure(
    pool: &PgPool,
    claim: &Claim,
    permanent_reason: Option<&str>,
    alert_after: i32,
) -> Result<FailureRecord, sqlx::Error> {
    let row = sqlx::query!(
        r#"WITH old AS (SELECT alerted FROM sync_state
                          WHERE calendar_id = $1 AND lease_owner = $2 FOR UPDATE)
           UPDATE sync_state s
              SET pending = TRUE, consecutive_failures = s.consecutive_failures + 1, last_finished_at = now(),
                  retry_at = now() + make_interval(secs => LEAST(600, 5 * power(2, LEAST(s.consecutive_failures, 8)))),
                  error_reason = COALESCE($3, s.error_reason),
                  alerted = s.alerted OR s.consecutive_failures + 1 >= $4,
                  lease_owner = NULL, lease_until = NULL, updated_at = now()
             FROM old
            WHERE s.calendar_id = $1 AND s.lease_owner = $2
        RETURNING s.consecutive_failures, (s.consecutive_failures >= $4 AND NOT old.alerted) AS "alert_now!""#,
        claim.calendar_id,
        claim.owner,
        permanent_reason,
        alert_after,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row
        .map(|r| FailureRecord {
            consecutive: r.consecutive_failures,
            alert_now: r.alert_now,
        })
        .unwrap_or(FailureRecord {
            consecutive: 0,
            alert_now: false,
        }))
}

/// Forgets these calendars' sync tokens and asks for a full sync at their next run (their local
/// events were deleted: an incremental listing would never bring them back).
pub async fn forget_tokens(
    conn: &mut sqlx::PgConnection,
    keys: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE sync_state SET sync_token = NULL, full_sync_requested = TRUE, updated_at = now()
          WHERE calendar_id = ANY($1)",
        keys
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Why a calendar is paused, if it is.
pub async fn paused_reason(
    pool: &PgPool,
    calendar_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query_scalar!(
        "SELECT COALESCE(s.error_reason, a.paused_reason) FROM sync_state s
           JOIN calendars c ON c.id = s.calendar_id
           LEFT JOIN account_state a ON a.account = c.account
          WHERE s.calendar_id = $1",
        calendar_id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.flatten())
}

/// Asks for a full resync at the next run (410, or `calsync sync --full`).
pub async fn request_full(pool: &PgPool, calendar_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE sync_state SET full_sync_requested = TRUE, pending = TRUE, updated_at = now()
          WHERE calendar_id = $1",
        calendar_id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Marks a calendar dirty for a catch-up run (trigger `poll`): a new channel on a calendar that had none.
pub async fn mark_pending(pool: &PgPool, calendar_id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE sync_state SET pending = TRUE, pending_since = now(), pending_trigger = 'poll'
          WHERE calendar_id = $1 AND NOT pending",
        calendar_id
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks dirty again the calendars whose runs `owner` claimed and never finished (cut short at
/// shutdown): their claim cleared `pending`, so otherwise only the next push or the fallback poll
/// would run them again, and the poll never runs a calendar that has not synced yet. What a push
/// arriving during the run does; their leases lapse as usual before anyone claims them.
pub async fn mark_interrupted(pool: &PgPool, owner: Uuid) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE sync_state SET pending = TRUE, pending_since = now()
          WHERE lease_owner = $1 AND NOT pending",
        owner
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Calendars ready for a run, and whether others are pending but held back.
///
/// A change that arrived after the last run finished runs at once (low latency for single changes).
/// One that arrived while a run was in progress is a burst's tail: it waits until pushes have been
/// quiet for 1 s (at most 5 s after that run started), so a burst costs one run plus one trailing run.
///
/// Each account gets at most its free share of [`RUNS_PER_ACCOUNT`] (less its runs in flight,
/// cluster-wide): an account at its cap is left out until one of its runs ends (that run's worker
/// claims again then). Listed anyway, its calendars would come first in the round robin (the
/// oldest marks) and take the free slots, where their claims fail at once and are tried again at
/// once: a worker spinning on them while another account's push waits for a slot. The share also
/// keeps one claim from starting more of an account's runs than the cap at once.
///
/// A calendar whose lease lapsed while still held (its replica died mid-run: the claim had cleared
/// `pending`, and the run neither saved nor recorded a failure) is ready as if pending: the change
/// that run was fetching is fetched again by another replica once the lease has expired, not at the
/// next safety sync.
pub async fn pending_calendars(pool: &PgPool) -> Result<(Vec<String>, bool), sqlx::Error> {
    let rows = sqlx::query!(
        r#"WITH running AS (
               SELECT c.account, count(*) AS runs
                 FROM sync_state s JOIN calendars c ON c.id = s.calendar_id
                -- A live lease has an owner: the leased partial index, not a scan of every calendar.
                WHERE s.lease_owner IS NOT NULL AND s.lease_until > now()
                GROUP BY c.account
           )
           SELECT s.calendar_id, c.account, COALESCE(r.runs, 0) AS "runs!",
                  (s.last_finished_at IS NULL OR s.pending_since > s.last_finished_at
                   OR s.last_attempt_at < now() - interval '5 seconds'
                   OR s.last_push_at IS NULL OR s.last_push_at < now() - interval '1 second') AS "ready!"
             FROM sync_state s JOIN calendars c ON c.id = s.calendar_id
             LEFT JOIN running r ON r.account = c.account
            WHERE (s.pending OR s.lease_owner IS NOT NULL) AND c.active AND s.error_reason IS NULL
              AND (s.lease_until IS NULL OR s.lease_until < now())
              AND (s.retry_at IS NULL OR s.retry_at <= now())
              AND NOT EXISTS (SELECT 1 FROM account_state a
                               WHERE a.account = c.account AND a.paused_reason IS NOT NULL)
            -- Round robin across accounts (each account's oldest first), so a burst on one
            -- account does not delay another account's pushes.
            ORDER BY row_number() OVER (PARTITION BY c.account ORDER BY s.pending_since NULLS FIRST),
                     s.pending_since NULLS FIRST"#
    )
    .fetch_all(pool)
    .await?;
    let mut taken: HashMap<String, i64> = HashMap::new();
    let (mut ready, mut waiting) = (Vec::new(), false);
    for r in rows {
        let runs = taken.entry(r.account).or_insert(r.runs);
        if *runs >= RUNS_PER_ACCOUNT {
            continue;
        }
        if r.ready {
            *runs += 1;
            ready.push(r.calendar_id);
        } else {
            waiting = true;
        }
    }
    Ok((ready, waiting))
}
