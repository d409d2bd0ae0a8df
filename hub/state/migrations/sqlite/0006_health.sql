-- What the hub needs to compute each app's health (hub/health): the last
-- successful poll, the kind of the last error and since when polls fail.
-- health, reason and since_ms remember the last computed state (so "since
-- when" survives restarts); alerted and alerted_at_ms the last state an
-- alert was sent for and when (the cooldown); alert_lease_ms lets one hub
-- send an alert while the others wait. Kept apart from poll_schedule, whose
-- rows are removed when an app's settings change. Times are Unix ms.
CREATE TABLE app_health (
    integration_id   TEXT NOT NULL,
    app_id           TEXT NOT NULL,
    first_seen_ms    INTEGER NOT NULL DEFAULT 0,
    last_ok_ms       INTEGER NOT NULL DEFAULT 0,
    error_kind       TEXT NOT NULL DEFAULT '',
    error            TEXT NOT NULL DEFAULT '',
    failing_since_ms INTEGER NOT NULL DEFAULT 0,
    health           TEXT NOT NULL DEFAULT '',
    reason           TEXT NOT NULL DEFAULT '',
    since_ms         INTEGER NOT NULL DEFAULT 0,
    alerted          TEXT NOT NULL DEFAULT '',
    alerted_at_ms    INTEGER NOT NULL DEFAULT 0,
    alert_lease_ms   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (integration_id, app_id)
);

-- Where an integration's health alerts go: a note through its helpdesk
-- plugin and/or an outgoing webhook (sealed: such URLs carry a secret),
-- never more often than cooldown_ms per app.
CREATE TABLE integration_alerts (
    integration_id TEXT PRIMARY KEY,
    helpdesk       INTEGER NOT NULL DEFAULT 0,
    webhook_url    BLOB,
    cooldown_ms    INTEGER NOT NULL DEFAULT 0
);
