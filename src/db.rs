//! PostgreSQL: the pool (with acquire and statement timeouts) and the embedded migrations.

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

/// A lazy pool: nothing connects until the first query, so calsync starts even while PostgreSQL is down.
pub fn pool(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs.max(1)))
        .connect_lazy_with(connect_options(settings)?))
}

/// Applies pending migrations (idempotent; concurrent replicas serialise on sqlx's advisory lock).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}
