// Package state keeps everything the hub knows: integrations and apps, poll
// cursors, every review version seen, review↔ticket links, replies and
// counters. SQLite (WAL) is the embedded default; the SQL is kept portable so
// that a PostgreSQL backend can implement the same Store.
package state

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "github.com/mattn/go-sqlite3"    // database/sql driver "sqlite3"

	"github.com/reviewhub/reviewhub/hub/filter"
	"github.com/reviewhub/reviewhub/hub/secrets"
	"github.com/reviewhub/reviewhub/sdk"
)

//go:embed migrations
var migrations embed.FS

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
	stmts sync.Map // string → *sql.Stmt
	// preparing holds the queries being prepared for the cache in the
	// background (txStmt), so one query is prepared once at a time.
	preparing sync.Map // string → struct{}
	// writes admits one write at a time within this process (SQLite only;
	// nil on PostgreSQL): see lockWrite.
	writes chan struct{}
	// group runs concurrent small write transactions together (SQLite).
	group grouper
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
	if err := d.migrate(ctx, "migrations/sqlite"); err != nil {
		db.Close()
		return nil, err
	}
	d.startGroup()
	return d, nil
}

// OpenPostgres opens the PostgreSQL database at dsn (a pgx URL or keyword
// string) and applies migrations. Several hubs may share it.
func OpenPostgres(ctx context.Context, dsn string, sealer *secrets.Sealer) (*DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("state: open postgres: %w", err)
	}
	db.SetMaxOpenConns(16)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("state: connect to postgres: %w", err)
	}
	d := &DB{sql: db, dialect: Postgres, sealer: sealer, now: func() time.Time { return time.Now().UTC() }}
	if err := d.WithSchemaLock(ctx, func() error { return d.migrate(ctx, "migrations/postgres") }); err != nil {
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

// Rebind turns ? placeholders into the dialect's ($1, $2 … for PostgreSQL).
func (d *DB) Rebind(q string) string { return Rebind(d.dialect, q) }

// Rebind turns ? placeholders into the dialect's.
func Rebind(dialect, q string) string {
	if dialect != Postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// stmt returns the prepared statement for q (already rebound).
func (d *DB) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := d.stmts.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := d.sql.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := d.stmts.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

func (d *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := d.stmt(ctx, d.Rebind(q))
	if err != nil {
		return nil, err
	}
	defer d.lockWrite(ctx)()
	return st.ExecContext(ctx, args...)
}

func (d *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := d.stmt(ctx, d.Rebind(q))
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// errRow is a *sql.Row-like result carrying a prepare error.
type row interface{ Scan(...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (d *DB) queryRow(ctx context.Context, q string, args ...any) row {
	st, err := d.stmt(ctx, d.Rebind(q))
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// txStmt is the cached statement for q bound to the transaction. One not
// cached yet is prepared on the transaction's own connection: preparing it
// on the pool could wait for a connection that the transactions blocked
// behind this one hold (concurrent creates of one id on PostgreSQL
// deadlocked so). The cache is filled in the background, once per query.
func (t *Tx) txStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := t.db.stmts.Load(q); ok {
		return t.tx.StmtContext(ctx, st.(*sql.Stmt)), nil
	}
	st, err := t.tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if _, busy := t.db.preparing.LoadOrStore(q, struct{}{}); !busy {
		go func() {
			defer t.db.preparing.Delete(q)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, _ = t.db.stmt(ctx, q)
		}()
	}
	return st, nil
}

func (t *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.ExecContext(ctx, t.db.Rebind(q), args...)
}

func (t *Tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.QueryContext(ctx, t.db.Rebind(q), args...)
}

func (t *Tx) queryRow(ctx context.Context, q string, args ...any) row {
	st, err := t.txStmt(ctx, t.db.Rebind(q))
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// ExecContext runs q (in the dialect's placeholders) in the transaction
// with a cached prepared statement. With QueryContext and the methods
// below, Tx is the executor the bus publishes through (outbox).
func (t *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := t.txStmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// QueryContext runs q in the transaction with a cached prepared statement.
func (t *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := t.txStmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext runs q in the transaction.
func (t *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := t.txStmt(ctx, q)
	if err != nil {
		return t.tx.QueryRowContext(ctx, q, args...) // reports the same error on Scan
	}
	return st.QueryRowContext(ctx, args...)
}

// Exec, Query and QueryRow complete watermill-sql's executor interface.
func (t *Tx) Exec(q string, args ...any) (sql.Result, error) {
	return t.ExecContext(context.Background(), q, args...)
}

// Query runs q in the transaction.
func (t *Tx) Query(q string, args ...any) (*sql.Rows, error) {
	return t.QueryContext(context.Background(), q, args...)
}

// QueryRow runs q in the transaction.
func (t *Tx) QueryRow(q string, args ...any) *sql.Row {
	return t.QueryRowContext(context.Background(), q, args...)
}

// SQL is the underlying database (the bus keeps its tables in it, so that a
// state change and its outgoing message commit together).
func (d *DB) SQL() *sql.DB { return d.sql }

// Close closes the database.
func (d *DB) Close() error {
	d.closeGroup()
	d.stmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	return d.sql.Close()
}

func (d *DB) migrate(ctx context.Context, dir string) error {
	if _, err := d.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("state: migrations table: %w", err)
	}
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return fmt.Errorf("state: read migrations: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		body, err := fs.ReadFile(migrations, dir+"/"+name)
		if err != nil {
			return fmt.Errorf("state: read migration %s: %w", name, err)
		}
		err = d.InTx(ctx, func(tx *Tx) error {
			var n int
			if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.exec(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, ts(d.now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("state: migration %s: %w", name, err)
		}
	}
	return nil
}

// Tx is one write transaction. Messages published through the bus with
// Tx.SQL() commit or roll back with it.
type Tx struct {
	tx *sql.Tx
	db *DB
}

// SQL is the underlying transaction.
func (t *Tx) SQL() *sql.Tx { return t.tx }

// InTx runs fn in one transaction, committing when it returns nil.
func (d *DB) InTx(ctx context.Context, fn func(*Tx) error) error {
	defer d.lockWrite(ctx)()
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("state: begin: %w", err)
	}
	if err := fn(&Tx{tx: tx, db: d}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("state: commit: %w", err)
	}
	return nil
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

// App is one store app within an integration.
type App struct {
	IntegrationID string         `json:"-"`
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	StorePlugin   string         `json:"store"`
	StoreAppID    string         `json:"store_app_id"`
	StoreSettings sdk.Settings   `json:"-"`
	Filters       filter.Filters `json:"filters"`
	PollInterval  time.Duration  `json:"-"`
}

// Integration joins one helpdesk account to a set of apps.
type Integration struct {
	ID               string
	Name             string
	HelpdeskPlugin   string
	HelpdeskSettings sdk.Settings
	Tags             bool
	// Source is "config" for integrations declared in the YAML file, "api" otherwise.
	Source    string
	Apps      []App
	CreatedAt time.Time
	UpdatedAt time.Time
	// Version grows by one with every write (UpdateIntegration checks it).
	Version int
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (d *DB) seal(s sdk.Settings) ([]byte, error) {
	if len(s) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	if d.sealer == nil {
		return b, nil
	}
	return d.sealer.Seal(b)
}

func (d *DB) open(b []byte) (sdk.Settings, error) {
	if len(b) == 0 {
		return sdk.Settings{}, nil
	}
	if d.sealer != nil {
		var err error
		if b, err = d.sealer.Open(b); err != nil {
			return nil, err
		}
	}
	s := sdk.Settings{}
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode settings: %w", err)
	}
	return s, nil
}

// PutIntegration creates or replaces an integration and its apps (the
// config file's integrations). Poll cursors and review history of apps that
// remain are kept.
func (t *Tx) PutIntegration(ctx context.Context, in Integration) error {
	now := t.db.now()
	hs, err := t.db.seal(in.HelpdeskSettings)
	if err != nil {
		return fmt.Errorf("state: seal helpdesk settings: %w", err)
	}
	_, err = t.exec(ctx, `
		INSERT INTO integrations (id, name, helpdesk_plugin, helpdesk_settings, tags, source, created_at, updated_at, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, helpdesk_plugin = excluded.helpdesk_plugin,
			helpdesk_settings = excluded.helpdesk_settings, tags = excluded.tags, source = excluded.source,
			updated_at = excluded.updated_at, version = integrations.version + 1`,
		in.ID, in.Name, in.HelpdeskPlugin, hs, boolInt(in.Tags), in.Source, ts(now), ts(now))
	if err != nil {
		return fmt.Errorf("state: put integration %s: %w", in.ID, err)
	}
	return t.putApps(ctx, in)
}

// CreateIntegration inserts a new integration and its apps; it returns
// ErrExists when the id is taken, whoever else is creating it at the same
// moment (the insert itself decides, not an earlier read).
func (t *Tx) CreateIntegration(ctx context.Context, in Integration) error {
	now := t.db.now()
	hs, err := t.db.seal(in.HelpdeskSettings)
	if err != nil {
		return fmt.Errorf("state: seal helpdesk settings: %w", err)
	}
	res, err := t.exec(ctx, `
		INSERT INTO integrations (id, name, helpdesk_plugin, helpdesk_settings, tags, source, created_at, updated_at, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (id) DO NOTHING`,
		in.ID, in.Name, in.HelpdeskPlugin, hs, boolInt(in.Tags), in.Source, ts(now), ts(now))
	if err != nil {
		return fmt.Errorf("state: create integration %s: %w", in.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("state: create integration %s: %w", in.ID, err)
	} else if n == 0 {
		return ErrExists
	}
	return t.putApps(ctx, in)
}

// UpdateIntegration replaces an existing integration created through the
// API, and its apps, if it is still at version in.Version. It returns
// ErrNotFound when it no longer exists (a racing delete is not undone) or
// was declared in the config file meanwhile, and ErrVersion when another
// write came first.
func (t *Tx) UpdateIntegration(ctx context.Context, in Integration) error {
	hs, err := t.db.seal(in.HelpdeskSettings)
	if err != nil {
		return fmt.Errorf("state: seal helpdesk settings: %w", err)
	}
	res, err := t.exec(ctx, `
		UPDATE integrations SET name = ?, helpdesk_plugin = ?, helpdesk_settings = ?, tags = ?, source = ?,
			updated_at = ?, version = version + 1
		WHERE id = ? AND version = ? AND source <> 'config'`,
		in.Name, in.HelpdeskPlugin, hs, boolInt(in.Tags), in.Source, ts(t.db.now()), in.ID, in.Version)
	if err != nil {
		return fmt.Errorf("state: update integration %s: %w", in.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("state: update integration %s: %w", in.ID, err)
	} else if n == 0 {
		var version int
		var source string
		err := t.queryRow(ctx, `SELECT version, source FROM integrations WHERE id = ?`, in.ID).Scan(&version, &source)
		switch {
		case errors.Is(err, sql.ErrNoRows) || source == "config":
			return ErrNotFound
		case err != nil:
			return fmt.Errorf("state: update integration %s: %w", in.ID, err)
		default:
			return ErrVersion
		}
	}
	return t.putApps(ctx, in)
}

func (t *Tx) putApps(ctx context.Context, in Integration) error {
	if err := t.unscheduleChanged(ctx, in); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `DELETE FROM apps WHERE integration_id = ?`, in.ID); err != nil {
		return fmt.Errorf("state: put integration %s: %w", in.ID, err)
	}
	for _, a := range in.Apps {
		ss, err := t.db.seal(a.StoreSettings)
		if err != nil {
			return fmt.Errorf("state: seal store settings: %w", err)
		}
		fj, err := json.Marshal(a.Filters)
		if err != nil {
			return fmt.Errorf("state: encode filters: %w", err)
		}
		_, err = t.exec(ctx, `
			INSERT INTO apps (integration_id, id, name, store_plugin, store_app_id, store_settings, filters, poll_interval_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			in.ID, a.ID, a.Name, a.StorePlugin, a.StoreAppID, ss, string(fj), a.PollInterval.Milliseconds())
		if err != nil {
			return fmt.Errorf("state: put app %s/%s: %w", in.ID, a.ID, err)
		}
	}
	return nil
}

// DeleteIntegration removes an integration and its apps (its review history
// stays, so re-adding it does not re-import old reviews).
func (t *Tx) DeleteIntegration(ctx context.Context, id string) error {
	return t.DeleteIntegrationAt(ctx, id, 0)
}

// DeleteIntegrationAt is DeleteIntegration if the integration is at version
// (0: any version); ErrVersion when it changed meanwhile.
func (t *Tx) DeleteIntegrationAt(ctx context.Context, id string, version int) error {
	q, args := `DELETE FROM integrations WHERE id = ?`, []any{id}
	if version != 0 {
		q, args = q+` AND version = ?`, append(args, version)
	}
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("state: delete integration %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		if err := t.unschedule(ctx, id, ""); err != nil {
			return err
		}
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if version != 0 {
			var n int
			if err := t.queryRow(ctx, `SELECT COUNT(*) FROM integrations WHERE id = ?`, id).Scan(&n); err != nil {
				return fmt.Errorf("state: delete integration %s: %w", id, err)
			}
			if n > 0 {
				return ErrVersion
			}
		}
		return ErrNotFound
	}
	return nil
}

// Integrations returns all integrations with their apps, ordered by id.
func (d *DB) Integrations(ctx context.Context) ([]Integration, error) {
	return d.integrations(ctx, "")
}

// IntegrationVersion is the version of an integration (ErrNotFound when
// it does not exist): a cheap check whether a cached copy is current.
func (d *DB) IntegrationVersion(ctx context.Context, id string) (int, error) {
	var v int
	err := d.queryRow(ctx, `SELECT version FROM integrations WHERE id = ?`, id).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("state: version of integration %s: %w", id, err)
	}
	return v, nil
}

// Integration returns one integration.
func (d *DB) Integration(ctx context.Context, id string) (Integration, error) {
	all, err := d.integrations(ctx, id)
	if err != nil {
		return Integration{}, err
	}
	if len(all) == 0 {
		return Integration{}, ErrNotFound
	}
	return all[0], nil
}

func (d *DB) integrations(ctx context.Context, id string) ([]Integration, error) {
	q := `SELECT id, name, helpdesk_plugin, helpdesk_settings, tags, source, created_at, updated_at, version FROM integrations`
	var args []any
	if id != "" {
		q += ` WHERE id = ?`
		args = append(args, id)
	}
	rows, err := d.query(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("state: list integrations: %w", err)
	}
	defer rows.Close()
	var out []Integration
	for rows.Next() {
		var in Integration
		var hs []byte
		var created, updated string
		if err := rows.Scan(&in.ID, &in.Name, &in.HelpdeskPlugin, &hs, &in.Tags, &in.Source, &created, &updated, &in.Version); err != nil {
			return nil, fmt.Errorf("state: scan integration: %w", err)
		}
		if in.HelpdeskSettings, err = d.open(hs); err != nil {
			return nil, fmt.Errorf("state: integration %s helpdesk settings: %w", in.ID, err)
		}
		in.CreatedAt, in.UpdatedAt = parseTS(created), parseTS(updated)
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: list integrations: %w", err)
	}
	for i := range out {
		if out[i].Apps, err = d.apps(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// querier is a *DB or a *Tx.
type querier interface {
	query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func (d *DB) apps(ctx context.Context, integrationID string) ([]App, error) {
	return d.appsVia(ctx, d, integrationID)
}

// unscheduleChanged removes the schedule rows of in's apps that are
// removed or changed by this write, so that changed apps are polled again
// soon with their new settings (and removed ones no more).
func (t *Tx) unscheduleChanged(ctx context.Context, in Integration) error {
	old, err := t.db.appsVia(ctx, t, in.ID)
	if err != nil {
		return err
	}
	next := map[string]App{}
	for _, a := range in.Apps {
		next[a.ID] = a
	}
	for _, o := range old {
		n, ok := next[o.ID]
		if ok && sameApp(o, n) {
			continue
		}
		if err := t.unschedule(ctx, in.ID, o.ID); err != nil {
			return err
		}
	}
	return nil
}

func sameApp(a, b App) bool {
	fa, _ := json.Marshal(a.Filters)
	fb, _ := json.Marshal(b.Filters)
	return a.Name == b.Name && a.StorePlugin == b.StorePlugin && a.StoreAppID == b.StoreAppID &&
		a.PollInterval == b.PollInterval && string(fa) == string(fb) && maps.Equal(a.StoreSettings, b.StoreSettings)
}

func (d *DB) appsVia(ctx context.Context, q querier, integrationID string) ([]App, error) {
	rows, err := q.query(ctx, `
		SELECT id, name, store_plugin, store_app_id, store_settings, filters, poll_interval_ms
		FROM apps WHERE integration_id = ? ORDER BY id`, integrationID)
	if err != nil {
		return nil, fmt.Errorf("state: list apps of %s: %w", integrationID, err)
	}
	defer rows.Close()
	var out []App
	for rows.Next() {
		a := App{IntegrationID: integrationID}
		var ss []byte
		var fj string
		var ms int64
		if err := rows.Scan(&a.ID, &a.Name, &a.StorePlugin, &a.StoreAppID, &ss, &fj, &ms); err != nil {
			return nil, fmt.Errorf("state: scan app: %w", err)
		}
		if a.StoreSettings, err = d.open(ss); err != nil {
			return nil, fmt.Errorf("state: app %s/%s store settings: %w", integrationID, a.ID, err)
		}
		if err := json.Unmarshal([]byte(fj), &a.Filters); err != nil {
			return nil, fmt.Errorf("state: app %s/%s filters: %w", integrationID, a.ID, err)
		}
		a.PollInterval = time.Duration(ms) * time.Millisecond
		out = append(out, a)
	}
	return out, rows.Err()
}
