//! Redis: the seed's health key `calendar:last_sync` (JSON, TTL 1 h or two poll intervals) and a reachability probe.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use fred::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::RedisSettings;

/// The seed's key name; a configured prefix is put in front (tests isolate themselves that way).
pub const LAST_SYNC_KEY: &str = "calendar:last_sync";
/// The seed's TTL for the health key, and its minimum.
pub const LAST_SYNC_TTL_SECS: i64 = 3600;

/// TTL of the health key: the seed's hour, or two fallback-poll intervals when that is longer (an
/// idle calendar is synced once per interval; the key must outlive one missed poll, as
/// `calsync healthcheck` allows).
pub fn last_sync_ttl(poll_interval: Duration) -> Duration {
    Duration::from_secs(LAST_SYNC_TTL_SECS.unsigned_abs()).max(poll_interval.saturating_mul(2))
}

/// The value of `calendar:last_sync`, as the seed's daemon wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSync {
    pub timestamp: String,
    pub events_created: u64,
    pub events_updated: u64,
    #[serde(default)]
    pub events_deleted: u64,
    #[serde(default)]
    pub errors_count: u64,
}

impl LastSync {
    pub fn now(created: u64, updated: u64, deleted: u64, errors: u64) -> Self {
        Self {
            timestamp: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
            events_created: created,
            events_updated: updated,
            events_deleted: deleted,
            errors_count: errors,
        }
    }

    /// When the run finished, if the timestamp parses.
    pub fn at(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.timestamp)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// A Redis connection that never blocks syncing: every command is bounded by a short timeout.
#[derive(Clone)]
pub struct RedisHealth {
    client: Client,
    prefix: String,
    timeout: Duration,
    ttl: Duration,
}

impl RedisHealth {
    /// Builds the client and starts connecting in the background (Redis may be down: calsync still serves).
    pub fn connect(settings: &RedisSettings) -> Result<Self, Error> {
        let timeout = Duration::from_secs(settings.timeout_secs.max(1));
        let config = Config::from_url(&settings.url)?;
        let client = Builder::from_config(config)
            .with_connection_config(|c| {
                c.connection_timeout = timeout;
                c.internal_command_timeout = timeout;
                c.max_command_attempts = 1;
            })
            .with_performance_config(|p| p.default_command_timeout = timeout)
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2))
            .build()?;
        let _task = client.connect();
        Ok(Self {
            client,
            prefix: settings.key_prefix.clone(),
            timeout,
            ttl: last_sync_ttl(Duration::ZERO),
        })
    }

    /// Sizes the health key's TTL for this fallback-poll interval ([`last_sync_ttl`]).
    pub fn with_poll_interval(mut self, poll_interval: Duration) -> Self {
        self.ttl = last_sync_ttl(poll_interval);
        self
    }

    /// The full name of the health key (prefix included).
    pub fn last_sync_key(&self) -> String {
        format!("{}{}", self.prefix, LAST_SYNC_KEY)
    }

    /// True when Redis answers PING within the timeout.
    pub async fn ping(&self) -> bool {
        matches!(
            tokio::time::timeout(self.timeout, self.client.ping::<String>(None)).await,
            Ok(Ok(_))
        )
    }

    /// Writes the health key with its TTL ([`last_sync_ttl`]).
    pub async fn write_last_sync(&self, value: &LastSync) -> Result<(), Error> {
        let json = serde_json::to_string(value)
            .map_err(|e| Error::new(ErrorKind::Parse, e.to_string()))?;
        let fut = self.client.set::<(), _, _>(
            self.last_sync_key(),
            json,
            Some(Expiration::EX(
                i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX),
            )),
            None,
            false,
        );
        tokio::time::timeout(self.timeout, fut)
            .await
            .map_err(|_| Error::new(ErrorKind::Timeout, "redis SET timed out"))?
    }

    /// Reads the health key; `None` when absent.
    pub async fn read_last_sync(&self) -> Result<Option<LastSync>, Error> {
        let fut = self.client.get::<Option<String>, _>(self.last_sync_key());
        let raw = tokio::time::timeout(self.timeout, fut)
            .await
            .map_err(|_| Error::new(ErrorKind::Timeout, "redis GET timed out"))??;
        raw.map(|s| {
            serde_json::from_str(&s).map_err(|e| Error::new(ErrorKind::Parse, e.to_string()))
        })
        .transpose()
    }

    /// Closes the connection.
    pub async fn quit(&self) {
        let _ = tokio::time::timeout(self.timeout, self.client.quit()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_outlives_two_poll_intervals_and_at_least_an_hour() {
        let min = Duration::from_secs;
        assert_eq!(last_sync_ttl(min(2)), min(3600));
        assert_eq!(last_sync_ttl(min(30 * 60)), min(3600));
        assert_eq!(last_sync_ttl(min(45 * 60)), min(90 * 60));
        assert_eq!(last_sync_ttl(min(6 * 3600)), min(12 * 3600));
    }
}
