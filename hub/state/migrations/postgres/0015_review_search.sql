-- Issue 25: the console's Reviews pages (hub/state/reviewlist.go).
-- What a review says besides its text, as the store listed it last: author,
-- country, language, app version, the store's link; posted_ms is the
-- store's date of this version (Unix ms; the time the hub saw it when the
-- store gives none), the order of the list. seq is a review's stable
-- number: the list's tiebreak and the key of its search tokens
-- (review_search). indexed = 0 marks reviews whose tokens are not written yet (written
-- before this migration, or by an older hub during a rolling upgrade):
-- the hubs index them (IndexReviews).
ALTER TABLE reviews ADD COLUMN author TEXT NOT NULL DEFAULT '';
ALTER TABLE reviews ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE reviews ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE reviews ADD COLUMN app_version TEXT NOT NULL DEFAULT '';
ALTER TABLE reviews ADD COLUMN url TEXT NOT NULL DEFAULT '';
ALTER TABLE reviews ADD COLUMN posted_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reviews ADD COLUMN seq BIGSERIAL;
ALTER TABLE reviews ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX reviews_seq ON reviews (seq);
CREATE INDEX reviews_posted ON reviews (posted_ms, seq);
CREATE INDEX reviews_posted_integration ON reviews (integration_id, posted_ms, seq);
-- A reply status is a rare filter (refused, failed, draft): its own order.
-- No index begins with (integration_id, app_id) besides the primary key:
-- on a table without statistics yet (a new state, autovacuum off) the
-- planner chose such an index over the key for the updates by review,
-- scanning an app's reviews for each (SQLite has them: its planner always
-- takes a unique index whose columns are all given).
CREATE INDEX reviews_posted_reply ON reviews (reply_status, posted_ms, seq);
CREATE INDEX reviews_unindexed ON reviews (seq) WHERE indexed = 0;

-- The search index: a review's title, text and author as the hub's own
-- tokens (searchTokens: words, and for scripts written without spaces —
-- Chinese, Japanese, Korean, Thai … — overlapping pairs of characters), a
-- tsvector built from a literal (no text search configuration, no
-- extension: the same tokens and results as SQLite's FTS4 table). A table
-- of its own, not a column of reviews: a reply status written to a review
-- would otherwise copy its tsvector and index it in GIN again.
CREATE TABLE review_search (
    seq    BIGINT PRIMARY KEY,
    search TSVECTOR NOT NULL
);
CREATE INDEX review_search_gin ON review_search USING gin (search);

-- Each version's app version and store date.
ALTER TABLE review_versions ADD COLUMN app_version TEXT NOT NULL DEFAULT '';
ALTER TABLE review_versions ADD COLUMN posted_ms BIGINT NOT NULL DEFAULT 0;

-- Every status an answer went through, when, and who moved it (the
-- approving staff member of a draft, the admin API's retry).
CREATE TABLE reply_events (
    integration_id TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    at_ms          BIGINT NOT NULL,
    status         TEXT NOT NULL,
    detail         TEXT NOT NULL DEFAULT '',
    actor          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX reply_events_message ON reply_events (integration_id, message_id, at_ms);
