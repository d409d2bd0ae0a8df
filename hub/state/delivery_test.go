package state

import (
	"context"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// A review's first delivery attempt is reported once; every later one is
// a retry (the plugin looks its ticket up), until the helpdesk refused the
// attempt outright (rate limited), and never once a ticket is linked.
func TestStartDeliveryFirstAttemptOnce(t *testing.T) { dialects(t, testStartDelivery) }

func testStartDelivery(t *testing.T, db *DB) {
	ctx := context.Background()
	id := "first-" + time.Now().Format("150405.000000000") // PostgreSQL's database is shared between runs
	observe(t, db, sdk.Review{ID: id, Rating: 3, Text: "ok", UpdatedAt: time.Now()})
	step := func(name, wantTicket string, wantFirst bool) {
		t.Helper()
		ticket, first, err := db.StartDelivery(ctx, "i", "a", id)
		if err != nil || ticket != wantTicket || first != wantFirst {
			t.Fatalf("%s: ticket %q first %v err %v; want %q %v", name, ticket, first, err, wantTicket, wantFirst)
		}
	}
	step("first attempt", "", true)
	step("second attempt", "", false)
	if err := db.RefusedDelivery(ctx, "i", "a", id); err != nil {
		t.Fatal(err)
	}
	step("after a refused attempt", "", true)
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.LinkTicket(ctx, "i", "a", id, "T1") }); err != nil {
		t.Fatal(err)
	}
	if err := db.RefusedDelivery(ctx, "i", "a", id); err != nil {
		t.Fatal(err)
	}
	step("linked", "T1", false)
	if _, first, err := db.StartDelivery(ctx, "i", "a", "never-seen"); err != nil || first {
		t.Fatalf("unknown review: first %v err %v, want a lookup", first, err)
	}
}
