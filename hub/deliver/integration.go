package deliver

import (
	"context"
	"errors"
	"fmt"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// integration is an integration as the state holds it now (the state's
// one copy per process, state.DB.CurrentIntegration); a permanent failure
// when it no longer exists.
func (d *Deliverer) integration(ctx context.Context, id string) (state.Integration, error) {
	in, err := d.DB.CurrentIntegration(ctx, id)
	if errors.Is(err, state.ErrNotFound) {
		return in, bus.Permanent(fmt.Errorf("integration %q no longer exists", id))
	}
	return in, err
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
