package state

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode/utf8"
)

// The one lease: exclusive, time-limited ownership of a row, used by the
// PostgreSQL bus's subscription leases (hub/bus), the poll schedule's
// slots (schedule.go) and the alert claims (health.go). The rules are
// written here once:
//
//   - The owner is an Owner: a name that stays the same across restarts
//     and an instance id of its own, so two processes given the same name
//     never hold one lease together, and a restarted process can end its
//     killed predecessor's leases at once (ReleasePredecessors) instead of
//     waiting for them to run out.
//   - A lease is free when its time has run out; taking it writes the
//     owner and the new end, and, where the table keeps one, moves its
//     fence on when the owner changes. Taking a lease the caller holds
//     renews it.
//   - One clock decides when a lease runs out (leaseClock): on PostgreSQL,
//     which several hubs share, the database server's, in the statement;
//     on SQLite, used by one process, the caller's (the hub's injected
//     clock). Hubs whose clocks disagree never both hold a lease.
//   - Held means "the owner (and fence) the caller took it with are still
//     there": a lease that ran out but nobody took since is still held; a
//     holder whose lease another took can no longer renew, release or
//     write under it (the fence), so two owners never act at once.
//
// The leases stay in the columns of their own tables (LeaseTable): hubs
// of the previous release, running beside these during a rolling
// upgrade, read and write the same rows, so they exclude each other too.

// Owner holds leases: Name is stable across restarts (the hub's host and
// listen address), Instance is this process's own.
type Owner struct {
	Name     string
	Instance string
}

// ownerSep ends the Name part of an owner as written in a lease.
const ownerSep = "#"

// nameEscaper keeps ownerSep out of a name, so the name part of a written
// owner is unambiguous.
var nameEscaper = strings.NewReplacer("%", "%25", ownerSep, "%23")

// NewOwner returns an owner named name (the host name when empty) with a
// random instance id.
func NewOwner(name string) Owner {
	if name == "" {
		name, _ = os.Hostname()
		if name == "" {
			name = "hub"
		}
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return Owner{Name: nameEscaper.Replace(name), Instance: hex.EncodeToString(b)}
}

// String is the owner as written in a lease: name#instance.
func (o Owner) String() string { return o.Name + ownerSep + o.Instance }

// ParseOwner reads an owner as written in a lease (String); a bare name,
// as hubs before the instance id wrote it, has no Instance.
func ParseOwner(written string) Owner {
	name, instance, _ := strings.Cut(written, ownerSep)
	return Owner{Name: name, Instance: instance}
}

// IsZero reports whether o names nobody.
func (o Owner) IsZero() bool { return o.Name == "" && o.Instance == "" }

// Lease is a lease as taken: by whom, with which fence (0 where the table
// keeps none), until when by the clock the lease runs by (leaseClock).
type Lease struct {
	Owner Owner
	Fence int64
	Until time.Time
}

// ErrLeaseLost says a write under a lease was refused: another owner took
// it since.
var ErrLeaseLost = errors.New("lease lost: another owner took it")

// LeaseTable is where one kind of lease is kept: the columns of a table.
type LeaseTable struct {
	Table string
	// Key are the columns naming the leased thing (Leases' key values go
	// to them in this order).
	Key []string
	// OwnerColumn and UntilColumn hold the owner ('' when free) and the
	// end of the lease.
	OwnerColumn, UntilColumn string
	// FenceColumn, when set, counts the changes of owner: a holder's
	// writes name the fence it took the lease with, so a holder that lost
	// the lease and then took it again cannot write under the first take.
	FenceColumn string
	// Timestamp: UntilColumn is a PostgreSQL timestamptz (the bus's
	// leases; PostgreSQL only). Otherwise it holds Unix milliseconds.
	Timestamp bool
	// OwnRows: the table holds only leases; Take inserts a missing row
	// and Release deletes it (a table without a fence only: deleting a
	// fence would let it start over). Otherwise the lease lives in
	// columns of rows that exist for their own sake (a missing row cannot
	// be taken) and Release clears them.
	OwnRows bool
}

// leaseClock is a LeaseTable's statements in one dialect, with the one
// time source its leases run by there. On PostgreSQL, which several hubs
// share, that is the database server's clock (now() in the statement): a
// lease's end is written and compared by one clock, so hubs whose own
// clocks disagree (by minutes, even) never both hold a lease; the callers'
// now is not used. On SQLite one process uses the database, and the
// leases run by the now it passes (the hub's injected clock, which tests
// move).
type leaseClock struct {
	LeaseTable
	server bool
}

// in is t's statements in dialect.
func (t LeaseTable) in(dialect string) leaseClock {
	return leaseClock{LeaseTable: t, server: dialect == Postgres || t.Timestamp}
}

// serverNowMS is PostgreSQL's now() in Unix milliseconds.
const serverNowMS = `CAST(FLOOR(EXTRACT(EPOCH FROM now()) * 1000) AS BIGINT)`

// now is the SQL of the current time the leases run by, with its
// arguments.
func (t leaseClock) now(now time.Time) (string, []any) {
	switch {
	case t.Timestamp:
		return `now()`, nil
	case t.server:
		return serverNowMS, nil
	}
	return `?`, []any{ms(now)}
}

// until is the SQL of "now + d" with its arguments.
func (t leaseClock) until(now time.Time, d time.Duration) (string, []any) {
	switch {
	case t.Timestamp:
		return `now() + ? * interval '1 millisecond'`, []any{d.Milliseconds()}
	case t.server:
		return serverNowMS + ` + ?`, []any{d.Milliseconds()}
	}
	return `?`, []any{ms(now.Add(d))}
}

// free is the condition that the lease in col has run out.
func (t leaseClock) free(col string, now time.Time) (string, []any) {
	n, args := t.now(now)
	return col + ` < ` + n, args
}

// untilOf reads the lease's end as a statement returned it (UntilColumn).
func (t leaseClock) untilOf(v any) time.Time {
	switch v := v.(type) {
	case time.Time:
		return v.UTC()
	case int64:
		return fromMS(v)
	}
	return time.Time{}
}

// takeSet is the SET list that takes the lease for o until now+d. The
// fence moves on when the owner changes, and always when fresh: a take of
// a free lease that is never a renewal (a claim), so that the same owner
// taking its own lapsed lease again fences off its first take.
func (t leaseClock) takeSet(o Owner, now time.Time, d time.Duration, fresh bool) (string, []any) {
	u, uargs := t.until(now, d)
	set := t.OwnerColumn + ` = ?, ` + t.UntilColumn + ` = ` + u
	args := append([]any{o.String()}, uargs...)
	switch {
	case t.FenceColumn == "":
	case fresh:
		set += `, ` + t.FenceColumn + ` = ` + t.FenceColumn + ` + 1`
	default:
		set += `, ` + t.FenceColumn + ` = CASE WHEN ` + t.OwnerColumn + ` = ? THEN ` + t.FenceColumn +
			` ELSE ` + t.FenceColumn + ` + 1 END`
		args = append(args, o.String())
	}
	return set, args
}

// takable is the condition that o may take the lease now: it is o's, or
// it ran out.
func (t leaseClock) takable(o Owner, now time.Time) (string, []any) {
	f, fargs := t.free(t.UntilColumn, now)
	return `(` + t.OwnerColumn + ` = ? OR ` + f + `)`, append([]any{o.String()}, fargs...)
}

// held is the condition that l is still held as taken: same owner, same
// fence.
func (t LeaseTable) held(l Lease) (string, []any) {
	if t.FenceColumn == "" {
		return t.OwnerColumn + ` = ?`, []any{l.Owner.String()}
	}
	return t.OwnerColumn + ` = ? AND ` + t.FenceColumn + ` = ?`, []any{l.Owner.String(), l.Fence}
}

// clearSet is the SET list that frees the lease (the fence stays).
func (t LeaseTable) clearSet() string {
	if t.Timestamp {
		return t.OwnerColumn + ` = '', ` + t.UntilColumn + ` = '-infinity'`
	}
	return t.OwnerColumn + ` = '', ` + t.UntilColumn + ` = 0`
}

// predecessors is the condition that the lease is held under o's name by
// another instance: a predecessor killed before it could release (or a
// hub of an earlier release, which wrote the name alone).
func (t LeaseTable) predecessors(o Owner) (string, []any) {
	prefix := o.Name + ownerSep
	return t.OwnerColumn + ` <> ? AND (` + t.OwnerColumn + ` = ? OR substr(` + t.OwnerColumn + `, 1, ?) = ?)`,
		[]any{o.String(), o.Name, utf8.RuneCountInString(prefix), prefix}
}

// keyWhere is "k1 = ? AND k2 = ?" for the table's key, or "" for no key
// values (every row).
func (t LeaseTable) keyWhere(key []any) (string, error) {
	if len(key) == 0 {
		return "", nil
	}
	if len(key) != len(t.Key) {
		return "", fmt.Errorf("state: lease of %s: %d key values for the columns %v", t.Table, len(key), t.Key)
	}
	parts := make([]string, len(t.Key))
	for i, c := range t.Key {
		parts[i] = c + ` = ?`
	}
	return strings.Join(parts, ` AND `), nil
}

// leaseRunner runs a lease's statements (? placeholders): the state's DB
// (dbRunner: under its deadline, writes through its write gate) or a
// *sql.DB of the same database (sqlRunner).
type leaseRunner interface {
	exec(ctx context.Context, q string, args ...any) (sql.Result, error)
	// writeRow runs a write that returns a row and scans it into dest.
	writeRow(ctx context.Context, q string, args []any, dest ...any) error
}

type dbRunner struct{ d *DB }

func (r dbRunner) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return r.d.exec(ctx, q, args...)
}

func (r dbRunner) writeRow(ctx context.Context, q string, args []any, dest ...any) error {
	return r.d.writeRow(ctx, q, args, dest...)
}

// writeRow runs a write that returns a row (UPDATE … RETURNING) in a
// transaction of its own, so that on SQLite it takes the write gate as
// every write does; sql.ErrNoRows when it wrote nothing.
func (d *DB) writeRow(ctx context.Context, q string, args []any, dest ...any) error {
	return d.InTx(ctx, func(tx *Tx) error { return tx.queryRow(ctx, q, args...).Scan(dest...) })
}

// sqlRunner runs statements on a *sql.DB in dialect's placeholders.
type sqlRunner struct {
	db      *sql.DB
	dialect string
}

func (r sqlRunner) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return r.db.ExecContext(ctx, Rebind(r.dialect, q), args...)
}

func (r sqlRunner) writeRow(ctx context.Context, q string, args []any, dest ...any) error {
	return r.db.QueryRowContext(ctx, Rebind(r.dialect, q), args...).Scan(dest...)
}

// Leases takes, renews and releases one owner's leases of one LeaseTable.
// Each call is bounded by its context: callers renewing a lease give it
// a deadline well inside the lease.
type Leases struct {
	run   leaseRunner
	t     leaseClock
	owner Owner
}

// NewLeases returns owner's leases of t in db, a database of dialect
// (SQLite or Postgres) that is not opened through this package (the
// bus's).
func NewLeases(db *sql.DB, dialect string, t LeaseTable, owner Owner) *Leases {
	return &Leases{run: sqlRunner{db: db, dialect: dialect}, t: t.in(dialect), owner: owner}
}

// Leases returns owner's leases of t in the state database.
func (d *DB) Leases(t LeaseTable, owner Owner) *Leases {
	return &Leases{run: dbRunner{d}, t: t.in(d.dialect), owner: owner}
}

// Owner is who takes these leases.
func (l *Leases) Owner() Owner { return l.owner }

// Take takes the lease of key until now+d, or renews it when the owner
// holds it: ok is false when another owner holds it (or, for a table
// whose rows exist for their own sake, there is no such row). Here and in
// Renew and RenewAll, now is the caller's clock, which the leases run by
// on SQLite only; on PostgreSQL they run by the server's (leaseClock).
func (l *Leases) Take(ctx context.Context, now time.Time, d time.Duration, key ...any) (Lease, bool, error) {
	t := l.t
	if len(key) != len(t.Key) {
		return Lease{}, false, fmt.Errorf("state: lease of %s: %d key values for the columns %v", t.Table, len(key), t.Key)
	}
	ret := t.OwnerColumn
	if t.FenceColumn != "" {
		ret = t.FenceColumn
	}
	ret += `, ` + t.UntilColumn
	var q string
	var args []any
	if t.OwnRows {
		u, uargs := t.until(now, d)
		cols := append(append([]string{}, t.Key...), t.OwnerColumn, t.UntilColumn)
		vals := strings.Repeat(`?, `, len(t.Key)+1) + u
		args = append(append(append(args, key...), l.owner.String()), uargs...)
		if t.FenceColumn != "" {
			cols, vals = append(cols, t.FenceColumn), vals+`, 1`
		}
		set := t.OwnerColumn + ` = excluded.` + t.OwnerColumn + `, ` + t.UntilColumn + ` = excluded.` + t.UntilColumn
		if t.FenceColumn != "" {
			set += `, ` + t.FenceColumn + ` = CASE WHEN l.` + t.OwnerColumn + ` = excluded.` + t.OwnerColumn +
				` THEN l.` + t.FenceColumn + ` ELSE l.` + t.FenceColumn + ` + 1 END`
		}
		f, fargs := t.free(`l.`+t.UntilColumn, now)
		q = `INSERT INTO ` + t.Table + ` AS l (` + strings.Join(cols, `, `) + `) VALUES (` + vals + `)
			ON CONFLICT (` + strings.Join(t.Key, `, `) + `) DO UPDATE SET ` + set + `
			WHERE l.` + t.OwnerColumn + ` = excluded.` + t.OwnerColumn + ` OR ` + f + `
			RETURNING ` + ret
		args = append(args, fargs...)
	} else {
		set, sargs := t.takeSet(l.owner, now, d, false)
		kw, _ := t.keyWhere(key)
		cond, cargs := t.takable(l.owner, now)
		q = `UPDATE ` + t.Table + ` SET ` + set + ` WHERE ` + kw + ` AND ` + cond + ` RETURNING ` + ret
		args = append(append(append(args, sargs...), key...), cargs...)
	}
	lease := Lease{Owner: l.owner}
	var got, until any
	err := l.run.writeRow(ctx, q, args, &got, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return Lease{}, false, nil
	}
	if err != nil {
		return Lease{}, false, fmt.Errorf("state: take the lease of %s %v: %w", t.Table, key, err)
	}
	if t.FenceColumn != "" {
		f, ok := got.(int64)
		if !ok {
			return Lease{}, false, fmt.Errorf("state: take the lease of %s %v: fence %v (%T)", t.Table, key, got, got)
		}
		lease.Fence = f
	}
	lease.Until = t.untilOf(until)
	return lease, true, nil
}

// Renew extends held, the lease of key, to now+d; false when it is no
// longer held as taken (another owner took it since).
func (l *Leases) Renew(ctx context.Context, held Lease, now time.Time, d time.Duration, key ...any) (bool, error) {
	kw, err := l.t.keyWhere(key)
	if err == nil && kw == "" {
		err = fmt.Errorf("state: renew a lease of %s: no key", l.t.Table)
	}
	if err != nil {
		return false, err
	}
	u, uargs := l.t.until(now, d)
	h, hargs := l.t.held(held)
	n, err := l.affected(ctx, `UPDATE `+l.t.Table+` SET `+l.t.UntilColumn+` = `+u+` WHERE `+kw+` AND `+h,
		append(append(uargs, key...), hargs...)...)
	if err != nil {
		return false, fmt.Errorf("state: renew the lease of %s %v: %w", l.t.Table, key, err)
	}
	return n > 0, nil
}

// RenewAll extends every lease this owner holds in the table to now+d; it
// returns how many it holds.
func (l *Leases) RenewAll(ctx context.Context, now time.Time, d time.Duration) (int64, error) {
	u, uargs := l.t.until(now, d)
	n, err := l.affected(ctx, `UPDATE `+l.t.Table+` SET `+l.t.UntilColumn+` = `+u+` WHERE `+l.t.OwnerColumn+` = ?`,
		append(uargs, l.owner.String())...)
	if err != nil {
		return 0, fmt.Errorf("state: renew the leases of %s: %w", l.t.Table, err)
	}
	return n, nil
}

// Release ends held, the lease of key, so another owner may take it at
// once; false when it was no longer held as taken.
func (l *Leases) Release(ctx context.Context, held Lease, key ...any) (bool, error) {
	kw, err := l.t.keyWhere(key)
	if err == nil && kw == "" {
		err = fmt.Errorf("state: release a lease of %s: no key", l.t.Table)
	}
	if err != nil {
		return false, err
	}
	h, hargs := l.t.held(held)
	n, err := l.affected(ctx, l.clear()+` WHERE `+kw+` AND `+h, append(key, hargs...)...)
	if err != nil {
		return false, fmt.Errorf("state: release the lease of %s %v: %w", l.t.Table, key, err)
	}
	return n > 0, nil
}

// ReleasePredecessors ends the leases held under this owner's name by
// another instance (a predecessor killed before it could release them):
// of key, or of every row without key values. Were such an instance still
// alive (two processes given one name), it no longer holds them: its
// renewals and writes under them fail.
func (l *Leases) ReleasePredecessors(ctx context.Context, key ...any) (int64, error) {
	kw, err := l.t.keyWhere(key)
	if err != nil {
		return 0, err
	}
	p, pargs := l.t.predecessors(l.owner)
	where := p
	if kw != "" {
		where = kw + ` AND ` + p
	}
	n, err := l.affected(ctx, l.clear()+` WHERE `+where, append(key, pargs...)...)
	if err != nil {
		return 0, fmt.Errorf("state: release the predecessor's leases of %s: %w", l.t.Table, err)
	}
	return n, nil
}

// clear is the statement that frees leases (its WHERE to follow).
func (l *Leases) clear() string {
	if l.t.OwnRows && l.t.FenceColumn == "" {
		return `DELETE FROM ` + l.t.Table
	}
	return `UPDATE ` + l.t.Table + ` SET ` + l.t.clearSet()
}

func (l *Leases) affected(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := l.run.exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
