package state

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
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

// TestArchivedReviewsNeverOverwriteNewerVersions: a review edited since
// (version 2, listed), then rows of the store's history: one of the first
// version and one between the two are older than the stored version and
// skipped (also preloaded, as a PostgreSQL page is); a newer one is a new
// version; a history row without a reply neither deletes nor changes the
// published reply.
func TestArchivedReviewsNeverOverwriteNewerVersions(t *testing.T) {
	dialects(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		t1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		v1 := sdk.Review{ID: "r", Rating: 1, Text: "bad", UpdatedAt: t1, Reply: &sdk.DeveloperReply{Text: "sorry"}}
		v2 := sdk.Review{ID: "r", Rating: 4, Text: "fixed, thanks", UpdatedAt: t1.Add(48 * time.Hour), Reply: &sdk.DeveloperReply{Text: "sorry"}}
		observe(t, db, v1)
		if o := observe(t, db, v2); o.Version != 2 {
			t.Fatalf("edit: %+v", o)
		}
		if _, err := db.SQL().Exec(`UPDATE reviews SET reply_status = '` + string(ReplyPublished) + `'`); err != nil {
			t.Fatal(err)
		}
		archived := func(r sdk.Review, preload bool) Observation {
			t.Helper()
			var obs Observation
			err := db.InTx(ctx, func(tx *Tx) error {
				if preload {
					if err := tx.PreloadReviews(ctx, "i", "a", []string{r.ID}); err != nil {
						return err
					}
				}
				var err error
				obs, err = tx.ObserveArchivedReview(ctx, "i", "a", r)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return obs
		}
		between := sdk.Review{ID: "r", Rating: 2, Text: "meh", UpdatedAt: t1.Add(24 * time.Hour)}
		for _, preload := range []bool{false, true} {
			for _, old := range []sdk.Review{{ID: "r", Rating: 1, Text: "bad", UpdatedAt: t1}, between} {
				if o := archived(old, preload); o.Kind != Unchanged || o.Version != 2 || o.ReplyDeleted {
					t.Fatalf("older row %+v (preload %v): %+v", old, preload, o)
				}
			}
		}
		var rating int
		var body, reply string
		if err := db.SQL().QueryRow(`SELECT rating, body, reply_text FROM reviews`).Scan(&rating, &body, &reply); err != nil || rating != 4 || body != v2.Text || reply != "sorry" {
			t.Fatalf("stored after older rows: %d %q %q %v", rating, body, reply, err)
		}
		newer := sdk.Review{ID: "r", Rating: 5, Text: "great now", UpdatedAt: t1.Add(72 * time.Hour)}
		if o := archived(newer, true); o.Kind != sdk.ChangeKindBetter || o.Version != 3 || o.ReplyDeleted {
			t.Fatalf("newer row: %+v", o)
		}
		if err := db.SQL().QueryRow(`SELECT reply_text FROM reviews`).Scan(&reply); err != nil || reply != "sorry" {
			t.Fatalf("reply after a history row without one: %q %v", reply, err)
		}
	})
}

// TestHistoryImportLeaseOnBothDialects: an import's row is leased to one
// importer; another cannot take it while it is held, nor write progress
// under a lease it lost (the page's transaction does not commit).
func TestHistoryImportLeaseOnBothDialects(t *testing.T) {
	dialects(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		h := HistoryImport{IntegrationID: "i", AppID: "a", From: t0, To: t0.Add(24 * time.Hour)}
		for range 2 {
			if err := db.CreateHistoryImport(ctx, h); err != nil {
				t.Fatal(err)
			}
		}
		key := HistoryImportKey(h)
		a, b := db.HistoryImportLeases(NewOwner("hub")), db.HistoryImportLeases(NewOwner("hub"))
		la, ok, err := a.Take(ctx, t0, time.Minute, key...)
		if err != nil || !ok {
			t.Fatalf("take: %v %v", ok, err)
		}
		passLeaseTime(t, db, historyLeases, 30*time.Second)
		if _, ok, err := b.Take(ctx, t0.Add(30*time.Second), time.Minute, key...); ok || err != nil {
			t.Fatalf("taken twice: %v %v", ok, err)
		}
		h.Cursor, h.Pages, h.Started = "p1", 1, t0
		if err := db.SaveHistoryImportUnder(ctx, h, la); err != nil {
			t.Fatal(err)
		}
		// a stops renewing; b takes it after it ran out.
		passLeaseTime(t, db, historyLeases, 90*time.Second)
		lb, ok, err := b.Take(ctx, t0.Add(2*time.Minute), time.Minute, key...)
		if err != nil || !ok || lb.Fence == la.Fence {
			t.Fatalf("take after expiry: %+v %v %v", lb, ok, err)
		}
		stale := h
		stale.Cursor, stale.Pages = "p2-by-a", 2
		err = db.InTx(ctx, func(tx *Tx) error {
			if _, err := tx.exec(ctx, `UPDATE cursors SET cursor = 'x'`); err != nil {
				return err
			}
			return tx.SaveHistoryImportUnder(ctx, stale, la)
		})
		if !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("a wrote under a lost lease: %v", err)
		}
		got, _, err := db.HistoryImport(ctx, "i", "a", h.From, h.To)
		if err != nil || got.Cursor != "p1" || got.Pages != 1 {
			t.Fatalf("progress after the refused write: %+v %v", got, err)
		}
		h.Cursor, h.Pages = "p2", 2
		if err := db.SaveHistoryImportUnder(ctx, h, lb); err != nil {
			t.Fatal(err)
		}
	})
}
