package state

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
)

// Deadlines and availability. Every call into the database (exec, query,
// queryRow, InTx) runs under the DB's deadline, unless its caller gave an
// earlier one: a locked table or a stalled server fails the call after it
// instead of holding a webhook or an admin request for as long as the
// lock. Failures that say the database cannot be written (the deadline, a
// full disk, a read-only or locked file, a lost server) are remembered for
// Unavailable, which readiness reports. A PostgreSQL connection the server
// closed is retried on another one (retry).

// DefaultTimeout is the deadline of a state call when the config names
// none (state.timeout; config's default).
const DefaultTimeout = 5 * time.Second

// ErrTimeout wraps the error of a call that ran out of the DB's deadline.
var ErrTimeout = errors.New("the state database did not answer in time")

// errDeadline is the cause of the DB's own deadline (as opposed to the
// caller's).
var errDeadline = errors.New("state deadline")

// SetTimeout sets the deadline of every state call from now on (0: none,
// as when the DB is opened, so that migrations are not cut short; the hub
// sets the config's state.timeout). Set it before the DB is shared.
func (d *DB) SetTimeout(t time.Duration) { d.timeout = t }

// Timeout is the deadline of every state call (0: none).
func (d *DB) Timeout() time.Duration { return d.timeout }

// bound is ctx under the DB's deadline, unless ctx ends earlier.
func (d *DB) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	limit := d.timeout
	if limit <= 0 {
		return ctx, func() {}
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= limit {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, limit, errDeadline)
}

// outcome marks err as ErrTimeout when ctx (from bound) ran out of the
// DB's deadline, and notes a failure that says the database is
// unavailable.
func (d *DB) outcome(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		<-ctx.Done() // due: a statement's context (txBound) may have ended just before it
	}
	if ctx.Err() != nil && errors.Is(context.Cause(ctx), errDeadline) && !errors.Is(err, ErrTimeout) {
		err = fmt.Errorf("%w (%s): %w", ErrTimeout, d.Timeout(), err)
	}
	if IsUnavailable(err) {
		d.avail.fail(d.now(), err)
	}
	return err
}

// IsUnavailable reports whether err says the state database cannot be
// read or written now (the DB's deadline passed, the disk is full, the
// file is read-only or locked, the server is gone or shutting down), as
// opposed to a problem of the call itself. Such a call may succeed when
// retried later: the hub answers it with 503 and Retry-After.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrTimeout) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrFull, sqlite3.ErrReadonly, sqlite3.ErrIoErr, sqlite3.ErrBusy, sqlite3.ErrLocked,
			sqlite3.ErrCantOpen, sqlite3.ErrCorrupt, sqlite3.ErrNotADB:
			return true
		}
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "25006", pe.Code == "55P03": // read-only transaction, lock not available
			return true
		}
		switch pe.Code[:min(2, len(pe.Code))] {
		case "08", "53", "57", "58", "XX": // connection, resources (disk full), operator, system
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || pgconn.Timeout(err) || connClosed(err)
}

// connClosed: a PostgreSQL connection the server closed (terminated,
// restarted, failed over) before or while the call was sent.
func connClosed(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "57P") // admin_shutdown, crash_shutdown, cannot_connect_now
	}
	return pgconn.SafeToRetry(err) || errors.Is(err, driver.ErrBadConn)
}

// retry runs call again while it fails on a PostgreSQL connection the
// server closed (a transaction on it was rolled back, so running it again
// is safe) and ctx lasts. Each failed try discards one dead pooled
// connection, and after a restart or a failover every idle one is dead:
// the tries are bounded by the pool's size plus one, so the last runs on
// a new connection.
func (d *DB) retry(ctx context.Context, call func() error) error {
	err := call()
	if err == nil || d.dialect != Postgres || !connClosed(err) {
		return err
	}
	tries := max(d.sql.Stats().MaxOpenConnections, 2) // 0: no limit set
	for ; tries > 0 && connClosed(err) && ctx.Err() == nil; tries-- {
		err = call()
	}
	return err
}

// unavailableFor is how long a failure that said the database could not
// be written keeps Unavailable failing: readiness recovers by itself once
// the database answers again, a while after the last such failure (a load
// balancer that sends nothing meanwhile does not keep it failing).
const unavailableFor = 30 * time.Second

// availability remembers the last failure that said the state database
// is unavailable.
type availability struct {
	mu  sync.Mutex
	at  time.Time
	err error
}

func (a *availability) fail(now time.Time, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.at, a.err = now, err
}

func (a *availability) last() (time.Time, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.at, a.err
}

// probeEvery bounds how often Unavailable writes to the state (a readiness
// probe may ask every second; several at once wait for one write).
const probeEvery = 5 * time.Second

// writeProbe is Unavailable's last write and its outcome.
type writeProbe struct {
	mu  sync.Mutex
	at  time.Time
	err error
}

// Unavailable says why the state cannot be relied on now (nil: it can): a
// call failed in the last unavailableFor because the database could not be
// written or did not answer in time, or a small write (at most every
// probeEvery) fails now: an idle hub on a full disk, a read-only or a
// locked database is not ready either. /readyz reports it.
func (d *DB) Unavailable(ctx context.Context) error {
	if at, err := d.avail.last(); err != nil && d.now().Sub(at) < unavailableFor {
		return fmt.Errorf("the state database failed %s ago: %w", d.now().Sub(at).Round(time.Second), err)
	}
	d.probe.mu.Lock()
	defer d.probe.mu.Unlock()
	if now := d.now(); d.probe.at.IsZero() || now.Sub(d.probe.at) >= probeEvery {
		d.probe.err = d.InTx(ctx, func(tx *Tx) error {
			_, err := tx.exec(ctx, upsertInfo, infoReadinessProbe, now.UTC().Format(time.RFC3339Nano))
			return err
		})
		d.probe.at = now
	}
	if d.probe.err != nil {
		return fmt.Errorf("the state database cannot be written: %w", d.probe.err)
	}
	return nil
}

// rows are query results under the DB's deadline, released when they are
// closed.
type rows struct {
	*sql.Rows
	cancel context.CancelFunc
}

// Close closes the rows and releases their deadline.
func (r *rows) Close() error {
	err := r.Rows.Close()
	r.cancel()
	return err
}

// boundRow runs its query when scanned, under the DB's deadline, retried
// like the DB's other calls.
type boundRow struct {
	d    *DB
	ctx  context.Context
	q    string
	args []any
}

func (r boundRow) Scan(dest ...any) error {
	return r.d.retry(r.ctx, func() error {
		ctx, cancel := r.d.bound(r.ctx)
		defer cancel()
		st, err := r.d.stmt(ctx, r.q)
		if err != nil {
			return r.d.outcome(ctx, err)
		}
		return r.d.outcome(ctx, st.QueryRowContext(ctx, r.args...).Scan(dest...))
	})
}

// txBound is ctx under the transaction's deadline (from InTx's), released
// when the transaction ends: statements run on their caller's context,
// which may have none.
func (t *Tx) txBound(ctx context.Context) context.Context {
	if t.deadline.IsZero() {
		return ctx
	}
	if dl, ok := ctx.Deadline(); ok && !dl.After(t.deadline) {
		return ctx
	}
	ctx, cancel := context.WithDeadlineCause(ctx, t.deadline, errDeadline)
	t.mu.Lock()
	t.cancels = append(t.cancels, cancel)
	t.mu.Unlock()
	return ctx
}

// release ends the deadlines of the transaction's statements.
func (t *Tx) release() {
	t.mu.Lock()
	cs := t.cancels
	t.cancels = nil
	t.mu.Unlock()
	for _, c := range cs {
		c()
	}
}
