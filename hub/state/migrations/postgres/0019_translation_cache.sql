-- Machine translations (issue 28, hub/translate): one per engine, target
-- language and SHA-256 of the source text, so no text is paid for twice.
-- The source text itself is not kept here.
CREATE TABLE translation_cache (
    engine      TEXT NOT NULL,
    target      TEXT NOT NULL,
    text_hash   TEXT NOT NULL,
    translation TEXT NOT NULL,
    source_lang TEXT NOT NULL DEFAULT '',
    created_ms  BIGINT NOT NULL,
    PRIMARY KEY (engine, target, text_hash)
);
