package state

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/reviewhub/reviewhub/hub/filter"
	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
	"github.com/reviewhub/reviewhub/hub/secrets"
	"github.com/reviewhub/reviewhub/sdk"
)

func sealer(t *testing.T) *secrets.Sealer {
	s, err := secrets.New(bytes.Repeat([]byte{7}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func open(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := OpenSQLite(context.Background(), path, sealer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// dialects runs a test on SQLite and on PostgreSQL (the distributed mode).
func dialects(t *testing.T, test func(t *testing.T, db *DB)) {
	t.Run("sqlite", func(t *testing.T) {
		db, _ := open(t)
		test(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		db, err := OpenPostgres(context.Background(), pgtest.DSN(t), sealer(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		test(t, db)
	})
}

func observe(t *testing.T, db *DB, r sdk.Review) Observation {
	t.Helper()
	var obs Observation
	err := db.InTx(context.Background(), func(tx *Tx) error {
		var err error
		obs, err = tx.ObserveReview(context.Background(), "i", "a", r)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return obs
}

func TestClassification(t *testing.T) { dialects(t, testClassification) }

func testClassification(t *testing.T, db *DB) {
	steps := []struct {
		r       sdk.Review
		kind    string
		version int
		history int
	}{
		{sdk.Review{ID: "r", Rating: 2, Text: "bad"}, sdk.ChangeKindNew, 1, 0},
		{sdk.Review{ID: "r", Rating: 2, Text: "bad"}, Unchanged, 1, 0},
		{sdk.Review{ID: "r", Rating: 2, Text: "bad", Reply: &sdk.DeveloperReply{Text: "sorry"}}, Unchanged, 1, 0},
		{sdk.Review{ID: "r", Rating: 2, Text: "still bad"}, sdk.ChangeKindUpdated, 2, 1},
		{sdk.Review{ID: "r", Rating: 4, Text: "better now"}, sdk.ChangeKindBetter, 3, 2},
		{sdk.Review{ID: "r", Rating: 1, Text: "worse again"}, sdk.ChangeKindWorse, 4, 3},
		{sdk.Review{ID: "r", Rating: 1, Title: "Title", Text: "worse again"}, sdk.ChangeKindUpdated, 5, 4},
	}
	for i, s := range steps {
		obs := observe(t, db, s.r)
		if obs.Kind != s.kind || obs.Version != s.version || len(obs.History) != s.history {
			t.Fatalf("step %d: %+v, want kind %s version %d history %d", i, obs, s.kind, s.version, s.history)
		}
	}
	obs := observe(t, db, sdk.Review{ID: "r", Rating: 5, Text: "great"})
	if obs.History[0].Rating != 2 || obs.History[0].Text != "bad" || obs.History[3].Text != "worse again" {
		t.Errorf("history oldest first: %+v", obs.History)
	}
}

func TestSettingsAreSealedAtRest(t *testing.T) {
	db, path := open(t)
	ctx := context.Background()
	in := Integration{ID: "acme", HelpdeskPlugin: "omnidesk", Tags: true,
		HelpdeskSettings: sdk.Settings{"api_key": "very-secret-key"},
		Apps: []App{{ID: "ios", StorePlugin: "appstore", StoreAppID: "1", StoreSettings: sdk.Settings{"private_key": "PEM-SECRET"},
			Filters: filter.Filters{Which: filter.WhichWorse, Ratings: []int{1, 2}}}}}
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.PutIntegration(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	got, err := db.Integration(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if got.HelpdeskSettings["api_key"] != "very-secret-key" || got.Apps[0].StoreSettings["private_key"] != "PEM-SECRET" ||
		got.Apps[0].Filters.Which != filter.WhichWorse || !got.Tags {
		t.Errorf("round trip: %+v", got)
	}
	db.Close()
	for _, f := range []string{path, path + "-wal"} {
		raw, _ := os.ReadFile(f)
		if bytes.Contains(raw, []byte("very-secret-key")) || bytes.Contains(raw, []byte("PEM-SECRET")) {
			t.Fatalf("%s holds a credential in clear text", f)
		}
	}
}

func TestRepliesAreIdempotentByMessageID(t *testing.T) { dialects(t, testRepliesIdempotent) }

func testRepliesIdempotent(t *testing.T, db *DB) {
	ctx := context.Background()
	r := Reply{IntegrationID: "i", MessageID: "m1", TicketID: "T1", Text: "hi", Status: ReplyPending}
	for i, want := range []bool{true, false} {
		var added bool
		err := db.InTx(ctx, func(tx *Tx) error {
			var err error
			added, err = tx.AddReply(ctx, r)
			return err
		})
		if err != nil || added != want {
			t.Fatalf("add %d: %v %v, want %v", i, added, err, want)
		}
	}
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.SetReplyStatus(ctx, "i", "m1", ReplyPublished, "") }); err != nil {
		t.Fatal(err)
	}
	got, err := db.Reply(ctx, "i", "m1")
	if err != nil || got.Status != ReplyPublished {
		t.Fatalf("reply: %+v %v", got, err)
	}
	if _, err := db.Reply(ctx, "i", "nope"); err != ErrNotFound {
		t.Fatalf("missing reply: %v", err)
	}
}

func TestTicketLinks(t *testing.T) { dialects(t, testTicketLinks) }

func testTicketLinks(t *testing.T, db *DB) {
	ctx := context.Background()
	observe(t, db, sdk.Review{ID: "r1", Rating: 3})
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.LinkTicket(ctx, "i", "a", "r1", "T9") }); err != nil {
		t.Fatal(err)
	}
	if tk, _ := db.TicketOf(ctx, "i", "a", "r1"); tk != "T9" {
		t.Errorf("TicketOf = %q", tk)
	}
	app, rid, err := db.ReviewOfTicket(ctx, "i", "T9", "")
	if err != nil || app != "a" || rid != "r1" {
		t.Errorf("ReviewOfTicket = %s %s %v", app, rid, err)
	}
	// The review id fallback never overrides a link (L7 of the robustness probe).
	if _, rid, err := db.ReviewOfTicket(ctx, "i", "unknown", "r1"); !errors.Is(err, ErrLinkedElsewhere) {
		t.Errorf("fallback by review id to a review linked elsewhere = %s %v, want ErrLinkedElsewhere", rid, err)
	}
	if _, _, err := db.ReviewOfTicket(ctx, "i", "unknown", ""); err != ErrNotFound {
		t.Errorf("unknown ticket: %v", err)
	}
}

func TestIntegrationsAndCountersOnBothDialects(t *testing.T) {
	dialects(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		in := Integration{ID: "acme", HelpdeskPlugin: "desk", Tags: true, HelpdeskSettings: sdk.Settings{"k": "v"},
			Apps: []App{{ID: "ios", StorePlugin: "st", StoreAppID: "1", Filters: filter.Filters{Ratings: []int{1}}}}}
		for range 2 {
			if err := db.InTx(ctx, func(tx *Tx) error {
				if err := tx.PutIntegration(ctx, in); err != nil {
					return err
				}
				return tx.Count(ctx, "acme", "ios", "reviews_delivered", 2)
			}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.Integration(ctx, "acme")
		if err != nil || !got.Tags || got.HelpdeskSettings["k"] != "v" || len(got.Apps) != 1 || got.Apps[0].Filters.Ratings[0] != 1 {
			t.Fatalf("integration: %+v %v", got, err)
		}
		c, err := db.Counters(ctx, "acme")
		if err != nil || c["ios"]["reviews_delivered"] != 4 {
			t.Fatalf("counters: %v %v", c, err)
		}
		if err := db.InTx(ctx, func(tx *Tx) error { return tx.SaveCursor(ctx, "acme", "ios", "c1") }); err != nil {
			t.Fatal(err)
		}
		cur, err := db.Cursor(ctx, "acme", "ios")
		if err != nil || cur.Value != "c1" || !cur.Connected {
			t.Fatalf("cursor: %+v %v", cur, err)
		}
		if err := db.InTx(ctx, func(tx *Tx) error { return tx.DeleteIntegration(ctx, "acme") }); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Integration(ctx, "acme"); err != ErrNotFound {
			t.Fatalf("after delete: %v", err)
		}
	})
}

// L3: the database and its -wal and -shm files are readable by the hub's
// user only, whether the hub creates them or finds them world-readable.
func TestSQLiteFilesArePrivate(t *testing.T) {
	for _, existing := range []bool{false, true} {
		dir := t.TempDir()
		path := filepath.Join(dir, "hub.db")
		if existing {
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				if err := os.WriteFile(p, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(p, 0o644); err != nil { // whatever the umask
					t.Fatal(err)
				}
			}
		}
		db, err := OpenSQLite(context.Background(), path, sealer(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.InTx(context.Background(), func(tx *Tx) error {
			return tx.PutIntegration(context.Background(), Integration{ID: "acme", Name: "ACME"})
		}); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("existing=%v: %v", existing, err)
			}
			if perm := fi.Mode().Perm(); perm&0o077 != 0 {
				t.Errorf("existing=%v: %s has mode %s, want no group/other access", existing, filepath.Base(p), perm)
			}
		}
		db.Close()
	}
}

// Apps of one account carry the same credentials: read back, equal
// settings values are one string in memory, not a copy per app.
func TestEqualSettingsShareMemory(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	key := strings.Repeat("k", 2048)
	in := Integration{ID: "i", HelpdeskPlugin: "desk", Source: "api", Apps: []App{
		{ID: "a", StorePlugin: "store", StoreAppID: "x", StoreSettings: sdk.Settings{"key": key}},
		{ID: "b", StorePlugin: "store", StoreAppID: "y", StoreSettings: sdk.Settings{"key": strings.Clone(key)}},
	}}
	if err := db.InTx(ctx, func(tx *Tx) error { return tx.PutIntegration(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	got, err := db.Integration(ctx, "i")
	if err != nil || len(got.Apps) != 2 {
		t.Fatalf("integration %+v (%v)", got, err)
	}
	a, b := got.Apps[0].StoreSettings["key"], got.Apps[1].StoreSettings["key"]
	if a != key || b != key {
		t.Fatal("settings changed on the way")
	}
	if unsafe.StringData(a) != unsafe.StringData(b) {
		t.Error("two apps' equal keys are two copies in memory")
	}
}
