//! The data-access layer: the pool (with acquire and statement timeouts), the embedded migrations,
//! and one module per table holding all of that table's SQL; no SQL lives outside this folder.

pub mod account_state;
pub mod accounts;
pub mod calendars;
pub mod conflicts;
pub mod events;
pub mod from_google;
pub mod google_tx;
pub mod locks;
pub mod outbox;
#[cfg(feature = "emulator")]
pub mod probes;
pub mod reach;
pub mod status;
pub mod sync_runs;
pub mod sync_state;
pub mod watch_channels;

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::DatabaseSettings;

/// The migrations under `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Connection options from the settings, with the server-side statement timeout.
pub fn connect_options(settings: &DatabaseSettings) -> Result<PgConnectOptions, sqlx::Error> {
    let opts: PgConnectOptions = settings.url.parse()?;
    let timeout_ms = settings
        .statement_timeout_secs
        .saturating_mul(1000)
        .to_string();
    Ok(opts
        .application_name("calsync")
        .options([("statement_timeout", timeout_ms.as_str())]))
}

/// A pooled connection idle for longer than this is pinged before use (see [`pool`]).
pub const PING_AFTER_IDLE: Duration = Duration::from_secs(2);

/// A lazy pool: nothing connects until the first query, so calsync starts even while PostgreSQL is down.
///
/// sqlx pings every connection it hands out by default: one more round trip before each statement
/// or transaction (three on the push path, two per outbox write; the write path ran 10 % behind
/// 8ebfab7 with it). Here only a connection idle for [`PING_AFTER_IDLE`] is pinged, and a dead one
/// replaced before use. A busy connection broken since its last use (PostgreSQL restarted
/// meanwhile) fails its next statement with an I/O error before anything commits, as a statement
/// in flight during the restart does, and every caller treats that as transient. Two things make
/// that safe, each found by the convergence suite (docs/testing.md, seeds 26 and 184):
/// - no flow answers after a commit from a second statement: the API's create and patch answer
///   the row their own statement returns;
/// - no connection of this pool ever LISTENs: the listeners have pools of their own ([`listen`]),
///   so no notification can meet a statement's reply.
pub fn pool(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs.max(1)))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(connect_options(settings)?))
}

/// Applies pending migrations (idempotent; concurrent replicas serialise on sqlx's advisory lock).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// A database error worth retrying: the server is unreachable, restarting or shutting down.
pub fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed => true,
        // 08: connection exceptions; 57P: admin shutdown, crash shutdown, cannot connect now.
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

/// How long startup waits for PostgreSQL before giving up.
pub const STARTUP_WAIT: Duration = Duration::from_secs(60);

/// Runs a startup step again while PostgreSQL is unreachable or restarting (up to [`STARTUP_WAIT`]),
/// so a process started while the database restarts comes up instead of exiting.
pub async fn retry_startup<T, F, Fut>(what: &str, mut step: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(250);
    loop {
        match step().await {
            Ok(v) => return Ok(v),
            Err(e) if is_transient(&e) && started.elapsed() < STARTUP_WAIT => {
                tracing::warn!(step = what, error.cause = %e, retry_in_ms = pause.as_millis() as u64,
                    "database not ready at startup; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(e),
        }
    }
}

/// A LISTEN connection on `channel`, on a one-connection pool of its own built with `pool`'s
/// options (sqlx reconnects it, and listens again, when it drops).
///
/// Never on `pool` itself: a reconnect cut short (the caller's wait timing out while PostgreSQL
/// restarts) drops a connection that may already be listening, and its pool takes it back. In the
/// shared pool, which pings only idle connections, a later statement on it could meet a
/// notification ahead of its reply and fail after its commit (an API insert answered 503, then
/// retried into a duplicate: docs/testing.md, seed 73). A listener's own pool only ever serves it.
pub async fn listen(
    pool: &PgPool,
    channel: &str,
) -> Result<sqlx::postgres::PgListener, sqlx::Error> {
    let own = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(pool.options().get_acquire_timeout())
        .connect_lazy_with(pool.connect_options().as_ref().clone());
    let mut listener = sqlx::postgres::PgListener::connect_with(&own).await?;
    // Its pool is never closed; the caller's shutdown token ends its loop.
    listener.ignore_pool_close_event(true);
    listener.listen(channel).await?;
    Ok(listener)
}

/// Pause after a failed LISTEN receive: the connection is down and could not be re-established,
/// so the caller's loop would otherwise spin (and log) as fast as connections are refused.
const LISTEN_RETRY_PAUSE: Duration = Duration::from_secs(1);

/// Waits up to `timeout` for a notification on `listener` (or just `timeout` without one). Returns
/// at once on a notification or when the connection was lost and re-established (notifications may
/// have been missed: the caller re-reads its queue); after a failed reconnect it pauses first.
pub async fn wait_notification(
    listener: &mut Option<sqlx::postgres::PgListener>,
    timeout: Duration,
) {
    match listener {
        Some(l) => {
            match tokio::time::timeout(timeout, l.try_recv()).await {
                // One wake for a burst: the notifications already received are taken with this
                // one, so a hundred marks a second cost one claim, not a hundred.
                Ok(Ok(Some(_))) => while l.next_buffered().is_some() {},
                Ok(Err(e)) => {
                    tracing::debug!(error.cause = %e, "LISTEN connection down; retrying shortly");
                    tokio::time::sleep(LISTEN_RETRY_PAUSE.min(timeout)).await;
                }
                Ok(Ok(None)) | Err(_) => {}
            }
        }
        None => tokio::time::sleep(timeout).await,
    }
}
