-- What a plugin received but could not read: authentic webhooks of an
-- unknown shape (kind 'webhook', app_id '') and listed reviews a store
-- plugin could not map (kind 'review'). Kept for the operator, the newest
-- 100 per integration (webhooks) or per integration and app (reviews).
-- Bodies are redacted before they are stored.
CREATE TABLE unreadable (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id TEXT NOT NULL,
    kind           TEXT NOT NULL,
    app_id         TEXT NOT NULL DEFAULT '',
    plugin         TEXT NOT NULL DEFAULT '',
    item_id        TEXT NOT NULL DEFAULT '',
    reason         TEXT NOT NULL DEFAULT '',
    shape          TEXT NOT NULL DEFAULT '',
    detail         TEXT NOT NULL DEFAULT '{}',
    times          INTEGER NOT NULL DEFAULT 1,
    first_seen_at  TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL
);
CREATE INDEX unreadable_by_scope ON unreadable (integration_id, kind, app_id, last_seen_at);
CREATE INDEX unreadable_by_item ON unreadable (integration_id, kind, app_id, item_id);
