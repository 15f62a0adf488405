-- The write contract's checks on local writes (plain SQL or the API), each error naming its column:
--  * `casquette` is the calendar's role on INSERT as on UPDATE (an INSERT giving `calendar_id`
--    and another role's, or an unknown, casquette used to be accepted and listed under that role);
--  * `end_at` / `end_date` is not before the start (`end_date` is exclusive: after `start_date`);
--  * `time_zone` is a zone PostgreSQL knows (IANA names; no POSIX offsets such as 'UTC+5');
--  * a timed recurring row has a `time_zone` (Google needs one to expand the series).
-- Rows calsync writes because Google changed them (`calsync.origin = 'google'`) are not checked:
-- Google's data is stored as Google has it. A separate trigger, fired after `events_before_write`
-- (triggers fire in name order), so the calendar and role are already filled in.

CREATE FUNCTION calsync_events_check_contract() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    role TEXT;
BEGIN
    IF calsync_from_google() OR NEW.deleted_at IS NOT NULL THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT casquette INTO role FROM calendars WHERE id = NEW.calendar_id;
        IF role IS NOT NULL AND NEW.casquette IS DISTINCT FROM role THEN
            RAISE EXCEPTION 'calsync: column casquette must be the calendar''s role (%)', role
                USING ERRCODE = 'check_violation', COLUMN = 'casquette';
        END IF;
    END IF;
    IF NEW.end_at < NEW.start_at
       AND (TG_OP = 'INSERT' OR NEW.start_at IS DISTINCT FROM OLD.start_at OR NEW.end_at IS DISTINCT FROM OLD.end_at) THEN
        RAISE EXCEPTION 'calsync: column end_at is before start_at'
            USING ERRCODE = 'check_violation', COLUMN = 'end_at';
    END IF;
    IF NEW.end_date <= NEW.start_date
       AND (TG_OP = 'INSERT' OR NEW.start_date IS DISTINCT FROM OLD.start_date OR NEW.end_date IS DISTINCT FROM OLD.end_date) THEN
        RAISE EXCEPTION 'calsync: column end_date must be after start_date (it is exclusive)'
            USING ERRCODE = 'check_violation', COLUMN = 'end_date';
    END IF;
    IF NEW.time_zone IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.time_zone IS DISTINCT FROM OLD.time_zone) THEN
        IF NEW.time_zone !~ '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$'
           OR (NEW.time_zone ~ '[+-][0-9]' AND NEW.time_zone !~ '^Etc/') THEN
            RAISE EXCEPTION 'calsync: column time_zone is not an IANA time zone'
                USING ERRCODE = 'check_violation', COLUMN = 'time_zone';
        END IF;
        BEGIN
            PERFORM now() AT TIME ZONE NEW.time_zone;
        EXCEPTION WHEN invalid_parameter_value THEN
            RAISE EXCEPTION 'calsync: column time_zone is not a known time zone'
                USING ERRCODE = 'check_violation', COLUMN = 'time_zone';
        END;
    END IF;
    IF NEW.recurrence IS NOT NULL AND cardinality(NEW.recurrence) > 0 AND NEW.time_zone IS NULL
       AND NEW.start_at IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.recurrence IS DISTINCT FROM OLD.recurrence
            OR NEW.time_zone IS DISTINCT FROM OLD.time_zone OR OLD.start_at IS NULL) THEN
        RAISE EXCEPTION 'calsync: column time_zone is required for a recurring timed event'
            USING ERRCODE = 'check_violation', COLUMN = 'time_zone';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER events_check_contract BEFORE INSERT OR UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION calsync_events_check_contract();
