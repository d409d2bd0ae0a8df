-- The poll schedule: one row per app. Hubs claim due rows (next_at_ms has
-- passed, no live lease) by writing their id and a lease expiry, and move
-- next_at_ms one interval on (so an app whose hub dies mid-poll is polled
-- again an interval later, not twice in one interval); they poll and write
-- the next time. A hub that dies loses its leases when they expire.
-- Times are Unix milliseconds.
CREATE TABLE poll_schedule (
    integration_id TEXT NOT NULL,
    app_id         TEXT NOT NULL,
    next_at_ms     INTEGER NOT NULL,
    lease_owner    TEXT NOT NULL DEFAULT '',
    lease_until_ms INTEGER NOT NULL DEFAULT 0,
    failures       INTEGER NOT NULL DEFAULT 0,
    -- The interval the last poll scheduled with (after quota budgets).
    interval_ms    INTEGER NOT NULL DEFAULT 0,
    -- Vendor requests a poll of this app costs (moving average).
    calls_per_poll REAL NOT NULL DEFAULT 0,
    -- Why the next poll is later than the app's interval, if it is.
    note           TEXT NOT NULL DEFAULT '',
    last_poll_ms   INTEGER NOT NULL DEFAULT 0,
    -- When the app was due at its last claim (for the scheduler's lag).
    due_ms         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (integration_id, app_id)
);
CREATE INDEX poll_schedule_due ON poll_schedule (next_at_ms);
CREATE INDEX poll_schedule_owner ON poll_schedule (lease_owner);

-- Requests spent per quota bucket (a store's quota counted per credential,
-- keyed by a digest of that credential), in slots of 1/60 of its window.
CREATE TABLE quota_use (
    bucket  TEXT NOT NULL,
    slot_ms INTEGER NOT NULL,
    calls   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, slot_ms)
);

-- The apps polling through each bucket and what their polling costs, so
-- every hub can share the bucket's budget out among them.
CREATE TABLE quota_members (
    bucket         TEXT NOT NULL,
    integration_id TEXT NOT NULL,
    app_id         TEXT NOT NULL,
    calls_per_poll REAL NOT NULL,
    interval_ms    INTEGER NOT NULL,
    seen_ms        INTEGER NOT NULL,
    PRIMARY KEY (bucket, integration_id, app_id)
);
