package state

import (
	"context"
	"errors"
	"testing"

	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
	"github.com/reviewhub/reviewhub/sdk"
)

// The one copy of the integrations a process keeps (CurrentIntegration,
// read by the poller and the handlers): a change made through the state's
// writes, by this hub or another one on the same database, is seen at the
// next read; the copy is used while the version is current (a write that
// bypassed the version is not seen: proof that the copy is what is read);
// an integration deleted and created again under its id is read afresh.
func TestCurrentIntegrationSeesEveryChange(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		db, path := open(t)
		other, err := OpenSQLite(ctx, path, sealer(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { other.Close() })
		testCurrentIntegration(t, db, other)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		var hubs []*DB
		for range 2 {
			db, err := OpenPostgres(ctx, dsn, sealer(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			hubs = append(hubs, db)
		}
		testCurrentIntegration(t, hubs[0], hubs[1])
	})
}

func testCurrentIntegration(t *testing.T, db, other *DB) {
	ctx := context.Background()
	in := Integration{ID: "acme", Name: "first", Source: SourceAPI, HelpdeskPlugin: "desk",
		HelpdeskSettings: sdk.Settings{"token": "t1"}, Apps: []App{{ID: "ios", StorePlugin: "s", StoreAppID: "x"}}}
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.CreateIntegration(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	read := func(what string) Integration {
		t.Helper()
		got, err := db.CurrentIntegration(ctx, "acme")
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return got
	}
	if got := read("created"); got.Name != "first" || got.HelpdeskSettings["token"] != "t1" || len(got.Apps) != 1 {
		t.Fatalf("created: %+v", got)
	}
	// A write that does not move the version on is not seen: the copy is read.
	if _, err := db.sql.ExecContext(ctx, db.Rebind(`UPDATE integrations SET name = 'bypassed' WHERE id = ?`), "acme"); err != nil {
		t.Fatal(err)
	}
	cur := read("bypassed")
	if cur.Name != "first" {
		t.Fatalf("read %q: the cached copy was not used", cur.Name)
	}
	// Another hub changes it through the admin API's write.
	next := cur
	next.Name, next.HelpdeskSettings = "second", sdk.Settings{"token": "t2"}
	next.Apps = append(next.Apps, App{ID: "android", StorePlugin: "s", StoreAppID: "y"})
	if err := other.InTx(ctx, func(tx *Tx) error { return tx.UpdateIntegration(ctx, next) }); err != nil {
		t.Fatal(err)
	}
	if got := read("updated by another hub"); got.Name != "second" || got.HelpdeskSettings["token"] != "t2" || len(got.Apps) != 2 {
		t.Fatalf("after another hub's update: %+v", got)
	}
	// The kill switch, thrown on another hub.
	if err := other.SetAutomationStopped(ctx, "acme", true, "test"); err != nil {
		t.Fatal(err)
	}
	if got := read("stopped"); !got.AutomationStopped {
		t.Fatalf("the kill switch is not seen: %+v", got)
	}
	// Deleted: not found.
	if err := other.InTx(ctx, func(tx *Tx) error { return tx.DeleteIntegration(ctx, "acme") }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CurrentIntegration(ctx, "acme"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted: %v, want ErrNotFound", err)
	}
	// Deleted and created again by another hub between two reads: the same
	// version (1), another integration.
	in.Name = "created"
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.CreateIntegration(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	if got := read("created again"); got.Name != "created" || got.Version != 1 {
		t.Fatalf("created again: %+v", got)
	}
	in.Name = "recreated"
	err := other.InTx(ctx, func(tx *Tx) error {
		if err := tx.DeleteIntegration(ctx, "acme"); err != nil {
			return err
		}
		return tx.CreateIntegration(ctx, in)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := read("recreated"); got.Name != "recreated" || got.Version != 1 {
		t.Fatalf("recreated under the same id and version: %+v", got)
	}
}
