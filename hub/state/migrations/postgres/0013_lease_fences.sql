-- One lease (hub/state/lease.go): the poll schedule's leases and the alert
-- claims get a fence (moved on at every claim, so a holder whose lease
-- another took can no longer write under it), and the alert claims get an
-- owner (they had only an expiry). Additive: hubs of the previous release
-- go on claiming by the expiry columns, which these hubs respect too.
ALTER TABLE poll_schedule ADD COLUMN lease_fence BIGINT NOT NULL DEFAULT 0;
ALTER TABLE app_health ADD COLUMN alert_lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE app_health ADD COLUMN alert_lease_fence BIGINT NOT NULL DEFAULT 0;
