-- Gap recovery (hub/poll/gap.go) needs the last SUCCESSFUL listing:
-- cursors.last_poll_at is written by failed polls too. Set with the cursor
-- after a complete listing; filled for existing apps from their health's
-- last successful poll.
ALTER TABLE cursors ADD COLUMN last_success_ms BIGINT NOT NULL DEFAULT 0;
UPDATE cursors SET last_success_ms = COALESCE((SELECT h.last_ok_ms FROM app_health h
    WHERE h.integration_id = cursors.integration_id AND h.app_id = cursors.app_id), 0);
