-- A history import (hub/poll/history.go) must not replace a stored version
-- with an older row of the store's reports: the stored version's time in
-- the store (sdk.Review.UpdatedAt; 0 unknown: its seen_at is used).
ALTER TABLE reviews ADD COLUMN updated_ms INTEGER NOT NULL DEFAULT 0;
