-- What the state says about itself (hub/state/version.go, docs/operations.md
-- "Upgrade"): schema_version (the number of the latest migration applied),
-- schema_hub_version (the hub that applied it), hub_version (the latest hub
-- that opened the state to write), and after a restore from a backup
-- (backup_taken_at in the copy, restored_at, first_attempts_after).
-- Additive: hubs of the previous release run on it unchanged. IF NOT EXISTS:
-- `hub backup` of an older state adds it to the copy.
CREATE TABLE IF NOT EXISTS state_info (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
