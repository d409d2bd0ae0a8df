-- The web console's sessions (hub/state/sessions.go): kept in the state so
-- that they survive a restart and work on every hub of one PostgreSQL.
-- key is the hex SHA-256 of the cookie's value, never the value itself.
-- Times are fixed-width UTC text (they sort in time order).
CREATE TABLE console_sessions (
    key        TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    via        TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    seen_at    TEXT NOT NULL
);
CREATE INDEX console_sessions_subject ON console_sessions (subject);
CREATE INDEX console_sessions_seen ON console_sessions (seen_at);
CREATE INDEX console_sessions_created ON console_sessions (created_at);
-- OIDC sign-ins under way: key is the hex SHA-256 of the flow's state
-- parameter (the browser holds the value in a short-lived cookie); taken
-- once, by the callback.
CREATE TABLE console_signin_flows (
    key        TEXT PRIMARY KEY,
    issuer     TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    verifier   TEXT NOT NULL,
    next       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX console_signin_flows_created ON console_signin_flows (created_at);
