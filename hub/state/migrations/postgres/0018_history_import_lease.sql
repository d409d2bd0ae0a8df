-- One import runs in one place (hub/state/lease.go, history.go): the
-- importer holds the import's row with a fenced lease, and its progress is
-- written only under that fence.
ALTER TABLE history_imports ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE history_imports ADD COLUMN lease_until_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE history_imports ADD COLUMN lease_fence BIGINT NOT NULL DEFAULT 0;
