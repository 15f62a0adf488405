//! Channel lifecycle: create (stored before Google answers), renew (new channel first, then stop the old),
//! stop, and the startup/periodic check that every active calendar has a live channel.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::token::ChannelTokens;
use crate::accounts::GoogleAccounts;
use crate::db::watch_channels as channels;
use crate::google::{GoogleError, WatchRequest};
use crate::sync::alerts::{Alert, AlertSink};

/// A channel is never renewed sooner than this after it was created, whatever TTL Google granted
/// (short: the halfway rule already spaces renewals by half the granted life; this floors the rest).
pub const MIN_RENEW_AFTER: Duration = Duration::from_secs(3);

/// Creates, renews and stops watch channels.
#[derive(Clone)]
pub struct ChannelManager {
    pub pool: PgPool,
    /// Every account's Google client (a calendar's channels use its account's credentials).
    pub google: Arc<GoogleAccounts>,
    pub tokens: ChannelTokens,
    /// `<WEBHOOK_PUBLIC_URL>/webhooks/google`.
    pub address: String,
    pub ttl: Duration,
    pub margin: Duration,
    pub alerts: Arc<dyn AlertSink>,
}

/// Why a channel operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("google: {0}")]
    Google(#[from] GoogleError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("unknown channel")]
    UnknownChannel,
    #[error("unknown or inactive calendar")]
    UnknownCalendar,
}

/// A channel as created.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Created {
    pub id: String,
    pub calendar_id: String,
    pub expiration: Option<DateTime<Utc>>,
}

impl ChannelManager {
    /// Registers a new channel for `calendar_id`. The row exists (pending) before Google is asked,
    /// so a `sync` message that beats the watch response finds it.
    pub async fn create(&self, calendar_id: &str) -> Result<Created, ChannelError> {
        let id = uuid::Uuid::new_v4().to_string();
        channels::insert_pending(&self.pool, &id, calendar_id, &self.address).await?;
        let request = WatchRequest::web_hook(
            &id,
            &self.address,
            &self.tokens.sign(&id, calendar_id),
            self.ttl,
        );
        let watched = match self.google.for_calendar(calendar_id).await {
            Ok((client, cal)) => client.watch_events(&cal.google_id, &request).await,
            Err(e) => Err(e),
        };
        match watched {
            Ok(ch) => {
                let expiration = ch.expiration_time();
                if let Err(e) = channels::activate(
                    &self.pool,
                    &id,
                    &ch.resource_id,
                    ch.resource_uri.as_deref(),
                    expiration,
                )
                .await
                {
                    self.abandon(calendar_id, &id, &ch.resource_id).await;
                    return Err(e.into());
                }
                tracing::info!(calendar = %calendar_id, channel = %id, "watch channel created");
                Ok(Created {
                    id,
                    calendar_id: calendar_id.to_string(),
                    expiration,
                })
            }
            Err(e) => {
                channels::end(&self.pool, &id, "failed").await?;
                Err(e.into())
            }
        }
    }

    /// A channel Google created but calsync could not record (the database failed after
    /// `events.watch` answered): stopped at Google now, while its resource id is still in hand, so
    /// it does not deliver until its expiry with no stored resource id to stop it by. Best effort:
    /// the caller reports the database error, and the next reconcile creates a channel again.
    async fn abandon(&self, calendar_id: &str, channel_id: &str, resource_id: &str) {
        let stopped = match self.google.for_calendar(calendar_id).await {
            Ok((client, _)) => client.stop_channel(channel_id, resource_id).await,
            Err(e) => Err(e),
        };
        match stopped {
            Ok(()) => {
                tracing::warn!(calendar = %calendar_id, channel = %channel_id,
                    "watch channel not recorded: stopped at Google")
            }
            Err(e) => {
                tracing::warn!(calendar = %calendar_id, channel = %channel_id, error.cause = %e,
                    "watch channel not recorded and not stopped: it delivers until it expires")
            }
        }
        if let Err(e) = channels::end(&self.pool, channel_id, "failed").await {
            tracing::debug!(channel = %channel_id, error.cause = %e, "abandoned channel row not closed");
        }
    }

    /// Stops one channel at Google (a 404 means it is already gone) and marks it stopped.
    pub async fn stop(&self, channel_id: &str) -> Result<(), ChannelError> {
        let row = channels::lookup(&self.pool, channel_id)
            .await?
            .ok_or(ChannelError::UnknownChannel)?;
        if let Some(resource_id) = &row.resource_id {
            let (client, _) = self.google.for_calendar(&row.calendar_id).await?;
            match client.stop_channel(channel_id, resource_id).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        channels::end(&self.pool, channel_id, "stopped").await?;
        tracing::info!(calendar = %row.calendar_id, channel = %channel_id, "watch channel stopped");
        Ok(())
    }

    /// New channel first, then the calendar's older live channels are stopped (both deliver meanwhile).
    pub async fn renew(&self, calendar_id: &str) -> Result<Created, ChannelError> {
        let old = channels::live_channels(&self.pool, calendar_id).await?;
        let created = self.create(calendar_id).await?;
        for id in old {
            if let Err(e) = self.stop(&id).await {
                // The new channel already delivers; the old one dies at its expiry anyway.
                tracing::warn!(calendar = %calendar_id, channel = %id, error.cause = %e, "old channel not stopped");
            }
        }
        Ok(created)
    }

    /// Renews every calendar whose newest channel is due (see [`next_renewal`](Self::next_renewal)),
    /// gives a channel to every active calendar without one, or whose channels deliver to another
    /// address (the public URL changed), marking it pending (a catch-up sync covers the gap), and
    /// stops channels of calendars that left the config. Returns the number of channels created.
    pub async fn reconcile(&self) -> Result<usize, ChannelError> {
        for orphan in channels::orphan_channels(&self.pool).await? {
            if let Err(e) = self.stop(&orphan).await {
                tracing::warn!(channel = %orphan, error.cause = %e, "orphan channel not stopped");
            }
        }
        channels::expire_past(&self.pool).await?;
        let mut created = 0;
        for cal in channels::calendars_needing_channel(
            &self.pool,
            self.margin,
            MIN_RENEW_AFTER,
            &self.address,
        )
        .await?
        {
            let had_live = !channels::live_channels(&self.pool, &cal.id)
                .await?
                .is_empty();
            let result = if had_live {
                self.renew(&cal.id).await
            } else {
                self.create(&cal.id).await
            };
            match result {
                Ok(_) => {
                    created += 1;
                    crate::db::sync_state::record_channel_created(&self.pool, &cal.id).await?;
                    if !cal.delivering {
                        crate::db::sync_state::mark_pending(&self.pool, &cal.id).await?;
                    }
                }
                Err(ChannelError::Google(g)) if watch_refusal(&g).is_some() => {
                    let reason = watch_refusal(&g).unwrap_or_default();
                    let first =
                        crate::db::sync_state::record_watch_refusal(&self.pool, &cal.id, &reason)
                            .await?;
                    tracing::warn!(calendar = %cal.id, casquette = %cal.casquette, reason = %reason,
                        "Google refuses to watch this calendar: it runs on the fallback poll; watch asked again in a day");
                    if had_live {
                        let cause = format!("watch refused: {reason}");
                        crate::db::sync_state::record_renewal_failure(&self.pool, &cal.id, &cause)
                            .await?;
                    }
                    if first && !had_live {
                        self.alerts
                            .alert(&Alert::NoLiveChannel {
                                calendar_id: cal.id.clone(),
                                casquette: cal.casquette.clone(),
                            })
                            .await;
                    }
                }
                Err(e) => {
                    tracing::warn!(calendar = %cal.id, error.cause = %e, "no live channel for calendar");
                    if had_live {
                        // The old channel still delivers, but not for long: degraded until a renewal works.
                        crate::db::sync_state::record_renewal_failure(
                            &self.pool,
                            &cal.id,
                            &e.to_string(),
                        )
                        .await?;
                    } else {
                        self.alerts
                            .alert(&Alert::NoLiveChannel {
                                calendar_id: cal.id.clone(),
                                casquette: cal.casquette.clone(),
                            })
                            .await;
                    }
                }
            }
        }
        Ok(created)
    }

    /// When the next calendar's renewal is due: the earliest, over active calendars, of their newest
    /// channel's due time (None: no calendar has a channel that expires). A channel is due
    /// `renew_margin` before it expires, or halfway through its life when Google granted less than
    /// twice the margin, and never sooner than [`MIN_RENEW_AFTER`] after it was created; older
    /// channels of the same calendar (one whose stop failed) do not count.
    pub async fn next_renewal(&self) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        channels::next_renewal(&self.pool, self.margin, MIN_RENEW_AFTER).await
    }
}

/// Google's permanent refusal to watch a calendar (its reason), as opposed to a failure worth
/// retrying soon: `pushNotSupportedForRequestedResource` (holiday and some subscribed calendars)
/// and the other 400/403 answers to `events.watch`.
pub fn watch_refusal(e: &GoogleError) -> Option<String> {
    match e {
        GoogleError::Permanent { status, reason } if matches!(status, 400 | 403) => {
            Some(if reason.is_empty() {
                format!("HTTP {status}")
            } else {
                reason.clone()
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permanent_watch_errors_are_refusals_and_transient_ones_are_not() {
        let refused = GoogleError::Permanent {
            status: 400,
            reason: "pushNotSupportedForRequestedResource".into(),
        };
        assert_eq!(
            watch_refusal(&refused).as_deref(),
            Some("pushNotSupportedForRequestedResource")
        );
        let forbidden = GoogleError::Permanent {
            status: 403,
            reason: String::new(),
        };
        assert_eq!(watch_refusal(&forbidden).as_deref(), Some("HTTP 403"));
        for transient in [
            GoogleError::Unavailable {
                status: 503,
                retry_after: None,
            },
            GoogleError::Transient("timeout".into()),
            GoogleError::NotFound,
        ] {
            assert_eq!(watch_refusal(&transient), None, "{transient}");
        }
        let mode = crate::db::status::sync_mode;
        assert_eq!(
            mode(
                "none",
                Some("watch refused: pushNotSupportedForRequestedResource"),
                true
            ),
            ("poll", Some("push not supported".to_string()))
        );
        assert_eq!(mode("live", Some("x"), true), ("push", None));
        assert_eq!(
            mode("none", Some("no live channel"), false),
            ("poll", Some("push disabled".to_string()))
        );
        assert_eq!(
            mode("degraded", Some("renewal failing: timeout"), true),
            (
                "poll",
                Some("degraded: renewal failing: timeout".to_string())
            )
        );
    }
}
