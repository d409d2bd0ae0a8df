package stmtcache

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"

	_ "github.com/mattn/go-sqlite3"
)

func TestPrepareOncePerQuery(t *testing.T) {
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	var c Cache
	if _, ok := c.Load("SELECT 1"); ok {
		t.Fatal("an empty cache has a statement")
	}
	const callers = 8
	got := make([]*sql.Stmt, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			st, err := c.Prepare(ctx, db, "SELECT 1")
			if err != nil {
				t.Error(err)
			}
			got[i] = st
		})
	}
	wg.Wait()
	for i, st := range got {
		if st != got[0] {
			t.Fatalf("caller %d got another statement for the same query", i)
		}
	}
	if st, ok := c.Load("SELECT 1"); !ok || st != got[0] {
		t.Error("Load does not return the prepared statement")
	}
	var n int
	if err := got[0].QueryRowContext(ctx).Scan(&n); err != nil || n != 1 {
		t.Fatalf("cached statement: %d, %v", n, err)
	}
	if _, err := c.Prepare(ctx, db, "SELEC nonsense"); err == nil {
		t.Error("a query that does not prepare gave no error")
	}
	if _, ok := c.Load("SELEC nonsense"); ok {
		t.Error("a failed preparation was cached")
	}

	c.Close()
	if _, ok := c.Load("SELECT 1"); ok {
		t.Error("Close left a statement in the cache")
	}
	if err := got[0].QueryRowContext(ctx).Scan(&n); err == nil {
		t.Error("Close left the statement open")
	}
}
