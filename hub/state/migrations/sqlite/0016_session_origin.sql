-- How a console session was made (hub/console/session.go): a fingerprint
-- of the admin token (an HMAC, never the token) or of the OIDC issuer. A
-- session whose origin no longer matches the config is refused. Sessions
-- of earlier releases have '' and so end: their users sign in again.
ALTER TABLE console_sessions ADD COLUMN origin TEXT NOT NULL DEFAULT '';
