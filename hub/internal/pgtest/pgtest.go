// Package pgtest gives tests a fresh PostgreSQL schema on the server named by
// REVIEWHUB_TEST_POSTGRES (default: the local server, database test). Where no
// server answers the test is skipped with a message — except in CI (CI=true),
// where the distributed mode must be tested and it fails.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// DefaultDSN is the local test server.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// DSN returns a DSN whose search_path is a new, empty schema, dropped when
// the test ends.
func DSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("REVIEWHUB_TEST_POSTGRES")
	if base == "" {
		base = DefaultDSN
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", base)
	if err == nil {
		err = db.PingContext(ctx)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is required in CI: %v", redact(base), err)
		}
		t.Skipf("no PostgreSQL at %s (%v); set REVIEWHUB_TEST_POSTGRES to test the distributed mode", redact(base), err)
	}
	defer db.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "rhtest_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("REVIEWHUB_TEST_POSTGRES must be a URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	return u.Redacted()
}
