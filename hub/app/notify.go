package app

import (
	"context"
	"fmt"
	"sync"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/notify"
	"github.com/reviewhub/reviewhub/sdk"
)

// newNotifier makes the chat notifications' dispatcher of
// notify.destinations (nil: none configured).
func (h *Hub) newNotifier(cfg *config.Config) (*notify.Dispatcher, error) {
	if len(cfg.Notify.Destinations) == 0 {
		return nil, nil
	}
	d := &notify.Dispatcher{DB: h.DB, Logger: h.log.With("component", "notify"), Owner: leaseOwner(h.Addr()),
		Notifier: func(name string) (sdk.NotifierPlugin, bool) {
			if h.Plugins == nil {
				return nil, false
			}
			p, ok := h.Plugins.Plugin(name)
			if !ok || p.Info().Kind != sdk.PluginKindNotifier {
				return nil, false
			}
			return p.Notifier(), true
		}}
	for _, cd := range cfg.Notify.Destinations {
		dest, err := notify.Compile(cd)
		if err != nil {
			return nil, fmt.Errorf("notify.destinations: %w", err)
		}
		d.Destinations = append(d.Destinations, dest)
	}
	return d, nil
}

// runNotifier posts the chat notifications until ctx ends.
func (h *Hub) runNotifier(ctx context.Context, wg *sync.WaitGroup) {
	if h.notifier == nil {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.notifier.Run(ctx)
	}()
}
