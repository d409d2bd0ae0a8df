-- The reply status of each review (README: "Replies: status, retry and
-- automation"): the answer that decides it (the latest one accepted), its
-- status (pending, draft, published, refused, failed, outdated, deleted),
-- the detail shown to people, the review version a published answer
-- answered, and the rule that wrote it ('' a person).
ALTER TABLE reviews ADD COLUMN reply_status TEXT NOT NULL DEFAULT '';
ALTER TABLE reviews ADD COLUMN reply_message_id TEXT NOT NULL DEFAULT '';
ALTER TABLE reviews ADD COLUMN reply_detail TEXT NOT NULL DEFAULT '';
ALTER TABLE reviews ADD COLUMN reply_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reviews ADD COLUMN reply_rule TEXT NOT NULL DEFAULT '';
ALTER TABLE reviews ADD COLUMN reply_at TEXT NOT NULL DEFAULT '';

-- attempts: transient failures of one answer (failed after the limit);
-- retries: how often it was retried from the admin API (its outcome notes
-- are told apart by it);
-- rule: the auto-reply rule that wrote it ('' staff); deferred: the review
-- message a ticketless automatic reply delivers after all when it is
-- refused or fails, so that a person sees it.
ALTER TABLE replies ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE replies ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE replies ADD COLUMN rule TEXT NOT NULL DEFAULT '';
ALTER TABLE replies ADD COLUMN deferred TEXT NOT NULL DEFAULT '';
CREATE INDEX replies_review ON replies (integration_id, app_id, review_id);

-- Auto-reply rules, templates and guardrails of an integration (JSON, hub/rules).
ALTER TABLE integrations ADD COLUMN automation TEXT NOT NULL DEFAULT '{}';

-- The admin API's kill switch, apart from the integration so that the
-- config file (which rewrites config integrations on start) never turns
-- automation back on.
CREATE TABLE automation_switch (
    integration_id TEXT PRIMARY KEY,
    stopped        INTEGER NOT NULL DEFAULT 0,
    reason         TEXT NOT NULL DEFAULT '',
    changed_at     TEXT NOT NULL DEFAULT ''
);

-- Guardrail counters: automatic replies per app and UTC day (the daily
-- cap), and the last automatic reply per reviewer (the cooldown, Unix ms).
CREATE TABLE auto_reply_days (
    integration_id TEXT NOT NULL,
    app_id         TEXT NOT NULL,
    day            TEXT NOT NULL,
    replies        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (integration_id, app_id, day)
);
CREATE TABLE auto_reply_reviewers (
    integration_id TEXT NOT NULL,
    app_id         TEXT NOT NULL,
    reviewer       TEXT NOT NULL,
    last_ms        BIGINT NOT NULL,
    PRIMARY KEY (integration_id, app_id, reviewer)
);

-- Notes the hub wrote into tickets by itself (outdated answer, draft, held
-- automatic reply), once each by id: a redelivered review adds none twice.
CREATE TABLE ticket_notes (
    integration_id TEXT NOT NULL,
    note_id        TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (integration_id, note_id)
);
