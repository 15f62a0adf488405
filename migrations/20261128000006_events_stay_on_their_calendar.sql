-- An event stays on its calendar. Moving a row to another calendar with plain SQL used to patch the
-- old Google id on the new calendar (404 forever) while the old calendar's sync re-imported the event
-- as a new row: now such an UPDATE fails with a clear error. To move an event, delete it and insert
-- it on the other calendar. `casquette` follows the calendar: it may only be set to the calendar's role.

CREATE OR REPLACE FUNCTION calsync_events_before_write() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    role TEXT;
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
        IF TG_OP = 'UPDATE' THEN
            IF NEW.calendar_id IS DISTINCT FROM OLD.calendar_id THEN
                RAISE EXCEPTION 'calsync: an event cannot move to another calendar; delete it and insert it there'
                    USING ERRCODE = 'check_violation';
            END IF;
            IF NEW.casquette IS DISTINCT FROM OLD.casquette THEN
                SELECT casquette INTO role FROM calendars WHERE id = NEW.calendar_id;
                IF NEW.casquette IS DISTINCT FROM role THEN
                    RAISE EXCEPTION 'calsync: an event''s casquette is its calendar''s (%); to move it, delete it and insert it on the other calendar', role
                        USING ERRCODE = 'check_violation';
                END IF;
            END IF;
        END IF;
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
