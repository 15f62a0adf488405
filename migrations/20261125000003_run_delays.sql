-- When the change that caused a run was first known (the earliest push or poll mark the run
-- cleared): finished_at - pending_since is the change-to-database delay the status page charts.
ALTER TABLE sync_runs ADD COLUMN pending_since TIMESTAMPTZ;
CREATE INDEX sync_runs_finished_idx ON sync_runs (finished_at DESC) WHERE status = 'success';
