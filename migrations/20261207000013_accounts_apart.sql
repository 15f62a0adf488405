-- Several Google accounts in one calsync (issue 20): a calendar is identified by (account, Google
-- calendar id). `calendars.id` stays the local calendar key that every other table references, so
-- existing rows keep their keys; `account` and `google_id` say which Google calendar it is.
--  * Calendars stored before accounts existed belong to the implicit account `default`, and their
--    key is their Google id (unchanged).
--  * A calendar first stored for a named account gets the key `<account>:<google id>` (the config
--    mirror and the admin API choose it; see docs/database.md).
--  * `source` says who manages the row: the YAML config (`config`), or the admin API / connect flow
--    (`api`), which the config mirror leaves alone.
ALTER TABLE calendars ADD COLUMN account TEXT NOT NULL DEFAULT 'default';
ALTER TABLE calendars ADD COLUMN google_id TEXT;
UPDATE calendars SET google_id = id;
ALTER TABLE calendars ALTER COLUMN google_id SET NOT NULL;
ALTER TABLE calendars ADD CONSTRAINT calendars_account_google_key UNIQUE (account, google_id);
ALTER TABLE calendars ADD COLUMN source TEXT NOT NULL DEFAULT 'config'
    CHECK (source IN ('config', 'api'));
CREATE INDEX calendars_account_idx ON calendars (account) WHERE active;

-- Per-account state: a pause when Google refuses the account's credentials (invalid_grant),
-- alerted once per pause; an explicit sync or new credentials lift it.
CREATE TABLE account_state (
    account        TEXT PRIMARY KEY,
    paused_reason  TEXT,
    paused_at      TIMESTAMPTZ,
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Which calendar a local write means. `calendar_id` may be the calendar key or, when it names one
-- active calendar, a Google calendar id (`primary` with two accounts is refused: give the key,
-- `<account>:primary`); `casquette` alone picks the first active calendar of that role, and is
-- refused when several accounts have that role.
CREATE OR REPLACE FUNCTION calsync_events_before_write() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    role TEXT;
    given TEXT := NEW.calendar_id;
    n INTEGER;
BEGIN
    IF NEW.calendar_id IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.calendar_id IS DISTINCT FROM OLD.calendar_id)
       AND NOT EXISTS (SELECT 1 FROM calendars WHERE id = NEW.calendar_id) THEN
        SELECT count(*), min(id) INTO n, NEW.calendar_id FROM calendars
         WHERE google_id = given AND active;
        IF n > 1 THEN
            RAISE EXCEPTION 'calsync: calendar_id % is a calendar of several accounts; give its key (account:id)', given
                USING ERRCODE = 'check_violation', COLUMN = 'calendar_id';
        ELSIF n = 0 THEN
            NEW.calendar_id := given;   -- unknown: the foreign key refuses it, as before
        END IF;
    END IF;
    IF NEW.calendar_id IS NULL AND NEW.casquette IS NOT NULL THEN
        SELECT count(DISTINCT account) INTO n FROM calendars
         WHERE casquette = NEW.casquette AND active;
        IF n > 1 THEN
            RAISE EXCEPTION 'calsync: casquette % is used by several accounts; give calendar_id (the calendar key)', NEW.casquette
                USING ERRCODE = 'check_violation', COLUMN = 'calendar_id';
        END IF;
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
