-- Push first: a calendar Google will not watch (pushNotSupportedForRequestedResource, as for holiday
-- and some subscribed calendars, and the other permanent watch errors) runs on the fallback poll;
-- the refusal is kept so the status page, /readyz and metrics say so, and watch is asked again once
-- a day instead of on every renewal pass.
ALTER TABLE sync_state
    ADD COLUMN watch_refused TEXT,
    ADD COLUMN watch_refused_at TIMESTAMPTZ;
