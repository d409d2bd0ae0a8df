-- A review's first delivery attempt is recorded before the helpdesk plugin
-- is called, so the plugin can skip its lookup only when no ticket can
-- exist (sdk.TicketRequest.FirstAttempt). Reviews recorded before this
-- migration may have been attempted by an older hub that crashed before
-- linking the ticket: they count as attempted, and are looked up.
ALTER TABLE reviews ADD COLUMN delivery_attempted INTEGER NOT NULL DEFAULT 0;
UPDATE reviews SET delivery_attempted = 1;
