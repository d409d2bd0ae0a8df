-- Chat notifications (issue 29, docs/events.md "Notifications"). Additive.
-- Times are Unix ms.

-- A destination of notify.destinations: its place in the events outbox
-- (the last event it took or passed), its policy's state (JSON: the
-- sends of the last hour, the events held for a digest), when to post
-- what it holds, its retry after a failed send; claimed by one hub at a
-- time (lease columns, state/lease.go).
CREATE TABLE notify_destinations (
    name          TEXT PRIMARY KEY,
    cursor_ms     BIGINT NOT NULL DEFAULT 0,
    cursor_id     TEXT NOT NULL DEFAULT '',
    policy        TEXT NOT NULL DEFAULT '',
    flush_ms      BIGINT NOT NULL DEFAULT 0,
    retry_ms      BIGINT NOT NULL DEFAULT 0,
    tries         INTEGER NOT NULL DEFAULT 0,
    refused       INTEGER NOT NULL DEFAULT 0,
    lease_owner   TEXT NOT NULL DEFAULT '',
    lease_ms      BIGINT NOT NULL DEFAULT 0,
    lease_fence   BIGINT NOT NULL DEFAULT 0
);

-- The thread of a review at a destination: the MessageRef of its first
-- message, sent as ThreadRef with the review's later events.
CREATE TABLE notify_threads (
    destination  TEXT NOT NULL,
    thread_key   TEXT NOT NULL,
    message_ref  TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    PRIMARY KEY (destination, thread_key)
);
