package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
)

// A state call under a lock held past the deadline fails with a timeout
// that IsUnavailable recognises; Unavailable then reports the state as
// unusable, and recovers by itself once the lock is gone and the failure
// is old enough.
func TestDeadlineAndUnavailable(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		db, path := open(t)
		// Another process's write lock: the hub's own write gate does not
		// see it, SQLite's busy handler waits for it.
		other, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=1")
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		lock, err := other.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Close()
		testDeadline(t, db, func() func() {
			if _, err := lock.ExecContext(context.Background(), `BEGIN EXCLUSIVE`); err != nil {
				t.Fatal(err)
			}
			return func() { _, _ = lock.ExecContext(context.Background(), `ROLLBACK`) }
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		db, err := OpenPostgres(context.Background(), dsn, sealer(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		other, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		testDeadline(t, db, func() func() {
			tx, err := other.Begin()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(`LOCK TABLE integrations, state_info IN ACCESS EXCLUSIVE MODE`); err != nil {
				t.Fatal(err)
			}
			return func() { _ = tx.Rollback() }
		})
	})
}

func testDeadline(t *testing.T, db *DB, lock func() (unlock func())) {
	ctx := context.Background()
	now := time.Now()
	db.now = func() time.Time { return now }
	db.SetTimeout(300 * time.Millisecond)
	in := Integration{ID: "i", Name: "I", HelpdeskPlugin: "desk", Source: SourceAPI}
	put := func() error { return db.InTx(ctx, func(tx *Tx) error { return tx.PutIntegration(ctx, in) }) }
	if err := put(); err != nil {
		t.Fatal(err)
	}
	if err := db.Unavailable(ctx); err != nil {
		t.Fatalf("before the lock: %v", err)
	}
	unlock := lock()
	now = now.Add(probeEvery)
	if err := db.Unavailable(ctx); err == nil {
		t.Error("an idle state that cannot be written is reported available (no other call failed)")
	}
	err := put()
	if !IsUnavailable(err) {
		t.Fatalf("a write under a lock held past the deadline: %v, want an unavailable state", err)
	}
	if db.Dialect() == Postgres && !errors.Is(err, ErrTimeout) {
		t.Errorf("a write under a lock: %v, want ErrTimeout", err)
	}
	if err := db.Unavailable(ctx); err == nil {
		t.Error("the state is reported available right after a write failed on it")
	}
	unlock()
	if err := db.Unavailable(ctx); err == nil {
		t.Error("the state is reported available at once after the lock: the failure is recent")
	}
	now = now.Add(unavailableFor)
	if err := db.Unavailable(ctx); err != nil {
		t.Errorf("after the lock, once the failure is old: %v", err)
	}
	if err := put(); err != nil {
		t.Errorf("a write after the lock: %v", err)
	}
}

// A caller's own cancellation is not the state's failure.
func TestCallerCancelIsNotUnavailable(t *testing.T) {
	db, _ := open(t)
	db.SetTimeout(time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.Integration(ctx, "x"); err == nil || IsUnavailable(err) {
		t.Errorf("a cancelled caller's read: %v, want a plain error", err)
	}
	if err := db.Unavailable(context.Background()); err != nil {
		t.Errorf("after a caller cancelled: %v", err)
	}
}

func TestIsUnavailable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("state: commit: %w", sqlite3.Error{Code: sqlite3.ErrFull}), true},
		{sqlite3.Error{Code: sqlite3.ErrReadonly}, true},
		{sqlite3.Error{Code: sqlite3.ErrConstraint}, false},
		{fmt.Errorf("x: %w", ErrTimeout), true},
		{ErrNotFound, false},
		{context.Canceled, false},
		{sql.ErrNoRows, false},
	} {
		if got := IsUnavailable(c.err); got != c.want {
			t.Errorf("IsUnavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// Connections the PostgreSQL server terminated (a restart, a failover,
// pg_terminate_backend) fail the call that meets them first; the call is
// run again on another connection instead of failing.
func TestTerminatedConnectionsAreRetried(t *testing.T) {
	dsn := pgtest.DSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	app := "rh_terminated_" + fmt.Sprint(time.Now().UnixNano())
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	ctx := context.Background()
	db, err := OpenPostgres(ctx, u.String(), sealer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetTimeout(5 * time.Second)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	in := Integration{ID: "i", Name: "I", HelpdeskPlugin: "desk", Source: SourceAPI}
	for round := range 3 {
		if err := db.InTx(ctx, func(tx *Tx) error { return tx.PutIntegration(ctx, in) }); err != nil {
			t.Fatalf("round %d, write: %v", round, err)
		}
		if _, err := db.Integration(ctx, "i"); err != nil {
			t.Fatalf("round %d, read: %v", round, err)
		}
		var n int
		if err := admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("round %d: no connection of the hub to terminate", round)
		}
	}
	if _, err := db.Integration(ctx, "i"); err != nil {
		t.Fatalf("a read after its connections were terminated: %v", err)
	}
	in.Name = "J"
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.PutIntegration(ctx, in) }); err != nil {
		t.Fatalf("a write after its connections were terminated: %v", err)
	}
}
