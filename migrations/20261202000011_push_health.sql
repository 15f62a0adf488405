-- Push first: each calendar's channel health (live, degraded or none, with the reason), what marked
-- a calendar pending (so its run carries the right trigger), and renewals spread with jitter.

-- What marked the calendar pending: a push, the fallback poll (a calendar push cannot serve, or a
-- catch-up after a new channel) or the safety sync (a calendar whose channel is live). A push wins
-- over a poll mark not yet run.
ALTER TABLE sync_state
    ADD COLUMN pending_trigger TEXT NOT NULL DEFAULT 'poll'
        CHECK (pending_trigger IN ('push', 'poll', 'safety')),
    -- A safety sync found changes no push had announced: the channel is not trusted (the calendar is
    -- polled) until a channel created after this proves itself with a real notification.
    ADD COLUMN push_degraded TEXT,
    ADD COLUMN push_degraded_at TIMESTAMPTZ,
    -- The last renewal of a live channel failed (the cause); cleared by the next channel created.
    ADD COLUMN renewal_failed TEXT,
    ADD COLUMN renewal_failed_at TIMESTAMPTZ;

ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_trigger_check;
ALTER TABLE sync_runs
    ADD CONSTRAINT sync_runs_trigger_check
        CHECK (trigger IN ('push', 'poll', 'safety', 'manual', 'api'));

-- When a channel is due for renewal: `margin` before it expires, plus a share of one more margin
-- drawn from its id (so thousands of channels created together renew over a whole margin, not in the
-- same minute); halfway through a life shorter than twice that; never sooner than `min_after` after
-- it was created. The one definition the renewal loop's two queries use.
CREATE FUNCTION calsync_renewal_due(
    channel_id TEXT, created_at TIMESTAMPTZ, expiration TIMESTAMPTZ,
    margin_secs FLOAT8, min_after_secs FLOAT8
) RETURNS TIMESTAMPTZ
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT GREATEST(
        expiration - LEAST(
            make_interval(secs => margin_secs
                * (1 + ('x' || substr(md5(channel_id), 1, 8))::bit(32)::bigint / 4294967296.0)),
            (expiration - created_at) / 2),
        created_at + make_interval(secs => min_after_secs))
$$;

-- Each calendar's channel health. `live`: an active, unexpired channel that nothing casts doubt on;
-- `degraded`: such a channel exists, but its renewal is failing or a safety sync found changes no push
-- announced (and no newer channel has delivered a notification since); `none`: no live channel (push
-- disabled, watch refused, channel expired). Only `live` calendars are spared the fallback poll.
CREATE VIEW calendar_push_health AS
SELECT s.calendar_id,
       CASE WHEN ch.id IS NULL THEN 'none'
            WHEN s.renewal_failed IS NOT NULL OR s.push_degraded IS NOT NULL THEN 'degraded'
            ELSE 'live' END AS health,
       CASE WHEN ch.id IS NULL AND s.watch_refused IS NOT NULL THEN 'watch refused: ' || s.watch_refused
            WHEN ch.id IS NULL AND s.renewal_failed IS NOT NULL THEN 'renewal failing: ' || s.renewal_failed
            WHEN ch.id IS NULL THEN 'no live channel'
            WHEN s.push_degraded IS NOT NULL THEN s.push_degraded
            WHEN s.renewal_failed IS NOT NULL THEN 'renewal failing: ' || s.renewal_failed
       END AS reason
  FROM sync_state s
  LEFT JOIN LATERAL (
       SELECT w.id FROM watch_channels w
        WHERE w.calendar_id = s.calendar_id AND w.state = 'active' AND w.expiration > now()
        LIMIT 1) ch ON TRUE;
