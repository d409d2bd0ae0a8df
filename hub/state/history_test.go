package state

import (
	"context"
	"testing"
	"time"
)

// TestHistoryImportsOnBothDialects: an import's progress saved in a
// transaction and outside one, read back, listed, and the newest per app.
func TestHistoryImportsOnBothDialects(t *testing.T) {
	dialects(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		from, to := now.Add(-30*24*time.Hour), now
		if _, found, err := db.HistoryImport(ctx, "acme", "gp", from, to); err != nil || found {
			t.Fatalf("before: %v %v", found, err)
		}
		h := HistoryImport{IntegrationID: "acme", AppID: "gp", From: from, To: to, Started: now, Updated: now}
		if err := db.SaveHistoryImport(ctx, h); err != nil {
			t.Fatal(err)
		}
		h.Cursor, h.Pages, h.Done, h.Total, h.Reviews, h.Queued, h.RatingOnly, h.Unreadable = "c2", 2, 50, 100, 1000, 900, 3, 1
		h.CompleteUntil, h.LastError = now.Add(-time.Hour), "x"
		if err := db.InTx(ctx, func(tx *Tx) error { return tx.SaveHistoryImport(ctx, h) }); err != nil {
			t.Fatal(err)
		}
		got, found, err := db.HistoryImport(ctx, "acme", "gp", from, to)
		if err != nil || !found || got != h || !got.Running() {
			t.Fatalf("read back %+v %v %v, want %+v", got, found, err, h)
		}
		older := HistoryImport{IntegrationID: "acme", AppID: "gp", From: from.Add(-time.Hour), To: from, Started: now, Finished: now}
		if err := db.SaveHistoryImport(ctx, older); err != nil {
			t.Fatal(err)
		}
		list, err := db.HistoryImports(ctx, "acme", "gp")
		if err != nil || len(list) != 2 || list[0] != h || list[1] != older {
			t.Errorf("list %+v %v", list, err)
		}
		latest, err := db.LatestHistoryImports(ctx, "acme")
		if err != nil || len(latest) != 1 || latest[[2]string{"acme", "gp"}] != h {
			t.Errorf("latest %+v %v", latest, err)
		}
	})
}

// TestCursorLastSuccessOnBothDialects: a failed poll moves the last poll's
// time, never the last successful listing's (gap recovery starts there).
func TestCursorLastSuccessOnBothDialects(t *testing.T) {
	dialects(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		db.now = func() time.Time { return t0 }
		if err := db.InTx(ctx, func(tx *Tx) error { return tx.SaveCursor(ctx, "i", "a", "c") }); err != nil {
			t.Fatal(err)
		}
		db.now = func() time.Time { return t0.Add(10 * 24 * time.Hour) }
		if err := db.SetPollError(ctx, "i", "a", "store down"); err != nil {
			t.Fatal(err)
		}
		c, err := db.Cursor(ctx, "i", "a")
		if err != nil || !c.LastSuccessAt.Equal(t0) || !c.LastPollAt.Equal(t0.Add(10*24*time.Hour)) || c.LastError != "store down" {
			t.Fatalf("cursor %+v %v", c, err)
		}
	})
}
