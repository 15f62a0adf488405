//! `calsync healthcheck`: exit 0 only when `calendar:last_sync` is present and fresh (the Docker healthcheck).

use chrono::Utc;

use super::Failure;
use crate::config::Settings;
use crate::redis_health::RedisHealth;

pub async fn run(settings: Settings, max_age_minutes: Option<u64>) -> Result<(), Failure> {
    let max_age = max_age_minutes
        .unwrap_or(
            settings
                .google_calendar
                .sync_interval_minutes
                .saturating_mul(2),
        )
        .max(1);
    let redis = RedisHealth::connect(&settings.redis)
        .map_err(|e| anyhow::anyhow!("bad redis settings: {e}"))?;
    let value = redis.read_last_sync().await;
    redis.quit().await;
    let value = value.map_err(|e| anyhow::anyhow!("redis is unreachable: {e}"))?;
    let last = value.ok_or_else(|| {
        anyhow::anyhow!(
            "no {} key: no successful sync in the last hour",
            redis.last_sync_key()
        )
    })?;
    let at = last
        .at()
        .ok_or_else(|| anyhow::anyhow!("{} has an unreadable timestamp", redis.last_sync_key()))?;
    let age = Utc::now().signed_duration_since(at);
    if age.num_minutes() > max_age as i64 {
        return Err(anyhow::anyhow!(
            "last successful sync was {} minutes ago (limit {max_age})",
            age.num_minutes()
        )
        .into());
    }
    println!(
        "healthy: last sync {}s ago (created {}, updated {}, deleted {}, errors {})",
        age.num_seconds(),
        last.events_created,
        last.events_updated,
        last.events_deleted,
        last.errors_count
    );
    Ok(())
}
