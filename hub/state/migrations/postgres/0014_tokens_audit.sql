-- Personal API tokens and the audit log (issue 26, docs/operations.md
-- "Roles, tokens and the audit log"). Additive: hubs of the previous
-- release run on it unchanged. Times are Unix ms.

-- A personal API token: its SHA-256 (hex), never the token; the role it
-- grants; expires_at_ms 0: it does not expire. Revoking deletes the row.
CREATE TABLE api_tokens (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL,
    hash            TEXT NOT NULL UNIQUE,
    created_at_ms   BIGINT NOT NULL,
    created_by      TEXT NOT NULL DEFAULT '',
    expires_at_ms   BIGINT NOT NULL DEFAULT 0,
    last_used_at_ms BIGINT NOT NULL DEFAULT 0
);

-- The audit log: who (subject, name, role, via), when, from where
-- (client), what (kind, action, integration, target, outcome) and the
-- field-level changes (JSON; secrets as "changed", never their values).
CREATE TABLE audit_log (
    id             BIGSERIAL PRIMARY KEY,
    at_ms          BIGINT NOT NULL,
    subject        TEXT NOT NULL,
    name           TEXT NOT NULL DEFAULT '',
    role           TEXT NOT NULL DEFAULT '',
    via            TEXT NOT NULL DEFAULT '',
    client         TEXT NOT NULL DEFAULT '',
    kind           TEXT NOT NULL,
    action         TEXT NOT NULL,
    integration_id TEXT NOT NULL DEFAULT '',
    target         TEXT NOT NULL DEFAULT '',
    outcome        TEXT NOT NULL DEFAULT '',
    changes        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at_ms);
