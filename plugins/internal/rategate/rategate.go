// Package rategate remembers, per account, until when a vendor said to wait
// (a 429's Retry-After), so that a helpdesk plugin's later calls for that
// account fail at once with the rest of the wait instead of reaching the
// API again. The plugins keep one Gate for their process.
package rategate

import (
	"sync"
	"time"
)

// Gate keeps, per account, until when to wait. Safe for concurrent use;
// the zero Gate is ready, and a nil *Gate keeps nothing (every call may go
// out).
type Gate struct {
	mu    sync.Mutex
	until map[string]time.Time
}

// Hold makes account wait d from now; a shorter hold never cuts a longer
// one short.
func (g *Gate) Hold(account string, d time.Duration) {
	if g == nil || d <= 0 {
		return
	}
	t := time.Now().Add(d)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.until == nil {
		g.until = map[string]time.Time{}
	}
	if t.After(g.until[account]) {
		g.until[account] = t
	}
}

// Wait is how long account must still wait (0: call now).
func (g *Gate) Wait(account string) time.Duration {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	d := time.Until(g.until[account])
	if d <= 0 {
		delete(g.until, account)
		return 0
	}
	return d
}
