package state

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/reviewhub/reviewhub/hub/secrets"
)

// OpenSQLiteReadOnly opens an existing SQLite state database for reading
// only, for tools that must change nothing (`hub check`), possibly while
// the hub runs: no migration is applied and SQLite refuses every write
// (PRAGMA query_only). A missing file is an error wrapping os.ErrNotExist.
func OpenSQLiteReadOnly(ctx context.Context, path string, sealer *secrets.Sealer) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_query_only", "true")
	db, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	return &DB{sql: db, dialect: SQLite, sealer: sealer, now: func() time.Time { return time.Now().UTC() }}, nil
}

// OpenPostgresReadOnly opens the PostgreSQL state for reading only: no
// migration is applied and every connection is opened with
// default_transaction_read_only, so the server refuses any write.
func OpenPostgresReadOnly(ctx context.Context, dsn string, sealer *secrets.Sealer) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("state: postgres DSN: %w", err)
	}
	cfg.RuntimeParams["default_transaction_read_only"] = "on"
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("state: connect to postgres: %w", err)
	}
	return &DB{sql: db, dialect: Postgres, sealer: sealer, now: func() time.Time { return time.Now().UTC() }}, nil
}
