// Package state keeps everything the hub knows: integrations and apps
// (integrations.go, credentials sealed), the poll schedule and quota use
// (schedule.go), poll cursors, every review version seen, review↔ticket
// links, replies and counters (reviews.go), what could not be read
// (unreadable.go). SQLite (WAL) is the embedded default and PostgreSQL the
// shared one; one code path serves both, with ? placeholders rebound to the
// dialect and cached prepared statements (statements.go), and migrations per
// dialect (migrate.go).
package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "github.com/mattn/go-sqlite3"    // database/sql driver "sqlite3"

	"github.com/reviewhub/reviewhub/hub/internal/stmtcache"
	"github.com/reviewhub/reviewhub/hub/secrets"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")

// ErrExists is returned when a record to create exists already.
var ErrExists = errors.New("exists already")

// ErrVersion is returned when a record changed since the version an update
// was based on.
var ErrVersion = errors.New("changed since it was read")

// DB is the hub's state database.
type DB struct {
	sql     *sql.DB
	dialect string // "sqlite" or "postgres"
	sealer  *secrets.Sealer
	now     func() time.Time
	// stmts caches prepared statements by query text: preparing was the
	// largest CPU cost of the hub (docs/performance.md).
	stmts stmtcache.Cache
	// preparing holds the queries being prepared for the cache in the
	// background (txStmt), so one query is prepared once at a time.
	preparing sync.Map // string → struct{}
	// prepared waits for those background preparations (Close).
	prepared sync.WaitGroup
	// writes admits one write at a time within this process (SQLite only;
	// nil on PostgreSQL): see lockWrite.
	writes chan struct{}
	// group runs concurrent small write transactions together (SQLite).
	group grouper
	// attempts records concurrent deliveries' attempts together
	// (PostgreSQL).
	attempts attemptBatcher
	// timeout is every call's deadline (deadline.go; 0: none).
	timeout time.Duration
	// avail remembers the last failure that said the database is
	// unavailable (Unavailable).
	avail availability
	// probe is Unavailable's last write to the state.
	probe writeProbe
	// deliveryCurrent holds, by AppRef, this process's last look that
	// found the app's delivery health current (a healthLook), valid while
	// deliveryFailures, the delivery failures it recorded, stays the same
	// (RecordDelivery).
	deliveryCurrent  sync.Map
	deliveryFailures atomic.Uint64
	// current is this process's copy of the integrations
	// (CurrentIntegration).
	current integrationCache
	// firstAttemptsAfter: until then (after a restore from a backup) no
	// delivery counts as a first attempt (version.go). Set when opened.
	firstAttemptsAfter time.Time
}

// writeGateWait bounds how long a write waits for the process's write gate
// before it goes on without it (SQLite's busy timeout then serializes it,
// as before the gate): a write that waits for one started inside another
// write's transaction is slow, never stuck.
const writeGateWait = 10 * time.Second

// lockWrite admits one write transaction or statement at a time within the
// process, in arrival order, and returns its release. SQLite has a single
// writer: without the gate, concurrent writers (the poller, several
// deliveries, the bus's acks) met SQLite's busy handler, which sleeps 1,
// 2, 5, 10 … ms between tries, so a burst of deliveries spent its time
// asleep (docs/performance.md). PostgreSQL needs no gate.
func (d *DB) lockWrite(ctx context.Context) (release func()) {
	if d.writes == nil {
		return func() {}
	}
	t := time.NewTimer(writeGateWait)
	defer t.Stop()
	select {
	case d.writes <- struct{}{}:
		return func() { <-d.writes }
	case <-ctx.Done(): // the write fails on its context
	case <-t.C:
	}
	return func() {}
}

// WriteGate is lockWrite for writers outside this package on the same
// database (the SQLite bus's acks).
func (d *DB) WriteGate() func(context.Context) (release func()) { return d.lockWrite }

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// OpenSQLite opens (creating if needed) the SQLite database at path with WAL,
// a busy timeout and immediate write transactions, and applies migrations.
func OpenSQLite(ctx context.Context, path string, sealer *secrets.Sealer) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("state: create directory for %s: %w", path, err)
	}
	if err := privateFiles(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "10000")
	q.Set("_txlock", "immediate")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	db, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	// As many kept open as may be open: database/sql keeps 2 by default,
	// and every connection closed above that was opened again for the next
	// burst (its pragmas run, its statements prepared anew): a tenth of
	// the hub's CPU in the benchmark.
	db.SetMaxIdleConns(8)
	d := &DB{sql: db, dialect: SQLite, sealer: sealer, now: func() time.Time { return time.Now().UTC() }, writes: make(chan struct{}, 1)}
	if err := d.migrate(ctx, migrationsDir(SQLite)); err != nil {
		db.Close()
		return nil, err
	}
	d.startGroup()
	if _, err := d.IndexReviews(ctx, 0); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// DefaultPostgresConns is the default size of a hub's PostgreSQL pool: its
// users at once are the bus's subscriptions reading and acknowledging (24
// partitions), the deliveries in flight and the poll workers (16), each
// holding a connection for a statement or a short transaction, and few of
// them at once (an idle subscription waits without one). Five hubs with
// the default stay under PostgreSQL's default max_connections (100),
// leaving room for the operator's tools and a hub being rolled out.
const DefaultPostgresConns = 16

// postgresConnIdle is how long a connection of the pool may stay unused
// before it is closed (a quiet hub gives its connections back slowly).
const postgresConnIdle = 5 * time.Minute

// OpenPostgres opens the PostgreSQL database at dsn (a pgx URL or keyword
// string) with a pool of DefaultPostgresConns and applies migrations.
// Several hubs may share it.
func OpenPostgres(ctx context.Context, dsn string, sealer *secrets.Sealer) (*DB, error) {
	return OpenPostgresPool(ctx, dsn, sealer, 0)
}

// OpenPostgresPool is OpenPostgres with a pool of at most maxConns
// connections (DefaultPostgresConns when 0 or less).
func OpenPostgresPool(ctx context.Context, dsn string, sealer *secrets.Sealer, maxConns int) (*DB, error) {
	if maxConns <= 0 {
		maxConns = DefaultPostgresConns
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("state: open postgres: %w", err)
	}
	db.SetMaxOpenConns(maxConns)
	// As many kept open as may be open: with database/sql's default of 2
	// idle connections, every burst of the bus's, the deliveries' and the
	// poll's statements opened connections again (a backend started, its
	// statements prepared anew), about 17 a second, and the pool's waiters
	// spent most of a delivery's time on it (docs/performance.md, round 5).
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(postgresConnIdle)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("state: connect to postgres: %w", err)
	}
	d := &DB{sql: db, dialect: Postgres, sealer: sealer, now: func() time.Time { return time.Now().UTC() }}
	if err := d.WithSchemaLock(ctx, func() error { return d.migrate(ctx, migrationsDir(Postgres)) }); err != nil {
		db.Close()
		return nil, err
	}
	if _, err := d.IndexReviews(ctx, 0); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

// schemaLockKey is the PostgreSQL advisory lock under which hubs create
// and migrate schemas (the state's and the bus's), one hub at a time.
const schemaLockKey = 727274

// WithSchemaLock runs fn while holding the lock every hub on this database
// takes to create or migrate tables, so hubs starting together on an empty
// database never race on CREATE TABLE (PostgreSQL's IF NOT EXISTS is not
// safe against a concurrent create: it fails on pg_type's unique index).
// With SQLite (one hub) fn just runs.
func (d *DB) WithSchemaLock(ctx context.Context, fn func() error) error {
	if d.dialect != Postgres {
		return fn()
	}
	conn, err := d.sql.Conn(ctx)
	if err != nil {
		return fmt.Errorf("state: connect to postgres: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, schemaLockKey); err != nil {
		return fmt.Errorf("state: schema lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, schemaLockKey) //nolint:errcheck
	return fn()
}

// privateFiles makes the SQLite database at path and its -wal and -shm
// files readable by the hub's user only (they hold review texts, answers
// and sealed credentials). SQLite creates -wal and -shm with the
// database file's mode, so creating the database 0600 covers them too;
// files left by an older hub are tightened.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("state: open %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("state: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("state: make %s private: %w", p, err)
			}
		}
	}
	return nil
}

// Dialect is SQLite or Postgres.
func (d *DB) Dialect() string { return d.dialect }

// SQL is the underlying database (the bus keeps its tables in it, so that a
// state change and its outgoing message commit together).
func (d *DB) SQL() *sql.DB { return d.sql }

// Close closes the database.
func (d *DB) Close() error {
	d.closeGroup()
	// A preparation still running holds a connection that would close
	// (and touch the database's files) after Close returned.
	d.prepared.Wait()
	d.stmts.Close()
	return d.sql.Close()
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTS(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// ---- integrations and apps ----
