package state

import (
	"context"
	"errors"
	"testing"

	"github.com/reviewhub/reviewhub/sdk"
)

// A page observed with its reviews preloaded classifies them as one by one
// would: new ones (also one listed twice in the page), unchanged and
// changed ones; the new ones are in the tables for the transaction's next
// statement, and a transaction that fails keeps none of them.
func TestObservePreloadedPage(t *testing.T) { dialects(t, testObservePreloadedPage) }

func testObservePreloadedPage(t *testing.T, db *DB) {
	ctx := context.Background()
	observe(t, db, sdk.Review{ID: "old", Rating: 3, Text: "meh"})
	observe(t, db, sdk.Review{ID: "same", Rating: 5, Text: "fine"})
	page := []sdk.Review{
		{ID: "n1", Rating: 1, Text: "bad"},
		{ID: "old", Rating: 1, Text: "worse now"},
		{ID: "n2", Rating: 4, Text: "good", Reply: &sdk.DeveloperReply{Text: "thanks"}},
		{ID: "same", Rating: 5, Text: "fine"},
		{ID: "n1", Rating: 2, Text: "bad, edited"},
	}
	var kinds []string
	var ticket string
	err := db.InTx(ctx, func(tx *Tx) error {
		kinds = kinds[:0]
		ids := make([]string, len(page))
		for i, r := range page {
			ids[i] = r.ID
		}
		if err := tx.PreloadReviews(ctx, "i", "a", ids); err != nil {
			return err
		}
		for _, r := range page {
			obs, err := tx.ObserveReview(ctx, "i", "a", r)
			if err != nil {
				return err
			}
			kinds = append(kinds, obs.Kind)
		}
		// The next statement sees the new reviews.
		if err := tx.LinkTicket(ctx, "i", "a", "n2", "T2"); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{sdk.ChangeKindNew, sdk.ChangeKindWorse, sdk.ChangeKindNew, Unchanged, sdk.ChangeKindBetter}
	for i := range want {
		if i >= len(kinds) || kinds[i] != want[i] {
			t.Fatalf("kinds %v, want %v", kinds, want)
		}
	}
	if ticket, err = db.TicketOf(ctx, "i", "a", "n2"); err != nil || ticket != "T2" {
		t.Errorf("ticket of n2: %q %v", ticket, err)
	}
	if obs := observe(t, db, sdk.Review{ID: "n1", Rating: 2, Text: "bad, edited"}); obs.Kind != Unchanged || obs.Version != 2 ||
		len(obs.History) != 0 {
		t.Errorf("n1 after the page: %+v", obs)
	}
	if obs := observe(t, db, sdk.Review{ID: "n2", Rating: 3, Text: "good"}); obs.Version != 2 || len(obs.History) != 1 ||
		obs.History[0].Reply == nil || obs.History[0].Reply.Text != "thanks" {
		t.Errorf("n2 after the page: %+v", obs)
	}

	// A failed transaction inserts nothing it queued.
	boom := errors.New("boom")
	err = db.InTx(ctx, func(tx *Tx) error {
		if err := tx.PreloadReviews(ctx, "i", "a", []string{"n3"}); err != nil {
			return err
		}
		if _, err := tx.ObserveReview(ctx, "i", "a", sdk.Review{ID: "n3", Rating: 1}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if obs := observe(t, db, sdk.Review{ID: "n3", Rating: 1}); obs.Kind != sdk.ChangeKindNew {
		t.Errorf("n3 after a failed page: %+v", obs)
	}
}

// A counter every delivery adds to sums all its rows.
func TestCountedDeliveriesSum(t *testing.T) { dialects(t, testCountedDeliveriesSum) }

func testCountedDeliveriesSum(t *testing.T, db *DB) {
	ctx := context.Background()
	for range 40 {
		if err := db.InTx(ctx, func(tx *Tx) error { return tx.Count(ctx, "i", "a", CountDelivered, 1) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.Count(ctx, "i", "a", CountQueued, 3) }); err != nil {
		t.Fatal(err)
	}
	c, err := db.Counters(ctx, "i")
	if err != nil {
		t.Fatal(err)
	}
	if len(c["a"]) != 2 || c["a"][CountDelivered] != 40 || c["a"][CountQueued] != 3 {
		t.Errorf("counters %v", c)
	}
}
