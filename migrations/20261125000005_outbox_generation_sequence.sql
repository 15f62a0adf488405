-- Outbox generations come from one sequence, so a generation never repeats for an event. Before, an
-- entry completed and then re-created restarted at 1: a job still holding generation 1 of the old
-- entry (a writer settling a conflict) matched the new one and deleted it, and that local change
-- never reached Google (found by the convergence suite: a local delete lost this way).
CREATE SEQUENCE outbox_generation_seq;
SELECT setval('outbox_generation_seq', COALESCE((SELECT max(generation) FROM outbox), 0) + 1, false);
ALTER TABLE outbox ALTER COLUMN generation SET DEFAULT nextval('outbox_generation_seq');

CREATE OR REPLACE FUNCTION calsync_events_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF calsync_from_google() THEN
        RETURN NULL;
    END IF;
    -- Bookkeeping-only updates (etag, raw, seen_generation) by calsync itself never enqueue.
    IF TG_OP = 'UPDATE'
       AND NEW.summary IS NOT DISTINCT FROM OLD.summary
       AND NEW.description IS NOT DISTINCT FROM OLD.description
       AND NEW.location IS NOT DISTINCT FROM OLD.location
       AND NEW.start_at IS NOT DISTINCT FROM OLD.start_at
       AND NEW.end_at IS NOT DISTINCT FROM OLD.end_at
       AND NEW.start_date IS NOT DISTINCT FROM OLD.start_date
       AND NEW.end_date IS NOT DISTINCT FROM OLD.end_date
       AND NEW.time_zone IS NOT DISTINCT FROM OLD.time_zone
       AND NEW.recurrence IS NOT DISTINCT FROM OLD.recurrence
       AND NEW.reminders IS NOT DISTINCT FROM OLD.reminders
       AND NEW.status IS NOT DISTINCT FROM OLD.status
       AND NEW.deleted_at IS NOT DISTINCT FROM OLD.deleted_at
       AND NEW.calendar_id IS NOT DISTINCT FROM OLD.calendar_id THEN
        RETURN NULL;
    END IF;
    INSERT INTO outbox (event_id, calendar_id) VALUES (NEW.id, NEW.calendar_id)
    ON CONFLICT (event_id) DO UPDATE
        SET generation = nextval('outbox_generation_seq'),
            calendar_id = EXCLUDED.calendar_id,
            next_attempt_at = LEAST(outbox.next_attempt_at, now()),
            parked_at = NULL;
    PERFORM pg_notify('calsync_outbox', NEW.calendar_id);
    RETURN NULL;
END $$;
