// Package stmtcache keeps prepared statements by query text, for the state
// and for the bus's SQLite subscriber: preparing a statement for every
// query was the largest CPU cost of the hub (docs/performance.md).
package stmtcache

import (
	"context"
	"database/sql"
	"sync"
)

// Cache holds prepared statements by query text. The zero value is ready
// to use; it is safe for concurrent use.
type Cache struct {
	m sync.Map // string → *sql.Stmt
}

// Load returns the cached statement for q, if there is one.
func (c *Cache) Load(q string) (*sql.Stmt, bool) {
	st, ok := c.m.Load(q)
	if !ok {
		return nil, false
	}
	return st.(*sql.Stmt), true
}

// Prepare returns the cached statement for q, preparing it on db the first
// time. Two callers preparing the same query at once get the same
// statement; the other one is closed.
func (c *Cache) Prepare(ctx context.Context, db *sql.DB, q string) (*sql.Stmt, error) {
	if st, ok := c.Load(q); ok {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.m.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// Close closes every cached statement and empties the cache.
func (c *Cache) Close() {
	c.m.Range(func(q, st any) bool {
		st.(*sql.Stmt).Close()
		c.m.Delete(q)
		return true
	})
}
