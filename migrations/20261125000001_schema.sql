-- calsync schema: calendars, events (the write contract), channels, sync state, outbox, conflicts, runs.

CREATE TABLE calendars (
    id          TEXT PRIMARY KEY,                 -- Google calendar id ("primary", "...@group.calendar.google.com")
    name        TEXT NOT NULL,
    casquette   TEXT NOT NULL,                    -- role: medecin, enseignant, chercheur, ...
    color       TEXT,
    time_zone   TEXT,                             -- as Google reports it (events.list timeZone); the config may override
    active      BOOLEAN NOT NULL DEFAULT TRUE,    -- false once the calendar left the config
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX calendars_casquette_idx ON calendars (casquette) WHERE active;

-- One row per Google event (and per exception instance of a series).
-- Other services may INSERT / UPDATE / soft-delete rows here with plain SQL: see the README.
CREATE TABLE events (
    id                   UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    calendar_id          TEXT NOT NULL REFERENCES calendars (id),
    casquette            TEXT NOT NULL,
    external_id          TEXT,                     -- Google event id; NULL until written to Google
    summary              TEXT,
    description          TEXT,
    location             TEXT,
    start_at             TIMESTAMPTZ,              -- timed events
    end_at               TIMESTAMPTZ,
    start_date           DATE,                     -- all-day events (end_date exclusive, as Google)
    end_date             DATE,
    time_zone            TEXT,                     -- IANA zone of start/end (required for recurring series)
    recurrence           TEXT[],                   -- RRULE/EXDATE/RDATE lines of a series master
    recurring_event_id   TEXT,                     -- master's Google id, for exception instances
    original_start       TEXT,                     -- originalStartTime (dateTime or date) of an instance
    reminders            JSONB,
    status               TEXT NOT NULL DEFAULT 'confirmed'
                         CHECK (status IN ('confirmed', 'tentative', 'cancelled')),
    etag                 TEXT,
    google_updated       TIMESTAMPTZ,              -- Google's `updated`
    sequence             INTEGER,
    raw                  JSONB,                    -- Google's JSON as last seen, unknown fields kept
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),   -- local last write (last-write-wins)
    deleted_at           TIMESTAMPTZ,              -- soft delete
    origin               TEXT NOT NULL DEFAULT 'local' CHECK (origin IN ('local', 'google')),
    seen_generation      BIGINT,                   -- full-resync pass that last saw this row
    CONSTRAINT events_time_shape CHECK (
        (start_at IS NOT NULL AND end_at IS NOT NULL AND start_date IS NULL AND end_date IS NULL)
        OR (start_date IS NOT NULL AND end_date IS NOT NULL AND start_at IS NULL AND end_at IS NULL)
        OR (status = 'cancelled')
    )
);
CREATE UNIQUE INDEX events_calendar_external_uidx ON events (calendar_id, external_id);
CREATE INDEX events_calendar_start_idx ON events (calendar_id, start_at) WHERE deleted_at IS NULL;
CREATE INDEX events_calendar_date_idx ON events (calendar_id, start_date) WHERE deleted_at IS NULL;
CREATE INDEX events_recurring_idx ON events (calendar_id, recurring_event_id) WHERE recurring_event_id IS NOT NULL;

-- Per-calendar sync state. `pending` is the durable "calendar is dirty" fact a push sets.
CREATE TABLE sync_state (
    calendar_id           TEXT PRIMARY KEY REFERENCES calendars (id) ON DELETE CASCADE,
    sync_token            TEXT,
    pending               BOOLEAN NOT NULL DEFAULT TRUE,
    pending_since         TIMESTAMPTZ DEFAULT now(),
    full_sync_requested   BOOLEAN NOT NULL DEFAULT FALSE,
    full_generation       BIGINT NOT NULL DEFAULT 0,
    lease_owner           UUID,
    lease_until           TIMESTAMPTZ,
    last_attempt_at       TIMESTAMPTZ,
    last_success_at       TIMESTAMPTZ,
    last_finished_at      TIMESTAMPTZ,             -- end of the last run, success or not
    last_push_at          TIMESTAMPTZ,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    retry_at              TIMESTAMPTZ,             -- after a failed run: not before this (backoff)
    alerted               BOOLEAN NOT NULL DEFAULT FALSE,
    error_reason          TEXT,                    -- permanent error (404 calendar, invalid_grant): syncing paused
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX sync_state_pending_idx ON sync_state (calendar_id) WHERE pending;

-- Watch channels: our DB is the only registry (Google has no list API).
CREATE TABLE watch_channels (
    id                   TEXT PRIMARY KEY,         -- channel id we chose (UUID)
    calendar_id          TEXT NOT NULL REFERENCES calendars (id),
    resource_id          TEXT,                     -- from the watch response; needed by channels.stop
    resource_uri         TEXT,
    address              TEXT NOT NULL,
    expiration           TIMESTAMPTZ,
    state                TEXT NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'active', 'stopped', 'expired', 'failed')),
    last_message_number  BIGINT,
    last_message_at      TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    stopped_at           TIMESTAMPTZ
);
CREATE INDEX watch_channels_calendar_idx ON watch_channels (calendar_id, state);
CREATE INDEX watch_channels_expiration_idx ON watch_channels (expiration) WHERE state = 'active';

-- Local changes waiting to reach Google: one row per event, coalesced by `generation`.
CREATE TABLE outbox (
    event_id         UUID PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    calendar_id      TEXT NOT NULL,
    generation       BIGINT NOT NULL DEFAULT 1,
    enqueued_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    lease_owner      UUID,
    lease_until      TIMESTAMPTZ,
    parked_at        TIMESTAMPTZ,                  -- poisoned (Google said 400): kept, not retried
    last_error       TEXT
);
CREATE INDEX outbox_ready_idx ON outbox (next_attempt_at) WHERE parked_at IS NULL;

-- Last-write-wins losers, kept for a manual choice.
CREATE TABLE conflicts (
    id                UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id          UUID REFERENCES events (id) ON DELETE SET NULL,
    calendar_id       TEXT NOT NULL,
    external_id       TEXT,
    winner            TEXT NOT NULL CHECK (winner IN ('local', 'google')),
    local_version     JSONB NOT NULL,
    google_version    JSONB NOT NULL,
    local_updated_at  TIMESTAMPTZ,
    google_updated    TIMESTAMPTZ,
    detected_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    resolved_at       TIMESTAMPTZ,
    resolution        TEXT CHECK (resolution IN ('local', 'google'))
);
CREATE INDEX conflicts_open_idx ON conflicts (detected_at) WHERE resolved_at IS NULL;

-- One row per sync run, with its counts.
CREATE TABLE sync_runs (
    id                BIGSERIAL PRIMARY KEY,
    calendar_id       TEXT NOT NULL,
    trigger           TEXT NOT NULL,               -- push, poll, manual, startup, api
    full_sync         BOOLEAN NOT NULL DEFAULT FALSE,
    status            TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'success', 'failed')),
    started_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at       TIMESTAMPTZ,
    pages             INTEGER NOT NULL DEFAULT 0,
    events_created    INTEGER NOT NULL DEFAULT 0,
    events_updated    INTEGER NOT NULL DEFAULT 0,
    events_deleted    INTEGER NOT NULL DEFAULT 0,
    events_unchanged  INTEGER NOT NULL DEFAULT 0,
    error             TEXT
);
CREATE INDEX sync_runs_calendar_idx ON sync_runs (calendar_id, started_at DESC);
