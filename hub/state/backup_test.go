package state

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// A backup is a consistent copy (bus tables included) taken while the state
// is written; a hub that runs on it after a restore looks every ticket up
// before creating one for RestoreLookupWindow, then trusts first attempts
// again. The original state is not marked.
func TestBackupRestoredLooksTicketsUp(t *testing.T) {
	ctx := context.Background()
	db, path := open(t)
	observe(t, db, sdk.Review{ID: "before", Rating: 3, Text: "in the backup"})
	if _, err := db.SQL().Exec(`CREATE TABLE watermill_test (id INTEGER PRIMARY KEY, payload TEXT)`); err != nil {
		t.Fatal(err)
	}
	// Writes go on while the copy is taken.
	stop := make(chan struct{})
	wrote := make(chan int)
	go func() {
		n := 0
		defer func() { wrote <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := db.exec(ctx, `INSERT INTO watermill_test (payload) VALUES ('x')`); err != nil {
				t.Error(err)
				return
			}
			n++
		}
	}()
	backup := filepath.Join(t.TempDir(), "backup.db")
	err := db.Backup(ctx, backup)
	close(stop)
	n := <-wrote
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(ctx, backup); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("a second backup over the first: %v", err)
	}
	fi, err := os.Stat(backup)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	observe(t, db, sdk.Review{ID: "after", Rating: 3, Text: "after the backup"})

	// The original hub goes on trusting first attempts.
	if _, first, err := db.StartDelivery(ctx, "i", "a", "after"); err != nil || !first {
		t.Errorf("original state, new review: first %v %v", first, err)
	}

	// Restore: the copy in place of the state.
	db.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		os.Remove(p)
	}
	raw, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	restored, err := OpenSQLite(ctx, path, sealer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	var rows int
	if err := restored.SQL().QueryRow(`SELECT COUNT(*) FROM watermill_test`).Scan(&rows); err != nil || rows > n {
		t.Fatalf("bus rows in the copy: %d of %d written (%v)", rows, n, err)
	}
	var after int
	if err := restored.SQL().QueryRow(`SELECT COUNT(*) FROM reviews WHERE review_id = 'after'`).Scan(&after); err != nil || after != 0 {
		t.Errorf("the copy has a review seen after the backup: %d %v", after, err)
	}
	st, err := restored.SchemaStatus(ctx)
	if err != nil || st.RestoredAt.IsZero() || !st.FirstAttemptsAfter.Equal(st.RestoredAt.Add(RestoreLookupWindow)) {
		t.Fatalf("restore not recorded: %+v %v", st, err)
	}
	for _, id := range []string{"before", "after"} {
		observe(t, restored, sdk.Review{ID: id, Rating: 3, Text: "listed again"})
		if _, first, err := restored.StartDelivery(ctx, "i", "a", id); err != nil || first {
			t.Errorf("restored state, review %s: first %v %v (the lost hub may have made its ticket)", id, first, err)
		}
	}
	// Reopened, it is still within the window; after it, first attempts count again.
	restored.Close()
	again, err := OpenSQLite(ctx, path, sealer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	observe(t, again, sdk.Review{ID: "later", Rating: 3, Text: "new"})
	if _, first, _ := again.StartDelivery(ctx, "i", "a", "later"); first {
		t.Error("reopened within the window: a first attempt")
	}
	again.now = func() time.Time { return st.FirstAttemptsAfter.Add(time.Second) }
	observe(t, again, sdk.Review{ID: "much later", Rating: 3, Text: "new"})
	if _, first, _ := again.StartDelivery(ctx, "i", "a", "much later"); !first {
		t.Error("after the window: not a first attempt")
	}
}

// After a restore made outside the hub (pg_dump), MarkRestored forces the
// lookups for RestoreLookupWindow, on both dialects.
func TestMarkRestored(t *testing.T) {
	dialects(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		until, err := db.MarkRestored(ctx)
		if err != nil {
			t.Fatal(err)
		}
		observe(t, db, sdk.Review{ID: "r", Rating: 3, Text: "listed again"})
		if _, first, err := db.StartDelivery(ctx, "i", "a", "r"); err != nil || first {
			t.Errorf("after MarkRestored: first %v %v", first, err)
		}
		st, err := db.SchemaStatus(ctx)
		if err != nil || !st.FirstAttemptsAfter.Equal(until) || st.RestoredAt.IsZero() {
			t.Errorf("status %+v %v", st, err)
		}
	})
}
