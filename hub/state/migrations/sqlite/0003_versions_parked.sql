-- Integrations carry a version: an update applies only to the version it
-- was based on (no lost update, no resurrection by a racing PUT).
ALTER TABLE integrations ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- Answers whose ticket the hub cannot link to a review yet. They wait here,
-- not in a handler: a recorded ticket link releases them at once, a timer
-- re-examines them at next_at_ms, and they are refused after until_ms (Unix milliseconds).
CREATE TABLE parked_replies (
    integration_id TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    ticket_id      TEXT NOT NULL DEFAULT '',
    review_id      TEXT NOT NULL DEFAULT '',
    reason         TEXT NOT NULL,
    parked_at      TEXT NOT NULL,
    next_at_ms     INTEGER NOT NULL,
    until_ms       INTEGER NOT NULL,
    PRIMARY KEY (integration_id, message_id)
);
CREATE INDEX parked_replies_ticket ON parked_replies (integration_id, ticket_id);
CREATE INDEX parked_replies_review ON parked_replies (integration_id, review_id);
CREATE INDEX parked_replies_next ON parked_replies (next_at_ms);
