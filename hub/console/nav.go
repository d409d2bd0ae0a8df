package console

import (
	"context"
	"sync"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// The navigation's pill badges: dead letters waiting and apps failing,
// counted at most once per navTTL for every page of every user (the
// counts read the dead letters and each integration's status: cheap once
// in a while, not on every page). A count that cannot be read is left
// out (logged); the page never fails for it.

// navTTL is how long the counts are reused.
const navTTL = 30 * time.Second

// navTimeout bounds one count.
const navTimeout = 2 * time.Second

// navCounts are the badges' numbers (0: no badge).
type navCounts struct {
	DeadLetters int
	Failing     int
}

type navCache struct {
	mu sync.Mutex
	at time.Time
	n  navCounts
}

// appFailing tells whether an app's status says it fails: its health is
// not OK, or its last poll failed (as the integrations list shows it).
func appFailing(health *string, lastError string) bool {
	return (health != nil && *health != sdk.HealthOK) || lastError != ""
}

// navBadges returns the counts, read again when older than navTTL.
func (c *Console) navBadges(ctx context.Context) navCounts {
	c.nav.mu.Lock()
	defer c.nav.mu.Unlock()
	now := c.opts.Now()
	if !c.nav.at.IsZero() && now.Sub(c.nav.at) < navTTL && !now.Before(c.nav.at) {
		return c.nav.n
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), navTimeout)
	defer cancel()
	var n navCounts
	if dl, err := c.admin.ListDeadLetters(ctx); err == nil {
		n.DeadLetters = len(dl)
	} else {
		c.opts.Logger.Warn("console: counting dead letters for the navigation failed", "error", err)
	}
	ins, err := c.admin.Integrations(ctx)
	if err != nil {
		c.opts.Logger.Warn("console: counting failing apps for the navigation failed", "error", err)
	}
	for _, in := range ins {
		st, err := c.admin.Status(ctx, in.ID)
		if err != nil {
			c.opts.Logger.Warn("console: counting failing apps for the navigation failed", "integration", in.ID, "error", err)
			continue
		}
		for _, a := range st.Apps {
			var h *string
			if a.Health != nil {
				h = &a.Health.State
			}
			if appFailing(h, a.LastError) {
				n.Failing++
			}
		}
	}
	c.nav.at, c.nav.n = now, n
	return n
}
