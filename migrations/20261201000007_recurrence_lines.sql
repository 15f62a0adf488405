-- Recurrence lines written locally (plain SQL or the API) are checked as they are written, so a
-- malformed rule is refused with an error naming its line instead of reaching the expander or Google:
--  * RRULE:/EXRULE: must be `KEY=VALUE` parts from RFC 5545 with a FREQ of DAILY, WEEKLY, MONTHLY
--    or YEARLY (finer frequencies make unbounded occurrences a day);
--  * RDATE/EXDATE must be dates or date-times, with optional parameters;
--  * at most 50 lines.
-- Rows written by the sync (calsync.origin = 'google') are Google's own and are not checked.

CREATE OR REPLACE FUNCTION calsync_check_recurrence(lines TEXT[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    i INT;
    line TEXT;
    part TEXT;
    key TEXT;
    freq TEXT;
BEGIN
    IF lines IS NULL THEN
        RETURN;
    END IF;
    IF cardinality(lines) > 50 THEN
        RAISE EXCEPTION 'calsync: recurrence: at most 50 lines, got %', cardinality(lines)
            USING ERRCODE = 'check_violation', COLUMN = 'recurrence';
    END IF;
    FOR i IN 1 .. cardinality(lines) LOOP
        line := btrim(coalesce(lines[i], ''));
        IF line ~ '^(RRULE|EXRULE):' THEN
            freq := NULL;
            FOREACH part IN ARRAY string_to_array(substr(line, strpos(line, ':') + 1), ';') LOOP
                IF part !~ '^[A-Z]+=[A-Za-z0-9,+-]+$' THEN
                    RAISE EXCEPTION 'calsync: recurrence[%]: not a valid rule (parts are KEY=VALUE)', i - 1
                        USING ERRCODE = 'check_violation', COLUMN = 'recurrence';
                END IF;
                key := split_part(part, '=', 1);
                IF key NOT IN ('FREQ', 'UNTIL', 'COUNT', 'INTERVAL', 'BYSECOND', 'BYMINUTE', 'BYHOUR', 'BYDAY',
                               'BYMONTHDAY', 'BYYEARDAY', 'BYWEEKNO', 'BYMONTH', 'BYSETPOS', 'WKST') THEN
                    RAISE EXCEPTION 'calsync: recurrence[%]: unknown rule part %', i - 1, key
                        USING ERRCODE = 'check_violation', COLUMN = 'recurrence';
                END IF;
                IF key = 'FREQ' THEN
                    freq := split_part(part, '=', 2);
                END IF;
            END LOOP;
            IF freq IS NULL THEN
                RAISE EXCEPTION 'calsync: recurrence[%]: a rule needs FREQ', i - 1
                    USING ERRCODE = 'check_violation', COLUMN = 'recurrence';
            END IF;
            IF freq NOT IN ('DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY') THEN
                RAISE EXCEPTION 'calsync: recurrence[%]: FREQ=% is not accepted: use DAILY, WEEKLY, MONTHLY or YEARLY', i - 1, freq
                    USING ERRCODE = 'check_violation', COLUMN = 'recurrence';
            END IF;
        ELSIF line ~ '^(RDATE|EXDATE)(;[A-Za-z-]+=[^:;]+)*:[0-9]{8}(T[0-9]{6}Z?)?(,[0-9]{8}(T[0-9]{6}Z?)?)*$' THEN
            NULL;
        ELSE
            RAISE EXCEPTION 'calsync: recurrence[%]: each line must start with RRULE:, EXRULE:, RDATE or EXDATE and be well formed', i - 1
                USING ERRCODE = 'check_violation', COLUMN = 'recurrence';
        END IF;
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION calsync_events_check_recurrence() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM calsync_check_recurrence(NEW.recurrence);
    RETURN NEW;
END $$;

CREATE TRIGGER events_check_recurrence
    BEFORE INSERT OR UPDATE OF recurrence ON events
    FOR EACH ROW WHEN (NOT calsync_from_google())
    EXECUTE FUNCTION calsync_events_check_recurrence();
