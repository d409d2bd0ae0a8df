-- What the poller decided for each review (hub/poll/reconcile.go): the
-- version whose change it queued for the helpdesk, its message committed
-- in the same transaction (0: none queued, or recorded before this
-- column), and whether that message was found lost (queued, never
-- delivered, neither waiting on the bus nor a dead letter), so that the
-- next listing that shows the review queues it again. Additive: hubs of
-- the previous release run on it unchanged.
ALTER TABLE reviews ADD COLUMN queued_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reviews ADD COLUMN requeue INTEGER NOT NULL DEFAULT 0;
-- The reconciliation looks only at queued reviews not linked to a ticket yet.
CREATE INDEX reviews_unlinked_queued ON reviews (integration_id, app_id) WHERE ticket_id = '' AND queued_version > 0;
CREATE INDEX reviews_requeue ON reviews (integration_id, app_id) WHERE requeue = 1;
