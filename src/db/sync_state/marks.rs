//! `sync_state`, what marks calendars pending from outside a run: the webhook's group commit of
//! pushes, the fallback poll and the safety sync (push first), and Google's refusals to watch.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// Marks calendars dirty because pushes said so (the webhook's group commit: one statement for all
/// the pushes that arrived together). While a calendar is already dirty, only `last_push_at` moves,
/// and at most every 100 ms: a burst costs few writes. The same statement records each channel's
/// newest message (`watch_channels.last_message_at`, `last_message_number`; a batch writes a channel
/// once, and a repeated or older message number not at all), so what `GET /admin/channels` shows
/// moves with every accepted push at no extra commit.
pub async fn mark_pending_pushes(
    pool: &PgPool,
    calendar_ids: &[String],
    channels: &[(String, i64)],
) -> Result<Vec<String>, sqlx::Error> {
    let (channel_ids, numbers): (Vec<String>, Vec<i64>) = channels.iter().cloned().unzip();
    // Returns the calendars this mark made runnable right now (idle before, not leased, not backing
    // off): the local worker may claim them at once instead of waiting for NOTIFY and a sweep.
    sqlx::query_scalar!(
        r#"WITH seen AS (
             UPDATE watch_channels w
                SET last_message_number = GREATEST(COALESCE(w.last_message_number, 0), m.number),
                    last_message_at = now()
               FROM unnest($2::text[], $3::bigint[]) AS m(id, number)
              WHERE w.id = m.id
                AND m.number > COALESCE(w.last_message_number, 0)
           )
           UPDATE sync_state s
              SET pending = TRUE, last_push_at = now(), pending_trigger = 'push',
                  pending_since = CASE WHEN s.pending THEN s.pending_since ELSE now() END
             FROM (SELECT calendar_id, pending AS was_pending FROM sync_state
                    WHERE calendar_id = ANY($1)) AS before
            WHERE s.calendar_id = before.calendar_id
              AND (NOT s.pending OR s.last_push_at IS NULL OR s.last_push_at < now() - interval '100 milliseconds')
        RETURNING CASE WHEN NOT before.was_pending AND s.error_reason IS NULL
                            AND (s.lease_until IS NULL OR s.lease_until < now())
                            AND (s.retry_at IS NULL OR s.retry_at <= now())
                       THEN s.calendar_id END AS runnable"#,
        calendar_ids,
        &channel_ids,
        &numbers
    )
    .fetch_all(pool)
    .await
    .map(|rows| rows.into_iter().flatten().collect())
}

/// The earliest moment a calendar becomes due: for the fallback poll after `poll` unless its channel
/// is live (`calendar_push_health`), for the safety sync after `safety` when it is (None: nothing
/// synced yet). Each calendar's interval is shortened by a fixed share of up to a tenth drawn from its
/// key (md5, as the renewal jitter), so that calendars synced together at a cold start (thousands,
/// at team scale) do not all fall due in the same minute a day later, and stay spread.
pub async fn next_poll_due(
    pool: &PgPool,
    poll: Duration,
    safety: Duration,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT MIN(s.last_success_at + make_interval(
                      secs => CASE WHEN h.health = 'live' THEN $2::float8 ELSE $1::float8 END
                              * (1 - 0.1 * ('x' || substr(md5(s.calendar_id), 1, 8))::bit(32)::bigint
                                     / 4294967296.0))) AS due
             FROM sync_state s JOIN calendars c ON c.id = s.calendar_id
             JOIN calendar_push_health h ON h.calendar_id = s.calendar_id
            WHERE c.active AND s.error_reason IS NULL AND NOT s.pending"#,
        poll.as_secs_f64(),
        safety.as_secs_f64()
    )
    .fetch_one(pool)
    .await
}

/// Marks pending every calendar due (see [`next_poll_due`], jitter included): push first, so a calendar whose channel
/// is live is synced only by the safety sync (trigger `safety`), one whose channel is degraded or
/// missing every `poll` (trigger `poll`). Returns their ids. Never-synced calendars start pending
/// already, and a calendar being synced is left alone.
pub async fn mark_due_for_poll(
    pool: &PgPool,
    poll: Duration,
    safety: Duration,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"UPDATE sync_state s SET pending = TRUE, pending_since = now(),
                  pending_trigger = CASE WHEN h.health = 'live' THEN 'safety' ELSE 'poll' END
             FROM calendars c, calendar_push_health h
            WHERE c.id = s.calendar_id AND h.calendar_id = s.calendar_id
              AND c.active AND s.error_reason IS NULL AND NOT s.pending
              AND (s.lease_until IS NULL OR s.lease_until < now())
              -- The jitter of `next_poll_due`.
              AND s.last_success_at < now() - make_interval(
                      secs => CASE WHEN h.health = 'live' THEN $2::float8 ELSE $1::float8 END
                              * (1 - 0.1 * ('x' || substr(md5(s.calendar_id), 1, 8))::bit(32)::bigint
                                     / 4294967296.0))
        RETURNING s.calendar_id"#,
        poll.as_secs_f64(),
        safety.as_secs_f64()
    )
    .fetch_all(pool)
    .await
}

/// A safety sync of `calendar_id` (claimed at `run_started`) found `changes` no push announced: its
/// channel is degraded (the calendar goes on the fallback poll) and the renewal loop is woken
/// (`NOTIFY calsync_renew`) to give it a new channel. Nothing is marked when a push arrived since the
/// run started (the changes may be that push's). True when it was marked.
pub async fn mark_push_degraded(
    pool: &PgPool,
    calendar_id: &str,
    changes: u64,
    run_started: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let reason = format!("safety sync found {changes} change(s) no push announced");
    let marked = sqlx::query_scalar!(
        r#"WITH marked AS (
               UPDATE sync_state SET push_degraded = $2, push_degraded_at = now()
                WHERE calendar_id = $1 AND (last_push_at IS NULL OR last_push_at < $3)
            RETURNING calendar_id)
           SELECT pg_notify('calsync_renew', calendar_id) IS NOT NULL AS "marked!" FROM marked"#,
        calendar_id,
        reason,
        run_started
    )
    .fetch_optional(pool)
    .await?;
    Ok(marked.is_some())
}

/// Records that renewing `calendar_id`'s live channel failed (`cause`): its channel is degraded.
pub async fn record_renewal_failure(
    pool: &PgPool,
    calendar_id: &str,
    cause: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE sync_state SET renewal_failed = $2, renewal_failed_at = now() WHERE calendar_id = $1",
        calendar_id,
        cause
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Records that Google refused to watch `calendar_id` (`reason`: Google's, e.g.
/// `pushNotSupportedForRequestedResource`); true when the calendar was not refused before (alert once).
pub async fn record_watch_refusal(
    pool: &PgPool,
    calendar_id: &str,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let before = sqlx::query_scalar!(
        r#"UPDATE sync_state n SET watch_refused = $2, watch_refused_at = now()
             FROM sync_state o
            WHERE n.calendar_id = o.calendar_id AND n.calendar_id = $1
        RETURNING o.watch_refused"#,
        calendar_id,
        reason
    )
    .fetch_optional(pool)
    .await?;
    Ok(matches!(before, Some(None)))
}

/// A channel was created: the calendar is watchable (again) and its renewal works. (A degraded
/// channel's mark stays until the new channel delivers a notification: see `claim`.)
pub async fn record_channel_created(pool: &PgPool, calendar_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE sync_state SET watch_refused = NULL, watch_refused_at = NULL,
                renewal_failed = NULL, renewal_failed_at = NULL
          WHERE calendar_id = $1 AND (watch_refused IS NOT NULL OR renewal_failed IS NOT NULL)",
        calendar_id
    )
    .execute(pool)
    .await?;
    Ok(())
}
