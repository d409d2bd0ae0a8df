package state

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Group commit: on SQLite (one writer), the small write transactions of
// concurrent deliveries are run together in one transaction. Beginning and
// committing cost as much as the statements of a delivery (profiles in
// docs/performance.md), and the writers queue for the single write lock
// anyway.

// maxGroup bounds the callers whose work shares one transaction.
const maxGroup = 64

// groupTxTimeout bounds a shared transaction (each caller's statements run
// on the caller's own context as well).
const groupTxTimeout = 30 * time.Second

type groupReq struct {
	ctx  context.Context
	fn   func(*Tx) error
	done chan error
}

type grouper struct {
	mu      sync.RWMutex // held for reading while sending; Close takes it to stop sends
	closed  bool
	reqs    chan *groupReq
	stop    chan struct{}
	stopped chan struct{}
	sent    atomic.Int64 // callers queued so far (tests watch it)
}

// InTxGrouped is InTx for small, independent write transactions that run
// often and concurrently (a delivery's attempt record, its ticket link):
// on SQLite, callers that arrive while a transaction is being written are
// run together in the next one. It returns once fn's changes committed
// (or failed), like InTx; messages fn publishes commit with them (outbox).
//
// fn may run more than once: when a shared transaction fails (any caller's
// fn or the commit), it is rolled back and every caller's fn runs again
// alone in its own transaction, so one caller's error never becomes
// another's. fn must therefore set, not accumulate, what it returns
// through captured variables. On PostgreSQL it is InTx.
func (d *DB) InTxGrouped(ctx context.Context, fn func(*Tx) error) error {
	g := &d.group
	if g.reqs == nil {
		return d.InTx(ctx, fn)
	}
	req := &groupReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return d.InTx(ctx, fn)
	}
	g.reqs <- req
	g.sent.Add(1)
	g.mu.RUnlock()
	// Not abandoned on ctx: fn may be running in a shared transaction; its
	// statements fail on its own context, and the answer comes promptly.
	return <-req.done
}

// startGroup starts the group's writer (SQLite; OpenSQLite).
func (d *DB) startGroup() {
	g := &d.group
	g.reqs = make(chan *groupReq, maxGroup)
	g.stop = make(chan struct{})
	g.stopped = make(chan struct{})
	go d.groupLoop()
}

func (d *DB) groupLoop() {
	g := &d.group
	defer close(g.stopped)
	for {
		var first *groupReq
		select {
		case first = <-g.reqs:
		case <-g.stop:
			// No sends after closed was set: what is queued is all there is.
			for {
				select {
				case r := <-g.reqs:
					r.done <- d.InTx(r.ctx, r.fn)
				default:
					return
				}
			}
		}
		batch := []*groupReq{first}
	more:
		for len(batch) < maxGroup {
			select {
			case r := <-g.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		d.runGroup(batch)
	}
}

func (d *DB) runGroup(batch []*groupReq) {
	if len(batch) == 1 {
		batch[0].done <- d.InTx(batch[0].ctx, batch[0].fn)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), groupTxTimeout)
	err := d.InTx(ctx, func(tx *Tx) error {
		for _, r := range batch {
			if err := r.ctx.Err(); err != nil {
				return err
			}
			if err := r.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	cancel()
	for _, r := range batch {
		if err == nil {
			r.done <- nil
			continue
		}
		r.done <- d.InTx(r.ctx, r.fn)
	}
}

// closeGroup stops the group's writer after the queued callers' work.
func (d *DB) closeGroup() {
	g := &d.group
	if g.reqs == nil {
		return
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	g.mu.Unlock()
	close(g.stop)
	<-g.stopped
}
