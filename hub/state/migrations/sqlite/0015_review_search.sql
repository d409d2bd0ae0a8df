-- Issue 25: the console's Reviews pages (hub/state/reviewlist.go).
-- What a review says besides its text, as the store listed it last: author,
-- country, language, app version, the store's link; posted_ms is the
-- store's date of this version (Unix ms; the time the hub saw it when the
-- store gives none), the order of the list. seq is a review's stable
-- number (never renumbered by VACUUM, unlike SQLite's rowid): the list's
-- tiebreak and the search index's docid. indexed = 0 marks reviews whose
-- search tokens are not written yet (written before this migration, or by
-- an older hub): the hub indexes them (IndexReviews).
ALTER TABLE reviews ADD COLUMN author TEXT NOT NULL DEFAULT '';
ALTER TABLE reviews ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE reviews ADD COLUMN language TEXT NOT NULL DEFAULT '';
ALTER TABLE reviews ADD COLUMN app_version TEXT NOT NULL DEFAULT '';
ALTER TABLE reviews ADD COLUMN url TEXT NOT NULL DEFAULT '';
ALTER TABLE reviews ADD COLUMN posted_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reviews ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reviews ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0;
UPDATE reviews SET seq = rowid;
CREATE UNIQUE INDEX reviews_seq ON reviews (seq);
CREATE INDEX reviews_posted ON reviews (posted_ms, seq);
CREATE INDEX reviews_posted_integration ON reviews (integration_id, posted_ms, seq);
CREATE INDEX reviews_posted_app ON reviews (integration_id, app_id, posted_ms, seq);
-- A reply status is a rare filter (refused, failed, draft): its own order.
CREATE INDEX reviews_posted_reply ON reviews (reply_status, posted_ms, seq);
CREATE INDEX reviews_posted_app_reply ON reviews (integration_id, app_id, reply_status, posted_ms, seq);
CREATE INDEX reviews_unindexed ON reviews (seq) WHERE indexed = 0;

-- Each version's app version and store date.
ALTER TABLE review_versions ADD COLUMN app_version TEXT NOT NULL DEFAULT '';
ALTER TABLE review_versions ADD COLUMN posted_ms INTEGER NOT NULL DEFAULT 0;

-- The search index: a review's title, text and author as the hub's own
-- tokens (searchTokens: words, and for scripts written without spaces —
-- Chinese, Japanese, Korean, Thai … — overlapping pairs of characters),
-- docid = reviews.seq. FTS4 is compiled into go-sqlite3 by default (FTS5
-- needs the sqlite_fts5 build tag); the simple tokenizer splits the tokens
-- at the spaces between them and keeps every non-ASCII character.
CREATE VIRTUAL TABLE review_search USING fts4(tokens, tokenize=simple);

-- Every status an answer went through, when, and who moved it (the
-- approving staff member of a draft, the admin API's retry).
CREATE TABLE reply_events (
    integration_id TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    at_ms          INTEGER NOT NULL,
    status         TEXT NOT NULL,
    detail         TEXT NOT NULL DEFAULT '',
    actor          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX reply_events_message ON reply_events (integration_id, message_id, at_ms);
