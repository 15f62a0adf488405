//! `calsync healthcheck`: exit 0 only when `calendar:last_sync` is present and fresh (the Docker healthcheck).

use std::time::Duration;

use chrono::Utc;

use super::Failure;
use crate::config::Settings;
use crate::redis_health::{RedisHealth, last_sync_ttl};

/// Default freshness limit: two fallback-poll intervals (`sync_interval_seconds` or `_minutes`),
/// in whole minutes, at least one.
fn default_max_age_minutes(poll_interval: Duration) -> u64 {
    poll_interval
        .as_secs()
        .saturating_mul(2)
        .div_ceil(60)
        .max(1)
}

pub async fn run(settings: Settings, max_age_minutes: Option<u64>) -> Result<(), Failure> {
    let poll = settings.google_calendar.poll_interval();
    let max_age = max_age_minutes
        .unwrap_or_else(|| default_max_age_minutes(poll))
        .max(1);
    let redis = RedisHealth::connect(&settings.redis)
        .map_err(|e| anyhow::anyhow!("bad redis settings: {e}"))?;
    let value = redis.read_last_sync().await;
    redis.quit().await;
    let value = value.map_err(|e| anyhow::anyhow!("redis is unreachable: {e}"))?;
    let last = value.ok_or_else(|| {
        anyhow::anyhow!(
            "no {} key: no successful sync in the last {} minutes",
            redis.last_sync_key(),
            last_sync_ttl(poll).as_secs() / 60
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limit_is_two_poll_intervals_from_either_setting() {
        let gc = |yaml: &str| {
            crate::config::load_from_str(yaml, &[])
                .unwrap()
                .google_calendar
                .poll_interval()
        };
        let minutes = gc(
            "google_calendar:\n  enabled: false\n  sync_interval_minutes: 45\n  calendars: []\n",
        );
        assert_eq!(default_max_age_minutes(minutes), 90);
        // sync_interval_seconds overrides the minutes, as in the fallback poll.
        let seconds = gc(
            "google_calendar:\n  enabled: false\n  sync_interval_minutes: 45\n  sync_interval_seconds: 90\n  calendars: []\n",
        );
        assert_eq!(default_max_age_minutes(seconds), 3);
        assert_eq!(default_max_age_minutes(Duration::from_secs(2)), 1);
    }
}
