package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
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

// A delivery's link records the ticket, counts the delivery and releases
// the answers that waited for the ticket or the review, handing them to
// publish in a transaction; with more work, all of it commits together or
// not at all.
func TestLinkDelivered(t *testing.T) { dialects(t, testLinkDelivered) }

func testLinkDelivered(t *testing.T, db *DB) {
	ctx := context.Background()
	stamp := time.Now().Format("150405.000000000")
	r1, r2, r3 := "link1-"+stamp, "link2-"+stamp, "link3-"+stamp
	for _, id := range []string{r1, r2, r3} {
		observe(t, db, sdk.Review{ID: id, Rating: 3, Text: "ok", UpdatedAt: time.Now()})
	}
	park := func(msg, ticket, review string) {
		t.Helper()
		err := db.InTx(ctx, func(tx *Tx) error {
			return tx.ParkReply(ctx, ParkedReply{IntegrationID: "i", MessageID: msg, TicketID: ticket, ReviewID: review,
				Reason: "unknown ticket", NextAt: time.Now().Add(time.Hour), Until: time.Now().Add(time.Hour)})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	delivered := func() int {
		t.Helper()
		c, err := db.Counters(ctx, "i")
		if err != nil {
			t.Fatal(err)
		}
		return c["a"][CountDelivered]
	}
	parked := func() []string {
		t.Helper()
		ps, err := db.ParkedReplies(ctx, "i")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range ps {
			ids = append(ids, p.MessageID)
		}
		slices.Sort(ids)
		return ids
	}
	before := delivered()
	park("m-ticket-"+stamp, "T1-"+stamp, "")
	park("m-review-"+stamp, "", r1)
	park("m-other-"+stamp, "T9-"+stamp, "")
	var published []string
	publish := func(tx *Tx, ids []string) error {
		if tx == nil {
			t.Error("publish outside a transaction")
		}
		published = slices.Clone(ids)
		return nil
	}
	if err := db.LinkDelivered(ctx, DeliveredTicket{"i", "a", r1, "T1-" + stamp}, publish, nil); err != nil {
		t.Fatal(err)
	}
	slices.Sort(published)
	if want := []string{"m-review-" + stamp, "m-ticket-" + stamp}; !slices.Equal(published, want) {
		t.Fatalf("published %v, want %v", published, want)
	}
	if got := parked(); !slices.Equal(got, []string{"m-other-" + stamp}) {
		t.Fatalf("still parked %v, want only the other ticket's answer", got)
	}
	if ticket, err := db.TicketOf(ctx, "i", "a", r1); err != nil || ticket != "T1-"+stamp {
		t.Fatalf("ticket of %s: %q (%v)", r1, ticket, err)
	}
	if got := delivered(); got != before+1 {
		t.Fatalf("delivered %d, want %d", got, before+1)
	}

	// Nothing waits: nothing is published.
	published = nil
	if err := db.LinkDelivered(ctx, DeliveredTicket{"i", "a", r2, "T2-" + stamp}, publish, nil); err != nil {
		t.Fatal(err)
	}
	if len(published) != 0 {
		t.Fatalf("published %v with nothing waiting", published)
	}

	// More work that fails: neither the link, the count nor the release
	// is recorded.
	park("m-three-"+stamp, "T3-"+stamp, "")
	failing := errors.New("rule work failed")
	err := db.LinkDelivered(ctx, DeliveredTicket{"i", "a", r3, "T3-" + stamp}, publish, func(*Tx) error { return failing })
	if !errors.Is(err, failing) {
		t.Fatalf("err %v, want the rule work's", err)
	}
	if ticket, _ := db.TicketOf(ctx, "i", "a", r3); ticket != "" {
		t.Fatalf("linked %q although the transaction failed", ticket)
	}
	if got := parked(); !slices.Contains(got, "m-three-"+stamp) {
		t.Fatalf("parked %v: the answer was released although the transaction failed", got)
	}
	if got := delivered(); got != before+2 {
		t.Fatalf("delivered %d, want %d", got, before+2)
	}
	ran := false
	if err := db.LinkDelivered(ctx, DeliveredTicket{"i", "a", r3, "T3-" + stamp}, publish, func(*Tx) error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("with more work: ran %v (%v)", ran, err)
	}
	if ticket, _ := db.TicketOf(ctx, "i", "a", r3); ticket != "T3-"+stamp || !slices.Equal(published, []string{"m-three-" + stamp}) {
		t.Fatalf("linked %q, published %v", ticket, published)
	}
	if got := delivered(); got != before+3 {
		t.Fatalf("delivered %d, want %d", got, before+3)
	}
}

// A link commits without waiting for the WAL flush, and only it: the
// setting ends with its own transaction, so the next statement on the same
// connection (a delivery's attempt record) waits for the flush again.
func TestAsyncCommitIsTheStatementsOwn(t *testing.T) {
	ctx := context.Background()
	db, err := OpenPostgres(ctx, pgtest.DSN(t), sealer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var during, after string
	if err := conn.QueryRowContext(ctx, `WITH async AS (`+AsyncCommit+`) SELECT current_setting('synchronous_commit') FROM async`).Scan(&during); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT current_setting('synchronous_commit')`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if during != "off" || after == "off" {
		t.Fatalf("synchronous_commit %q in the statement, %q after it; want off, then the server's setting", during, after)
	}
}

// Deliveries starting at once (recorded together on PostgreSQL) each learn
// whether theirs is the first attempt: of two attempts of one review, one.
func TestStartDeliveryConcurrently(t *testing.T) { dialects(t, testStartDeliveryConcurrently) }

func testStartDeliveryConcurrently(t *testing.T, db *DB) {
	ctx := context.Background()
	const reviews = 40
	ids := make([]string, reviews)
	for i := range ids {
		ids[i] = fmt.Sprintf("conc-%d-%s", i, time.Now().Format("150405.000000000"))
		observe(t, db, sdk.Review{ID: ids[i], Rating: 3, Text: "ok", UpdatedAt: time.Now()})
	}
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.LinkTicket(ctx, "i", "a", ids[0], "T0") }); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	firsts := map[string]int{}
	tickets := map[string]string{}
	var wg sync.WaitGroup
	for range 2 {
		for _, id := range ids {
			wg.Go(func() {
				ticket, first, err := db.StartDelivery(ctx, "i", "a", id)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if first {
					firsts[id]++
				}
				if ticket != "" {
					tickets[id] = ticket
				}
			})
		}
	}
	wg.Wait()
	if firsts[ids[0]] != 0 || tickets[ids[0]] != "T0" {
		t.Errorf("linked review: %d first attempts, ticket %q; want none, T0", firsts[ids[0]], tickets[ids[0]])
	}
	for _, id := range ids[1:] {
		if firsts[id] != 1 {
			t.Errorf("%s: %d first attempts of 2, want 1", id, firsts[id])
		}
	}
}
