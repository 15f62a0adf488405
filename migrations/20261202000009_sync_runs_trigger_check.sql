-- sync_runs.trigger is read and written as an enum (`Trigger`, src/db/sync_runs.rs), like the other
-- text enums of the schema (events.status, conflicts.winner, sync_runs.status), which already have
-- their CHECK: the values calsync has always written. (The schema's comment also named `startup`,
-- which no version of calsync wrote.)
ALTER TABLE sync_runs
    ADD CONSTRAINT sync_runs_trigger_check CHECK (trigger IN ('push', 'poll', 'manual', 'api'));
