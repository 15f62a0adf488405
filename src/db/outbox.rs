//! The outbox queue: claims with SKIP LOCKED and a lease, completion fenced by generation, retries and parking.

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

/// One claimed outbox entry.
#[derive(Debug, Clone)]
pub struct Job {
    pub event_id: Uuid,
    pub calendar_id: String,
    pub generation: i64,
    pub attempts: i32,
}

/// Claims up to `limit` ready entries for `owner` (others skip them).
pub async fn claim(
    pool: &PgPool,
    owner: Uuid,
    limit: i64,
    lease: Duration,
) -> Result<Vec<Job>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"UPDATE outbox o
              SET lease_owner = $1, lease_until = now() + make_interval(secs => $3), attempts = o.attempts + 1
             FROM (SELECT event_id FROM outbox
                    WHERE parked_at IS NULL AND next_attempt_at <= now()
                      AND (lease_until IS NULL OR lease_until < now())
                      -- An account Google refused stays paused: its writes wait (one alert, no storm).
                      AND NOT EXISTS (SELECT 1 FROM calendars c JOIN account_state a ON a.account = c.account
                                       WHERE c.id = outbox.calendar_id AND a.paused_reason IS NOT NULL)
                    ORDER BY next_attempt_at
                    LIMIT $2
                    FOR UPDATE SKIP LOCKED) ready
            WHERE o.event_id = ready.event_id
        RETURNING o.event_id, o.calendar_id, o.generation, o.attempts"#,
        owner,
        limit,
        lease.as_secs_f64(),
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Job {
            event_id: r.event_id,
            calendar_id: r.calendar_id,
            generation: r.generation,
            attempts: r.attempts,
        })
        .collect())
}

/// Keeps this owner's leases alive while their writes are in flight.
pub async fn extend(
    pool: &PgPool,
    owner: Uuid,
    ids: &[Uuid],
    lease: Duration,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE outbox SET lease_until = now() + make_interval(secs => $3)
          WHERE event_id = ANY($1) AND lease_owner = $2",
        ids,
        owner,
        lease.as_secs_f64(),
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Done: the entry goes away unless a newer local change arrived meanwhile (then it is released for another pass).
pub async fn complete(pool: &PgPool, job: &Job) -> Result<(), sqlx::Error> {
    let deleted = sqlx::query!(
        "DELETE FROM outbox WHERE event_id = $1 AND generation = $2",
        job.event_id,
        job.generation
    )
    .execute(pool)
    .await?;
    if deleted.rows_affected() == 0 {
        sqlx::query!(
            "UPDATE outbox SET lease_owner = NULL, lease_until = NULL, attempts = 0, next_attempt_at = now()
              WHERE event_id = $1",
            job.event_id
        )
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// Transient failure: retry after `delay`.
pub async fn retry_later(
    pool: &PgPool,
    job: &Job,
    delay: Duration,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE outbox SET lease_owner = NULL, lease_until = NULL, last_error = $3,
                next_attempt_at = now() + make_interval(secs => $2)
          WHERE event_id = $1",
        job.event_id,
        delay.as_secs_f64(),
        error
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Poisoned (Google refused the content): kept with its reason, never retried, never blocking others.
pub async fn park(pool: &PgPool, job: &Job, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE outbox SET lease_owner = NULL, lease_until = NULL, parked_at = now(), last_error = $2
          WHERE event_id = $1",
        job.event_id,
        error
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Exponential backoff for outbox retries: 2 s, 4 s, … capped at 10 minutes.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 10) as u32;
    Duration::from_secs(2u64.pow(exp).min(600))
}

/// Drops an event's outbox entry (a newer Google version replaced the local change).
pub async fn drop_for_event(
    conn: &mut sqlx::PgConnection,
    event_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM outbox WHERE event_id = $1", event_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Completes `job`'s entry inside a transaction, only for its generation (a newer local change
/// re-queued since keeps its entry).
pub async fn complete_in(conn: &mut sqlx::PgConnection, job: &Job) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM outbox WHERE event_id = $1 AND generation = $2",
        job.event_id,
        job.generation
    )
    .execute(conn)
    .await?;
    Ok(())
}
