//! The `push:` section: watch channels (lifetime, renewal) and the safety sync of calendars whose
//! channel is live.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushSettings {
    pub enabled: bool,
    /// Requested channel lifetime: long (30 days) on purpose; Google grants what it will (its default
    /// and reported maximum is 7 days) and calsync keeps the `expiration` of the answer.
    pub channel_ttl_secs: u64,
    /// Renew a channel this long before it expires, plus a jitter of up to one more margin drawn
    /// from the channel id (`calsync_renewal_due`), so many calendars never renew in the same minute.
    pub renew_margin_secs: u64,
    /// A calendar with a live channel is synced once this often anyway (pushes can be lost or
    /// batched); it is not polled at `sync_interval_minutes`.
    pub safety_sync_hours: u64,
    /// The same in seconds, when set (tests and the convergence suite run it short).
    pub safety_sync_seconds: Option<u64>,
}

impl Default for PushSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            channel_ttl_secs: 2_592_000,
            renew_margin_secs: 86_400,
            safety_sync_hours: 24,
            safety_sync_seconds: None,
        }
    }
}

impl PushSettings {
    /// How often a calendar with a live channel is synced without a push.
    pub fn safety_interval(&self) -> Duration {
        Duration::from_secs(
            self.safety_sync_seconds
                .unwrap_or(self.safety_sync_hours.saturating_mul(3600))
                .max(1),
        )
    }
}
