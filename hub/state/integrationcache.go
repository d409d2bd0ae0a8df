package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// integrationCache is this process's copy of the integrations its poller
// and its handlers read (settings decrypted, automation compiled): loading
// one for every message delivered was a tenth of the hub's CPU
// (docs/performance.md). One rule keeps it true: a copy is used while the
// integration's version and creation time in the state are the copy's.
// Every change to an integration, whoever makes it (the admin API, the
// config file, the kill switch, another hub), moves its version on
// (PutIntegration, UpdateIntegration, SetAutomationStopped), and one
// deleted and created again has another creation time; so the next read,
// in this hub or any other, sees the change, for one small query.
type integrationCache struct {
	mu sync.Mutex
	m  map[string]Integration // by id
}

// CurrentIntegration returns integration id as the state holds it now,
// from this process's copy while it is current (integrationCache);
// ErrNotFound when it no longer exists.
func (d *DB) CurrentIntegration(ctx context.Context, id string) (Integration, error) {
	var version int
	var created string
	err := d.queryRow(ctx, `SELECT version, created_at FROM integrations WHERE id = ?`, id).Scan(&version, &created)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	c := &d.current
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			c.mu.Lock()
			delete(c.m, id)
			c.mu.Unlock()
			return Integration{}, err
		}
		return Integration{}, fmt.Errorf("state: version of integration %s: %w", id, err)
	}
	c.mu.Lock()
	in, ok := c.m[id]
	c.mu.Unlock()
	if ok && in.Version == version && in.CreatedAt.Equal(parseTS(created)) {
		return in, nil
	}
	if in, err = d.Integration(ctx, id); err != nil {
		return Integration{}, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]Integration{}
	}
	c.m[id] = in // an older one of two concurrent reads is read again next time
	c.mu.Unlock()
	return in, nil
}

// App returns the integration's app id.
func (in Integration) App(id string) (App, bool) {
	for _, a := range in.Apps {
		if a.ID == id {
			return a, true
		}
	}
	return App{}, false
}
