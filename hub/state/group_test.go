package state

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

var errBoom = errors.New("boom")

// Callers of InTxGrouped each get their own outcome: every change but the
// failing caller's commits, and only that caller sees its error.
func TestInTxGroupedIsolatesFailures(t *testing.T) { dialects(t, testGroupedIsolates) }

func testGroupedIsolates(t *testing.T, db *DB) {
	ctx := context.Background()
	const n, failing = 24, 7
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.InTxGrouped(ctx, func(tx *Tx) error {
				if err := tx.Count(ctx, "i", "a", fmt.Sprintf("c%d", i), 1); err != nil {
					return err
				}
				if i == failing {
					return errBoom
				}
				return nil
			})
		}()
	}
	wg.Wait()
	counters, err := db.Counters(ctx, "i")
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		want := 1
		if i == failing {
			want = 0
			if !errors.Is(err, errBoom) {
				t.Errorf("failing caller got %v, want its own error", err)
			}
		} else if err != nil {
			t.Errorf("caller %d got %v, want nil", i, err)
		}
		if got := counters["a"][fmt.Sprintf("c%d", i)]; got != want {
			t.Errorf("caller %d: counter %d, want %d (committed exactly once)", i, got, want)
		}
	}
}

// On SQLite, callers arriving while a write is under way share the next
// transaction: 20 callers queued behind one write take at most three.
func TestInTxGroupedSharesTransactions(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	hold, holding := make(chan struct{}), make(chan struct{})
	blocker := make(chan error, 1)
	go func() {
		blocker <- db.InTx(ctx, func(*Tx) error { close(holding); <-hold; return nil })
	}()
	<-holding
	released := false
	release := func() {
		if !released {
			released = true
			close(hold)
		}
	}
	t.Cleanup(release)
	const n = 20
	var mu sync.Mutex
	txs := map[*Tx]bool{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.InTxGrouped(ctx, func(tx *Tx) error {
				mu.Lock()
				txs[tx] = true
				mu.Unlock()
				return tx.Count(ctx, "i", "a", fmt.Sprintf("c%d", i), 1)
			})
			if err != nil {
				t.Errorf("caller %d: %v", i, err)
			}
		}()
	}
	// The group's writer took the first callers and waits for the write
	// gate; the others wait in its queue for the next transaction.
	sdktest.Within(t, "callers queued", func() {
		for db.group.sent.Load() < n {
			time.Sleep(time.Millisecond)
		}
	})
	release()
	wg.Wait()
	if err := <-blocker; err != nil {
		t.Fatal(err)
	}
	if len(txs) > 3 {
		t.Errorf("%d callers took %d transactions, want them shared (at most 3)", n, len(txs))
	}
	counters, err := db.Counters(ctx, "i")
	if err != nil {
		t.Fatal(err)
	}
	if len(counters["a"]) != n {
		t.Errorf("%d counters committed, want %d", len(counters["a"]), n)
	}
}

// A closed database runs no group writer; a late caller still gets an
// answer (the closed database's error), never a hang.
func TestInTxGroupedAfterClose(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	if err := db.InTxGrouped(ctx, func(tx *Tx) error { return tx.Count(ctx, "i", "a", "c", 1) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	sdktest.Within(t, "grouped write after close", func() {
		if err := db.InTxGrouped(ctx, func(tx *Tx) error { return nil }); err == nil {
			t.Error("write on a closed database succeeded")
		}
	})
}
