package state

import (
	"context"
	"testing"
)

func TestTranslationCacheOnBothDialects(t *testing.T) { dialects(t, testTranslationCache) }

func testTranslationCache(t *testing.T, db *DB) {
	ctx := context.Background()
	if _, ok, err := db.Translation(ctx, "DeepL", "en", "h1"); ok || err != nil {
		t.Fatalf("empty cache: %v %v", ok, err)
	}
	if err := db.PutTranslation(ctx, "DeepL", "en", "h1", CachedTranslation{Text: "The app does not start.", From: "ja"}); err != nil {
		t.Fatal(err)
	}
	// A second hub's translation of the same key changes nothing.
	if err := db.PutTranslation(ctx, "DeepL", "en", "h1", CachedTranslation{Text: "other", From: "ja"}); err != nil {
		t.Fatal(err)
	}
	c, ok, err := db.Translation(ctx, "DeepL", "en", "h1")
	if err != nil || !ok || c.Text != "The app does not start." || c.From != "ja" {
		t.Errorf("cached %+v %v %v", c, ok, err)
	}
	for _, k := range [][3]string{{"LibreTranslate", "en", "h1"}, {"DeepL", "de", "h1"}, {"DeepL", "en", "h2"}} {
		if _, ok, _ := db.Translation(ctx, k[0], k[1], k[2]); ok {
			t.Errorf("%v: found, want per engine, target and text", k)
		}
	}
}
