package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// CachedTranslation is a machine translation kept by (engine, target
// language, text hash) (issue 28; hub/translate's cache).
type CachedTranslation struct {
	Text string
	// From is the language the engine translated from.
	From string
}

// Translation returns the cached translation of the text whose SHA-256
// (hex) is textHash into target by engine; ok is false when there is none.
func (d *DB) Translation(ctx context.Context, engine, target, textHash string) (CachedTranslation, bool, error) {
	var c CachedTranslation
	err := d.queryRow(ctx, `SELECT translation, source_lang FROM translation_cache WHERE engine = ? AND target = ? AND text_hash = ?`,
		engine, target, textHash).Scan(&c.Text, &c.From)
	if errors.Is(err, sql.ErrNoRows) {
		return CachedTranslation{}, false, nil
	}
	if err != nil {
		return CachedTranslation{}, false, fmt.Errorf("state: cached translation: %w", err)
	}
	return c, true, nil
}

// PutTranslation keeps a translation; the first one kept for a key stays
// (two hubs translating the same text at once keep one).
func (d *DB) PutTranslation(ctx context.Context, engine, target, textHash string, c CachedTranslation) error {
	_, err := d.exec(ctx, `INSERT INTO translation_cache (engine, target, text_hash, translation, source_lang, created_ms) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (engine, target, text_hash) DO NOTHING`, engine, target, textHash, c.Text, c.From, d.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("state: keeping a translation: %w", err)
	}
	return nil
}
