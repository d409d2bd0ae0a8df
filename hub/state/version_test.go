package state

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
	"github.com/reviewhub/reviewhub/hub/secrets"
)

// asHub makes this test's hub version v (restored when the test ends).
func asHub(t *testing.T, v string) {
	old := hubVersion
	hubVersion = func() string { return v }
	t.Cleanup(func() { hubVersion = old })
}

// The state records its schema version and the hubs that wrote it.
func TestStateRecordsSchemaAndHubVersions(t *testing.T) {
	asHub(t, "v1.0.0")
	dialects(t, func(t *testing.T, db *DB) {
		st, err := db.SchemaStatus(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		known, _ := knownMigrations(migrationsDir(db.Dialect()))
		if st.Schema != schemaNumber(known[len(known)-1]) || st.Schema != st.Known || len(st.Pending) != 0 || len(st.Unknown) != 0 {
			t.Errorf("status %+v", st)
		}
		if st.SchemaHub != "v1.0.0" || st.Hub != "v1.0.0" {
			t.Errorf("hubs %q %q, want v1.0.0", st.SchemaHub, st.Hub)
		}
		var v string
		if err := db.SQL().QueryRow(`SELECT value FROM state_info WHERE key = 'schema_version'`).Scan(&v); err != nil || v != fmt.Sprint(st.Known) {
			t.Errorf("schema_version %q (%v)", v, err)
		}
	})
}

// A hub older than its database refuses to open it, naming both versions,
// and changes nothing.
func TestOlderHubRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	future := func(t *testing.T, db *DB) {
		t.Helper()
		for _, q := range []string{`INSERT INTO schema_migrations (name, applied_at) VALUES ('0099_future.sql', 'x')`,
			`UPDATE state_info SET value = 'v9.0.0' WHERE key = 'schema_hub_version'`} {
			if _, err := db.SQL().Exec(q); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, ErrNewerSchema) {
			t.Fatalf("opened a newer schema: %v", err)
		}
		for _, want := range []string{"schema version 99", "hub v9.0.0", "this hub (v1.0.0)", fmt.Sprintf("up to %d", latestSchema(t)), "0099_future.sql"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		asHub(t, "v9.0.0")
		db, path := open(t)
		future(t, db)
		db.Close()
		asHub(t, "v1.0.0")
		_, err := OpenSQLite(ctx, path, sealer(t))
		check(t, err)
		ro, err := OpenSQLiteReadOnly(ctx, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		st, err := ro.SchemaStatus(ctx)
		if err != nil || st.Hub != "v9.0.0" {
			t.Errorf("the refusing hub recorded itself: %+v %v", st, err)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		asHub(t, "v9.0.0")
		db, err := OpenPostgres(ctx, dsn, sealer(t))
		if err != nil {
			t.Fatal(err)
		}
		future(t, db)
		db.Close()
		asHub(t, "v1.0.0")
		_, err = OpenPostgres(ctx, dsn, sealer(t))
		check(t, err)
	})
}

// fixtureKey seals the credentials in testdata/previous.db.gz.
const fixtureKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// previousRelease unpacks testdata/previous.db.gz, a state written by the
// hub of the previous release (testdata/README.md), into a new directory.
func previousRelease(t *testing.T) string {
	t.Helper()
	f, err := os.Open("testdata/previous.db.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "hub.db")
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func fixtureSealer(t *testing.T) *secrets.Sealer {
	key, err := secrets.ParseKey(fixtureKey)
	if err != nil {
		t.Fatal(err)
	}
	s, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A state written by the previous release is upgraded in place: the new
// migration applied, versions recorded, everything it held still there.
func TestUpgradeStateOfPreviousRelease(t *testing.T) {
	ctx := context.Background()
	asHub(t, "v1.1.0")
	path := previousRelease(t)

	ro, err := OpenSQLiteReadOnly(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	before, err := ro.SchemaStatus(ctx)
	ro.Close()
	if err != nil {
		t.Fatal(err)
	}
	if before.Schema != 7 || before.SchemaHub != "" || strings.Join(before.Pending, ",") != strings.Join(laterThan(t, 7), ",") {
		t.Fatalf("the previous release's state: %+v", before)
	}

	db, err := OpenSQLite(ctx, path, fixtureSealer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	after, err := db.SchemaStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Schema != after.Known || len(after.Pending) != 0 || after.SchemaHub != "v1.1.0" || after.Hub != "v1.1.0" {
		t.Errorf("after the upgrade: %+v", after)
	}
	in, err := db.Integration(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if in.HelpdeskSettings["secret"] != "s3cret" || len(in.Apps) != 1 || in.Apps[0].StoreAppID != "app1" {
		t.Errorf("integration after the upgrade: %+v", in)
	}
	alerts, err := db.Alerts(ctx, "acme")
	if err != nil || !strings.HasPrefix(alerts.WebhookURL, "https://hooks.example.com/") {
		t.Errorf("alert webhook after the upgrade: %q %v", alerts.WebhookURL, err)
	}
	if tk, err := db.TicketOf(ctx, "acme", "ios", "r0"); err != nil || tk == "" {
		t.Errorf("ticket of r0: %q %v", tk, err)
	}
	c, err := db.Counters(ctx, "acme")
	if err != nil || c["ios"]["reviews_delivered"] == 0 {
		t.Errorf("counters %v %v", c, err)
	}
	r, err := db.Reply(ctx, "acme", "m1")
	if err != nil || r.Status != ReplyPublished {
		t.Errorf("reply m1: %+v %v", r, err)
	}
	var bus int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'watermill_%'`).Scan(&bus); err != nil || bus == 0 {
		t.Errorf("bus tables: %d %v", bus, err)
	}
	// A review seen after the upgrade is delivered as before.
	if _, first, err := db.StartDelivery(ctx, "acme", "ios", "r0"); err != nil || first {
		t.Errorf("linked review r0: first %v %v", first, err)
	}
}

// latestSchema is the newest migration's number.
func latestSchema(t *testing.T) int {
	t.Helper()
	known, err := knownMigrations(migrationsDir(SQLite))
	if err != nil {
		t.Fatal(err)
	}
	return schemaNumber(known[len(known)-1])
}

// laterThan are the names of the migrations after schema version n.
func laterThan(t *testing.T, n int) []string {
	t.Helper()
	known, err := knownMigrations(migrationsDir(SQLite))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, name := range known {
		if schemaNumber(name) > n {
			out = append(out, name)
		}
	}
	return out
}
