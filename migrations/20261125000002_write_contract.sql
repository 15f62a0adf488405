-- The write contract: plain SQL on `events` reaches Google like the HTTP API does.
--  * a row written by the sync engine runs with `SET LOCAL calsync.origin = 'google'` and enters no outbox (no echo);
--  * any other INSERT / UPDATE / soft delete (deleted_at or status = 'cancelled') is queued in `outbox` and NOTIFYs the writer;
--  * `casquette` alone picks the calendar (the first active calendar of that role), `calendar_id` alone fills `casquette`;
--  * `updated_at` moves to now() on local writes that do not set it, so last-write-wins sees them;
--  * a plain DELETE of a row known to Google becomes a soft delete, so the deletion can reach Google.

CREATE FUNCTION calsync_from_google() RETURNS BOOLEAN LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('calsync.origin', true), '') = 'google'
$$;

CREATE FUNCTION calsync_events_before_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.calendar_id IS NULL AND NEW.casquette IS NOT NULL THEN
        SELECT id INTO NEW.calendar_id FROM calendars
         WHERE casquette = NEW.casquette AND active ORDER BY created_at, id LIMIT 1;
        IF NEW.calendar_id IS NULL THEN
            RAISE EXCEPTION 'calsync: no active calendar has casquette %', NEW.casquette
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    ELSIF NEW.casquette IS NULL AND NEW.calendar_id IS NOT NULL THEN
        SELECT casquette INTO NEW.casquette FROM calendars WHERE id = NEW.calendar_id;
    END IF;
    IF calsync_from_google() THEN
        NEW.origin := 'google';
    ELSE
        NEW.origin := 'local';
        IF TG_OP = 'UPDATE' AND NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
            NEW.updated_at := now();
        END IF;
        IF NEW.status = 'cancelled' AND NEW.deleted_at IS NULL THEN
            NEW.deleted_at := now();
        END IF;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER events_before_write BEFORE INSERT OR UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION calsync_events_before_write();

CREATE FUNCTION calsync_events_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
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
        SET generation = outbox.generation + 1,
            calendar_id = EXCLUDED.calendar_id,
            next_attempt_at = LEAST(outbox.next_attempt_at, now()),
            parked_at = NULL;
    PERFORM pg_notify('calsync_outbox', NEW.calendar_id);
    RETURN NULL;
END $$;

CREATE TRIGGER events_enqueue AFTER INSERT OR UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION calsync_events_enqueue();

CREATE FUNCTION calsync_events_soft_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF calsync_from_google() OR OLD.external_id IS NULL OR OLD.deleted_at IS NOT NULL THEN
        RETURN OLD;   -- nothing at Google to delete: let the row go
    END IF;
    UPDATE events SET deleted_at = now(), status = 'cancelled' WHERE id = OLD.id;
    RETURN NULL;      -- keep the row (soft-deleted) so the writer can delete it at Google
END $$;

CREATE TRIGGER events_soft_delete BEFORE DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION calsync_events_soft_delete();

-- A push marks its calendar pending; workers LISTEN for this to start at once.
CREATE FUNCTION calsync_sync_pending_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.pending AND (TG_OP = 'INSERT' OR NOT OLD.pending) THEN
        PERFORM pg_notify('calsync_sync', NEW.calendar_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER sync_state_pending_notify AFTER INSERT OR UPDATE OF pending ON sync_state
    FOR EACH ROW EXECUTE FUNCTION calsync_sync_pending_notify();
