-- Issue 27: history imports. One row per import of an app's reviews
-- changed in [from_ms, to_ms) through its store plugin's History: the
-- plugin's cursor after the last page applied (saved in the page's own
-- transaction, so an import resumes after a crash without re-delivering),
-- progress in the plugin's units (done of total) and counts, and when it
-- started, last moved and finished (0: not yet). Times are Unix ms.
CREATE TABLE IF NOT EXISTS history_imports (
    integration_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    from_ms BIGINT NOT NULL,
    to_ms BIGINT NOT NULL,
    cursor TEXT NOT NULL DEFAULT '',
    pages BIGINT NOT NULL DEFAULT 0,
    done BIGINT NOT NULL DEFAULT 0,
    total BIGINT NOT NULL DEFAULT 0,
    reviews BIGINT NOT NULL DEFAULT 0,
    queued BIGINT NOT NULL DEFAULT 0,
    rating_only BIGINT NOT NULL DEFAULT 0,
    unreadable BIGINT NOT NULL DEFAULT 0,
    complete_until_ms BIGINT NOT NULL DEFAULT 0,
    started_ms BIGINT NOT NULL DEFAULT 0,
    updated_ms BIGINT NOT NULL DEFAULT 0,
    finished_ms BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (integration_id, app_id, from_ms, to_ms)
);
