package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

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
	return d.stmts.Prepare(ctx, d.sql, q)
}

// exec, query and queryRow run q under the DB's deadline (deadline.go),
// retried on a PostgreSQL connection the server closed.
func (d *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := d.retry(ctx, func() error {
		ctx, cancel := d.bound(ctx)
		defer cancel()
		st, err := d.stmt(ctx, d.Rebind(q))
		if err != nil {
			return d.outcome(ctx, err)
		}
		defer d.lockWrite(ctx)()
		res, err = st.ExecContext(ctx, args...)
		return d.outcome(ctx, err)
	})
	return res, err
}

func (d *DB) query(ctx context.Context, q string, args ...any) (*rows, error) {
	var out *rows
	err := d.retry(ctx, func() error {
		ctx, cancel := d.bound(ctx)
		st, err := d.stmt(ctx, d.Rebind(q))
		if err != nil {
			cancel()
			return d.outcome(ctx, err)
		}
		rs, err := st.QueryContext(ctx, args...)
		if err != nil {
			cancel()
			return d.outcome(ctx, err)
		}
		out = &rows{Rows: rs, cancel: cancel}
		return nil
	})
	return out, err
}

// row is a *sql.Row or an errRow.
type row interface{ Scan(...any) error }

// errRow is a *sql.Row-like result carrying a prepare error.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (d *DB) queryRow(ctx context.Context, q string, args ...any) row {
	return boundRow{d: d, ctx: ctx, q: d.Rebind(q), args: args}
}

// txStmt is the cached statement for q bound to the transaction. One not
// cached yet is prepared on the transaction's own connection: preparing it
// on the pool could wait for a connection that the transactions blocked
// behind this one hold (concurrent creates of one id on PostgreSQL
// deadlocked so). The cache is filled in the background, once per query.
func (t *Tx) txStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	ctx = t.txBound(ctx)
	if st, ok := t.db.stmts.Load(q); ok {
		return t.tx.StmtContext(ctx, st), nil
	}
	st, err := t.tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if _, busy := t.db.preparing.LoadOrStore(q, struct{}{}); !busy {
		t.db.prepared.Add(1)
		go func() {
			defer t.db.prepared.Done()
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

func (t *Tx) query(ctx context.Context, q string, args ...any) (*rows, error) {
	rs, err := t.QueryContext(ctx, t.db.Rebind(q), args...)
	if err != nil {
		return nil, err
	}
	return &rows{Rows: rs, cancel: func() {}}, nil // the deadline ends with the transaction
}

func (t *Tx) queryRow(ctx context.Context, q string, args ...any) row {
	ctx = t.txBound(ctx)
	if err := t.insertPendingReviews(ctx); err != nil {
		return errRow{err}
	}
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
	ctx = t.txBound(ctx)
	if err := t.insertPendingReviews(ctx); err != nil {
		return nil, err
	}
	st, err := t.txStmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// QueryContext runs q in the transaction with a cached prepared statement.
func (t *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	ctx = t.txBound(ctx)
	if err := t.insertPendingReviews(ctx); err != nil {
		return nil, err
	}
	st, err := t.txStmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext runs q in the transaction.
func (t *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	ctx = t.txBound(ctx)
	_ = t.insertPendingReviews(ctx) // on failure the transaction cannot commit (InTx)
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

// Tx is one write transaction. Messages published through the bus with
// Tx.SQL() commit or roll back with it.
type Tx struct {
	tx *sql.Tx
	db *DB
	// deadline bounds every statement (InTx's; zero: none); cancels end
	// the statements' contexts with the transaction.
	deadline time.Time
	mu       sync.Mutex
	cancels  []context.CancelFunc
	// committed run after a successful commit (the bus wakes its
	// subscribers through them).
	committed []func()
	// batch is a page's preloaded reviews and new reviews to insert
	// (pagebatch.go).
	batch pageBatch
}

// OnCommit runs fn after the transaction commits (not if it rolls back).
func (t *Tx) OnCommit(fn func()) { t.committed = append(t.committed, fn) }

// SQL is the underlying transaction.
func (t *Tx) SQL() *sql.Tx { return t.tx }

// InTx runs fn in one transaction, committing when it returns nil. The
// transaction runs under the DB's deadline (deadline.go); on PostgreSQL,
// one that failed because the server closed its connection is run again
// on another (fn may run more than once: it must set, not accumulate, what
// it returns through captured variables).
func (d *DB) InTx(ctx context.Context, fn func(*Tx) error) error {
	return d.retry(ctx, func() error { return d.inTx(ctx, fn) })
}

func (d *DB) inTx(ctx context.Context, fn func(*Tx) error) error {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	defer d.lockWrite(ctx)()
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return d.outcome(ctx, fmt.Errorf("state: begin: %w", err))
	}
	t := &Tx{tx: tx, db: d}
	t.deadline, _ = ctx.Deadline()
	defer t.release()
	if err := fn(t); err != nil {
		_ = tx.Rollback()
		// A page batch that failed aborted the transaction: its error is
		// the cause of the statement's that fn reports.
		return d.outcome(ctx, errors.Join(t.batch.err, err))
	}
	if err := t.insertPendingReviews(ctx); err != nil {
		_ = tx.Rollback()
		return d.outcome(ctx, err)
	}
	if err := tx.Commit(); err != nil {
		return d.outcome(ctx, fmt.Errorf("state: commit: %w", err))
	}
	for _, hook := range t.committed {
		hook()
	}
	return nil
}
