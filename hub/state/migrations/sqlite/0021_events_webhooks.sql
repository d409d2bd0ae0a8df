-- Events and outbound webhooks (issue 29, docs/events.md). Additive: hubs
-- of the previous release run on it unchanged. Times are Unix ms.

-- The events outbox: each event once, by its id (the webhook-id its
-- receivers dedupe by), written in the transaction of the change it
-- reports where the code has one, else with an id derived from that
-- change (written again after a crash, it is the same row).
CREATE TABLE events (
    id             TEXT PRIMARY KEY,
    type           TEXT NOT NULL,
    integration_id TEXT NOT NULL DEFAULT '',
    occurred_ms    INTEGER NOT NULL,
    payload        TEXT NOT NULL
);
CREATE INDEX events_occurred ON events (occurred_ms);

-- An outbound webhook endpoint: for one integration, or every one
-- (integration_id ''); its whsec_ secret sealed like the other secrets;
-- event_types ",a,b," (or '' for every type); disabled_ms 0 while on.
CREATE TABLE webhook_endpoints (
    id               TEXT PRIMARY KEY,
    integration_id   TEXT NOT NULL DEFAULT '',
    url              TEXT NOT NULL,
    secret           BLOB,
    event_types      TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL DEFAULT '',
    source           TEXT NOT NULL DEFAULT 'api',
    created_ms       INTEGER NOT NULL,
    failing_since_ms INTEGER NOT NULL DEFAULT 0,
    disabled_ms      INTEGER NOT NULL DEFAULT 0,
    disabled_reason  TEXT NOT NULL DEFAULT ''
);

-- One event to one endpoint: pending until delivered or given up
-- (failed); claimed by one hub at a time (lease columns, state/lease.go).
CREATE TABLE webhook_deliveries (
    endpoint_id   TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending',
    attempts      INTEGER NOT NULL DEFAULT 0,
    tries         INTEGER NOT NULL DEFAULT 0,
    created_ms    INTEGER NOT NULL,
    next_ms       INTEGER NOT NULL,
    last_ms       INTEGER NOT NULL DEFAULT 0,
    last_status   INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT NOT NULL DEFAULT '',
    lease_owner   TEXT NOT NULL DEFAULT '',
    lease_ms      INTEGER NOT NULL DEFAULT 0,
    lease_fence   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_ms);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

-- The delivery log: every attempt with its answer's status and the first
-- bytes of its body, or the error.
CREATE TABLE webhook_attempts (
    endpoint_id  TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    at_ms        INTEGER NOT NULL,
    duration_ms  INTEGER NOT NULL DEFAULT 0,
    status_code  INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    response     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (endpoint_id, event_id, attempt)
);
