//! The push inbox: decides what one Google push notification means (verify the channel and its
//! token, mark the calendar pending durably) and returns a [`Verdict`]; the webhook route only maps
//! the verdict to a status code and a metric.

use std::sync::Arc;

use actix_web::http::header::HeaderMap;
use sqlx::PgPool;

use super::cache::ChannelCache;
use super::headers::{HeaderError, Notification, ResourceState};
use super::marker::{Mark, PendingMarker};
use super::token::ChannelTokens;
use crate::db::watch_channels as channels;

/// What became of one push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A change: the calendar is marked pending (durably).
    Accepted,
    /// The `sync` message that opens a channel; nothing changed.
    Sync,
    /// Unknown, stopped or expired channel: acknowledged so Google stops retrying, and no work.
    UnknownChannel,
    /// `X-Goog-Channel-Token` missing or not signed for this channel.
    BadToken,
    /// `X-Goog-Resource-ID` is not the channel's resource.
    ResourceMismatch,
    /// A header is missing or malformed.
    Malformed(HeaderError),
    /// Not decided now (database down, no token secret, mark not committed): Google should retry.
    Unavailable,
}

impl Verdict {
    /// The `verdict` label of `calsync_webhook_notifications_total`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Sync => "sync",
            Self::UnknownChannel => "unknown_channel",
            Self::BadToken => "bad_token",
            Self::ResourceMismatch => "mismatch",
            Self::Malformed(_) => "malformed",
            Self::Unavailable => "unavailable",
        }
    }
}

/// Receives pushes; cheap to clone.
#[derive(Clone)]
pub struct PushInbox {
    pool: PgPool,
    /// None when `CHANNEL_TOKEN_SECRET` is unset (every push for a live channel is then unavailable).
    tokens: Option<ChannelTokens>,
    cache: Arc<ChannelCache>,
    marker: PendingMarker,
}

impl PushInbox {
    pub fn new(
        pool: PgPool,
        tokens: Option<ChannelTokens>,
        cache: Arc<ChannelCache>,
        marker: PendingMarker,
    ) -> Self {
        Self {
            pool,
            tokens,
            cache,
            marker,
        }
    }

    /// Decides one push from its headers (Google sends no body).
    pub async fn receive(&self, headers: &HeaderMap) -> Verdict {
        let note = match Notification::from_headers(headers) {
            Ok(n) => n,
            Err(e) => return Verdict::Malformed(e),
        };
        let channel = match self.cache.lookup(&self.pool, &note.channel_id).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error.cause = %e, "webhook: database unavailable, asking Google to retry");
                return Verdict::Unavailable;
            }
        };
        let Some(channel) = channel.filter(|c| c.is_live()) else {
            tracing::debug!(channel = %note.channel_id, "webhook: unknown or stopped channel ignored");
            return Verdict::UnknownChannel;
        };
        let Some(tokens) = self.tokens.as_ref() else {
            return Verdict::Unavailable;
        };
        let token_ok = note
            .token
            .as_deref()
            .is_some_and(|t| tokens.verify(t, &channel.id, &channel.calendar_id));
        if !token_ok {
            tracing::warn!(channel = %channel.id, calendar = %channel.calendar_id, "webhook: bad channel token");
            return Verdict::BadToken;
        }
        if channel
            .resource_id
            .as_deref()
            .is_some_and(|r| r != note.resource_id)
        {
            tracing::warn!(channel = %channel.id, calendar = %channel.calendar_id, "webhook: resource id mismatch");
            return Verdict::ResourceMismatch;
        }
        if note.resource_state == ResourceState::Sync {
            if let Err(e) = channels::touch(&self.pool, &channel.id, note.message_number).await {
                tracing::debug!(error.cause = %e, "webhook: sync message not recorded");
            }
            return Verdict::Sync;
        }
        let mark = Mark {
            calendar_id: channel.calendar_id.clone(),
            channel_id: channel.id.clone(),
            message_number: note.message_number,
        };
        if self.marker.mark(mark).await.is_err() {
            tracing::warn!(calendar = %channel.calendar_id, "webhook: calendar not marked, asking Google to retry");
            return Verdict::Unavailable;
        }
        Verdict::Accepted
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};
    use tokio_util::sync::CancellationToken;

    use super::*;

    #[test]
    fn each_verdict_keeps_its_metric_label() {
        let labels = [
            (Verdict::Accepted, "accepted"),
            (Verdict::Sync, "sync"),
            (Verdict::UnknownChannel, "unknown_channel"),
            (Verdict::BadToken, "bad_token"),
            (Verdict::ResourceMismatch, "mismatch"),
            (
                Verdict::Malformed(HeaderError::Missing("X-Goog-Channel-ID")),
                "malformed",
            ),
            (Verdict::Unavailable, "unavailable"),
        ];
        for (verdict, label) in labels {
            assert_eq!(verdict.label(), label, "{verdict:?}");
        }
    }

    #[tokio::test]
    async fn malformed_headers_are_judged_without_the_database() {
        // Nothing listens there: a lookup would fail as Unavailable, not Malformed.
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://calsync@127.0.0.1:1/calsync")
            .expect("lazy pool");
        let shutdown = CancellationToken::new();
        let (marker, task) = PendingMarker::start(pool.clone(), None, shutdown.clone());
        let inbox = PushInbox::new(pool, None, Arc::default(), marker);
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x-goog-channel-id"),
            HeaderValue::from_static("chan"),
        );
        assert_eq!(
            inbox.receive(&headers).await,
            Verdict::Malformed(HeaderError::Missing("X-Goog-Message-Number"))
        );
        shutdown.cancel();
        let _ = task.await;
    }
}
