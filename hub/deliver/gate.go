package deliver

import (
	"context"
	"sync"
	"time"
)

// maxHold bounds how long one "retry after" holds an integration back
// (the router's MaxRetryAfter default).
const maxHold = 2 * time.Minute

// gates hold back every helpdesk call of an integration while its helpdesk
// has said "retry after": with several deliveries in flight per
// integration, the first 429 stops the others from calling (and being
// refused) until the helpdesk's own wait is over, instead of each learning
// it from its own 429.
type gates struct {
	mu    sync.Mutex
	until map[string]time.Time
}

// hold closes integration's gate for d (d <= 0: nothing).
func (g *gates) hold(integration string, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.Now().Add(min(d, maxHold))
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.until == nil {
		g.until = map[string]time.Time{}
	}
	if t.After(g.until[integration]) {
		g.until[integration] = t
	}
}

// wait returns when integration's gate is open, or with ctx's error.
func (g *gates) wait(ctx context.Context, integration string) error {
	for {
		g.mu.Lock()
		until, ok := g.until[integration]
		if ok && !time.Now().Before(until) {
			delete(g.until, integration)
			ok = false
		}
		g.mu.Unlock()
		if !ok {
			return nil
		}
		t := time.NewTimer(time.Until(until))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}
