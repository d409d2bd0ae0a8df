CREATE TABLE integrations (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL DEFAULT '',
    helpdesk_plugin   TEXT NOT NULL DEFAULT '',
    helpdesk_settings BLOB,
    tags              INTEGER NOT NULL DEFAULT 1,
    source            TEXT NOT NULL DEFAULT 'api',
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

CREATE TABLE apps (
    integration_id   TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    id               TEXT NOT NULL,
    name             TEXT NOT NULL DEFAULT '',
    store_plugin     TEXT NOT NULL DEFAULT '',
    store_app_id     TEXT NOT NULL DEFAULT '',
    store_settings   BLOB,
    filters          TEXT NOT NULL DEFAULT '{}',
    poll_interval_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (integration_id, id)
);

-- Poll state per app.
CREATE TABLE cursors (
    integration_id TEXT NOT NULL,
    app_id         TEXT NOT NULL,
    cursor         TEXT NOT NULL DEFAULT '',
    connected      INTEGER NOT NULL DEFAULT 0,
    last_poll_at   TEXT NOT NULL DEFAULT '',
    last_error     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (integration_id, app_id)
);

-- The latest known version of every review seen.
CREATE TABLE reviews (
    integration_id TEXT NOT NULL,
    app_id         TEXT NOT NULL,
    review_id      TEXT NOT NULL,
    version        INTEGER NOT NULL,
    rating         INTEGER NOT NULL,
    title          TEXT NOT NULL DEFAULT '',
    body           TEXT NOT NULL DEFAULT '',
    reply_text     TEXT NOT NULL DEFAULT '',
    ticket_id      TEXT NOT NULL DEFAULT '',
    seen_at        TEXT NOT NULL,
    PRIMARY KEY (integration_id, app_id, review_id)
);
CREATE INDEX reviews_ticket ON reviews (integration_id, ticket_id);

-- Every version of every review (the history shown in tickets).
CREATE TABLE review_versions (
    integration_id TEXT NOT NULL,
    app_id         TEXT NOT NULL,
    review_id      TEXT NOT NULL,
    version        INTEGER NOT NULL,
    rating         INTEGER NOT NULL,
    title          TEXT NOT NULL DEFAULT '',
    body           TEXT NOT NULL DEFAULT '',
    reply_text     TEXT NOT NULL DEFAULT '',
    seen_at        TEXT NOT NULL,
    PRIMARY KEY (integration_id, app_id, review_id, version)
);

-- Replies asked for by staff, idempotent by the helpdesk's message id.
CREATE TABLE replies (
    integration_id TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    ticket_id      TEXT NOT NULL DEFAULT '',
    app_id         TEXT NOT NULL DEFAULT '',
    review_id      TEXT NOT NULL DEFAULT '',
    body           TEXT NOT NULL,
    staff          TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL,
    detail         TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (integration_id, message_id)
);

-- Counters for the status view (delivered, published, skipped:<filter> …).
CREATE TABLE counters (
    integration_id TEXT NOT NULL,
    app_id         TEXT NOT NULL,
    name           TEXT NOT NULL,
    value          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (integration_id, app_id, name)
);
