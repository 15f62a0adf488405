-- The time last-write-wins gives the stored Google version of an event: the local `updated_at` of
-- the version calsync wrote when Google still holds exactly that content (its write stamp), else
-- Google's `updated`. A write that landed after a later local change must not outrank that change.
ALTER TABLE events ADD COLUMN google_lww_at TIMESTAMPTZ;
