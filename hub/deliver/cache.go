package deliver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// integrationTTL is how long a loaded integration (settings decrypted) is
// reused by the handlers: loading it for every message was a tenth of the
// hub's CPU in the benchmark. InvalidateIntegrations drops it at once when it
// changes.
const integrationTTL = 2 * time.Second

type cachedIntegration struct {
	in state.Integration
	at time.Time
}

func (d *Deliverer) integration(ctx context.Context, id string) (state.Integration, error) {
	d.cacheMu.Lock()
	c, ok := d.cache[id]
	d.cacheMu.Unlock()
	if ok && time.Since(c.at) < integrationTTL {
		return c.in, nil
	}
	in, err := d.DB.Integration(ctx, id)
	if errors.Is(err, state.ErrNotFound) {
		return in, bus.Permanent(fmt.Errorf("integration %q no longer exists", id))
	}
	if err != nil {
		return in, err
	}
	d.cacheMu.Lock()
	if d.cache == nil {
		d.cache = map[string]cachedIntegration{}
	}
	d.cache[id] = cachedIntegration{in, time.Now()}
	d.cacheMu.Unlock()
	return in, nil
}

// InvalidateIntegrations drops the cached integrations (their settings changed).
func (d *Deliverer) InvalidateIntegrations() {
	d.cacheMu.Lock()
	d.cache = nil
	d.cacheMu.Unlock()
}

func findApp(in state.Integration, appID string) (state.App, bool) {
	for _, a := range in.Apps {
		if a.ID == appID {
			return a, true
		}
	}
	return state.App{}, false
}

// helpdeskOf is an integration with its helpdesk plugin, once the
// integration's rate-limit gate lets a call through.
func (d *Deliverer) helpdeskOf(ctx context.Context, integrationID string) (state.Integration, sdk.HelpdeskPlugin, error) {
	in, err := d.integration(ctx, integrationID)
	if err != nil {
		return in, nil, err
	}
	hd, _, err := d.Plugins.Helpdesk(in.HelpdeskPlugin)
	if err != nil {
		return in, nil, err
	}
	if err := d.gates.wait(ctx, in.ID); err != nil {
		return in, nil, err
	}
	return in, hd, nil
}
