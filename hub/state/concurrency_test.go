package state

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// M1: many concurrent creates of one id: exactly one wins, the others get
// ErrExists, and the stored integration is the winner's.
func TestConcurrentCreateHasOneWinner(t *testing.T) { dialects(t, testConcurrentCreate) }

func testConcurrentCreate(t *testing.T, db *DB) {
	ctx := context.Background()
	const n = 30
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := Integration{ID: "x", Name: fmt.Sprintf("creator-%d", i), Source: "api",
				HelpdeskPlugin: "desk", HelpdeskSettings: sdk.Settings{"api_key": fmt.Sprintf("KEY-%d", i)}}
			errs[i] = db.InTx(ctx, func(tx *Tx) error { return tx.CreateIntegration(ctx, in) })
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("creators %d and %d both won", winner, i)
			}
			winner = i
		case !errors.Is(err, ErrExists):
			t.Fatalf("creator %d: %v, want ErrExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("nobody won")
	}
	got, err := db.Integration(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != fmt.Sprintf("creator-%d", winner) || got.HelpdeskSettings["api_key"] != fmt.Sprintf("KEY-%d", winner) || got.Version != 1 {
		t.Errorf("stored %s %v v%d, want the winner's (creator-%d)", got.Name, got.HelpdeskSettings, got.Version, winner)
	}
}

// An update applies only to the version it was based on, and never brings
// back a deleted integration.
func TestUpdateIntegrationVersion(t *testing.T) { dialects(t, testUpdateVersion) }

func testUpdateVersion(t *testing.T, db *DB) {
	ctx := context.Background()
	put := func(f func(tx *Tx) error) error { return db.InTx(ctx, f) }
	in := Integration{ID: "u", Name: "one", Source: "api", Apps: []App{{ID: "a", StorePlugin: "st"}}}
	if err := put(func(tx *Tx) error { return tx.CreateIntegration(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	cur, _ := db.Integration(ctx, "u")
	first, second := cur, cur
	first.Name, second.Name = "first", "second"
	if err := put(func(tx *Tx) error { return tx.UpdateIntegration(ctx, first) }); err != nil {
		t.Fatal(err)
	}
	if err := put(func(tx *Tx) error { return tx.UpdateIntegration(ctx, second) }); !errors.Is(err, ErrVersion) {
		t.Fatalf("stale update: %v, want ErrVersion", err)
	}
	cur, _ = db.Integration(ctx, "u")
	if cur.Name != "first" || cur.Version != 2 || len(cur.Apps) != 1 {
		t.Fatalf("after a stale update: %+v", cur)
	}
	if err := put(func(tx *Tx) error { return tx.DeleteIntegrationAt(ctx, "u", 1) }); !errors.Is(err, ErrVersion) {
		t.Fatalf("stale delete: %v, want ErrVersion", err)
	}
	if err := put(func(tx *Tx) error { return tx.DeleteIntegrationAt(ctx, "u", cur.Version) }); err != nil {
		t.Fatal(err)
	}
	if err := put(func(tx *Tx) error { return tx.UpdateIntegration(ctx, cur) }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update after delete: %v, want ErrNotFound", err)
	}
	if _, err := db.Integration(ctx, "u"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the deleted integration came back: %v", err)
	}
	// Integrations of the config file are not updated through the API.
	if err := put(func(tx *Tx) error { return tx.PutIntegration(ctx, Integration{ID: "c", Source: "config"}) }); err != nil {
		t.Fatal(err)
	}
	c, _ := db.Integration(ctx, "c")
	c.Source = "api"
	if err := put(func(tx *Tx) error { return tx.UpdateIntegration(ctx, c) }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update of a config integration: %v, want ErrNotFound", err)
	}
}

func TestParkedReplies(t *testing.T) { dialects(t, testParked) }

func testParked(t *testing.T, db *DB) {
	ctx := context.Background()
	now := time.Now()
	park := func(id, ticket, review string, next time.Time) {
		t.Helper()
		err := db.InTx(ctx, func(tx *Tx) error {
			return tx.ParkReply(ctx, ParkedReply{IntegrationID: "i", MessageID: id, TicketID: ticket, ReviewID: review,
				Reason: "why", NextAt: next, Until: now.Add(time.Hour)})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	park("m1", "T1", "", now.Add(-time.Second))
	park("m2", "T1", "", now.Add(time.Hour))
	park("m3", "T2", "r3", now.Add(time.Hour))
	park("m4", "T4", "", now.Add(time.Hour))
	due, err := db.DueParked(ctx, 10)
	if err != nil || len(due) != 1 || due[0].MessageID != "m1" || due[0].Reason != "why" {
		t.Fatalf("due: %+v %v, want m1", due, err)
	}
	if err := db.RecheckParkedAt(ctx, "i", "m1", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if due, _ := db.DueParked(ctx, 10); len(due) != 0 {
		t.Fatalf("due after recheck: %+v", due)
	}
	var released []string
	err = db.InTx(ctx, func(tx *Tx) error {
		var err error
		released, err = tx.ReleaseParkedFor(ctx, "i", "T1", "r3")
		return err
	})
	if err != nil || len(released) != 3 {
		t.Fatalf("released %v %v, want m1, m2 (ticket T1) and m3 (review r3)", released, err)
	}
	err = db.InTx(ctx, func(tx *Tx) error {
		if ok, err := tx.ReleaseParked(ctx, "i", "m4"); !ok || err != nil {
			return fmt.Errorf("first release: %v %v", ok, err)
		}
		if ok, err := tx.ReleaseParked(ctx, "i", "m4"); ok || err != nil {
			return fmt.Errorf("second release: %v %v, want false", ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if left, _ := db.ParkedReplies(ctx, "i"); len(left) != 0 {
		t.Errorf("left: %+v", left)
	}
}

// L7 at the state level.
func TestReviewOfTicketNeverOverridesALink(t *testing.T) { dialects(t, testReviewOfTicketLink) }

func testReviewOfTicketLink(t *testing.T, db *DB) {
	ctx := context.Background()
	observe(t, db, sdk.Review{ID: "linked", Rating: 5})
	observe(t, db, sdk.Review{ID: "free", Rating: 5})
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.LinkTicket(ctx, "i", "a", "linked", "T1") }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.ReviewOfTicket(ctx, "i", "T2", "linked"); !errors.Is(err, ErrLinkedElsewhere) {
		t.Errorf("review linked to T1 named from T2: %v, want ErrLinkedElsewhere", err)
	}
	if app, rev, err := db.ReviewOfTicket(ctx, "i", "T1", "linked"); err != nil || app != "a" || rev != "linked" {
		t.Errorf("its own ticket: %s %s %v", app, rev, err)
	}
	if app, rev, err := db.ReviewOfTicket(ctx, "i", "T3", "free"); err != nil || app != "a" || rev != "free" {
		t.Errorf("unlinked review by id: %s %s %v", app, rev, err)
	}
	if _, _, err := db.ReviewOfTicket(ctx, "i", "T3", "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown review: %v", err)
	}
}
