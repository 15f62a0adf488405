-- The sync worker's queue read (`pending_calendars`) and the per-account run count (its `running`
-- part, and the claim's cap) scanned every `sync_state` row on every claim: at 3,000 calendars and
-- 100 changed calendars a second, with three replicas claiming on every NOTIFY, that scan kept
-- PostgreSQL's CPU busy and pushes waited seconds (the scale run, issue 21). Both read a few rows.

-- Calendars queued: pending, or leased (a lease that lapsed while held is ready again).
CREATE INDEX sync_state_queued_idx ON sync_state (calendar_id) WHERE pending OR lease_owner IS NOT NULL;

-- Runs in flight: a lease still running.
CREATE INDEX sync_state_leased_idx ON sync_state (lease_until) WHERE lease_owner IS NOT NULL;
