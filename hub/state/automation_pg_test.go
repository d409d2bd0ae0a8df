package state

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
)

// Two transactions reserving the last automatic reply of an app's day at
// once (two hubs, PostgreSQL): one gets it (both did, found by review).
func TestReserveAutoReplyKeepsTheCapAcrossHubs(t *testing.T) {
	ctx := context.Background()
	db, err := OpenPostgres(ctx, pgtest.DSN(t), sealer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Now()
	first := make(chan struct{})
	var got []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	run := func(who string, before, after func()) {
		defer wg.Done()
		err := db.InTx(ctx, func(tx *Tx) error {
			before()
			why, err := tx.ReserveAutoReply(ctx, "acme", "ios", who, now, 1, time.Hour)
			if why == "" && err == nil {
				mu.Lock()
				got = append(got, who)
				mu.Unlock()
			}
			after()
			return err
		})
		if err != nil {
			t.Error(err)
		}
	}
	wg.Add(2)
	// ann reserves and commits 300ms later; bob reserves meanwhile.
	go run("ann", func() {}, func() { close(first); time.Sleep(300 * time.Millisecond) })
	go run("bob", func() { <-first }, func() {})
	wg.Wait()
	n := 0
	_ = db.SQL().QueryRow(`SELECT replies FROM auto_reply_days`).Scan(&n)
	t.Logf("reserved %v; counter %d (cap 1)", got, n)
	if len(got) > 1 {
		t.Errorf("cap 1, %d automatic replies reserved", len(got))
	}
}
