//! Cluster-wide leadership by session advisory lock, held on one pooled connection while the leader
//! works. That connection never goes back to the pool once it may hold the lock (it is closed, the
//! session and its locks end with it), so no error or cancellation can leave every replica follower.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::pool::PoolConnection;
use sqlx::postgres::Postgres;

/// Bound on the unlock statement (the connection is closed instead when it is not answered).
const UNLOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs `work` while holding the advisory lock `key` on its own connection (which `work` receives,
/// e.g. to ping it: the lock dies with that connection). `Ok(None)`: another session leads.
pub async fn lead<T, E, F>(pool: &PgPool, key: i64, work: F) -> Result<Option<T>, E>
where
    F: AsyncFnOnce(&mut PoolConnection<Postgres>) -> Result<T, E>,
    E: From<sqlx::Error>,
{
    let mut conn = pool.acquire().await?;
    let leader = sqlx::query_scalar!("SELECT pg_try_advisory_lock($1) AS \"l!\"", key)
        .fetch_one(&mut *conn)
        .await;
    match leader {
        Ok(true) => {}
        Ok(false) => return Ok(None),
        Err(e) => {
            // The lock may have been taken before the answer was lost.
            conn.close_on_drop();
            return Err(e.into());
        }
    }
    // From here the connection is closed when dropped (gracefully, in the background), whatever
    // happens: an error, a failed unlock, or this future being cancelled mid-way.
    conn.close_on_drop();
    let result = work(&mut conn).await;
    // Released at once when the server answers; otherwise it ends with the session.
    let _ = tokio::time::timeout(
        UNLOCK_TIMEOUT,
        sqlx::query_scalar!("SELECT pg_advisory_unlock($1) AS \"u!\"", key).fetch_one(&mut *conn),
    )
    .await;
    result.map(Some)
}
