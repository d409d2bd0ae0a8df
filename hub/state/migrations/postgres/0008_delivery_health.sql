-- Issue 24: health counts delivery. The facts of each app's deliveries
-- (hub/health): the last review delivered to the helpdesk, the last one
-- that failed for good (a dead letter), failed attempts in a row with the
-- last error's kind and text and since when they fail; the last answer
-- published in the store and the last that failed, with its reason.
-- Times are Unix ms.
ALTER TABLE app_health ADD COLUMN delivery_ok_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE app_health ADD COLUMN delivery_failed_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE app_health ADD COLUMN delivery_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE app_health ADD COLUMN delivery_error_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE app_health ADD COLUMN delivery_error TEXT NOT NULL DEFAULT '';
ALTER TABLE app_health ADD COLUMN delivery_failing_since_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE app_health ADD COLUMN answer_ok_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE app_health ADD COLUMN answer_failed_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE app_health ADD COLUMN answer_error TEXT NOT NULL DEFAULT '';

-- Why a review's delivery failed for good ('' when it did not, or when it
-- was delivered since): the status page says so instead of "no ticket".
ALTER TABLE reviews ADD COLUMN delivery_error TEXT NOT NULL DEFAULT '';

-- Why the next poll waits, for code (poll_schedule.note is for people):
-- '' not waiting on the store, 'quota' its polling budget is spent,
-- 'retry_after' it asked to wait (issue 33: no parsed notes).
ALTER TABLE poll_schedule ADD COLUMN wait TEXT NOT NULL DEFAULT '';

-- What a refused answer needs ('' nothing known, 'text' a new text: too
-- long, empty, or invalid for the store; 'account' a store account that can
-- reply): retrying such an answer as it is cannot help.
ALTER TABLE replies ADD COLUMN refusal TEXT NOT NULL DEFAULT '';

-- The app's last read-only check (hub/check, run when its integration is
-- saved or checked): its status ('' never checked, ok, warn, fail), what
-- failed or warned (the helpdesk's lines count for every app), since when
-- it has that status and when it ran.
ALTER TABLE app_health ADD COLUMN check_status TEXT NOT NULL DEFAULT '';
ALTER TABLE app_health ADD COLUMN check_problem TEXT NOT NULL DEFAULT '';
ALTER TABLE app_health ADD COLUMN check_since_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE app_health ADD COLUMN check_at_ms BIGINT NOT NULL DEFAULT 0;
