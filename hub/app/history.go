package app

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/poll"
	"github.com/reviewhub/reviewhub/hub/state"
)

// OpenSealedState opens the state with the configured secret key, so its
// credentials can be read: for the tools that call store plugins with an
// app's settings (hub import-history).
func OpenSealedState(ctx context.Context, cfg *config.Config) (*state.DB, error) {
	s, err := sealer(cfg)
	if err != nil {
		return nil, err
	}
	return OpenState(ctx, cfg, s)
}

// historyRunner runs the admin API's history imports in the background
// of the hub's life (httpapi.HistoryOps), one at a time per range of an
// app; their progress is in the state.
type historyRunner struct {
	poller *poll.Poller
	bg     context.Context
	log    *slog.Logger

	mu      sync.Mutex
	running map[string]bool
}

func (h *historyRunner) StartHistory(ctx context.Context, in state.Integration, app state.App, from, to time.Time) error {
	key := in.ID + "\x00" + app.ID + "\x00" + from.String() + "\x00" + to.String()
	h.mu.Lock()
	if h.running == nil {
		h.running = map[string]bool{}
	}
	if h.running[key] {
		h.mu.Unlock()
		return httpapi.ErrHistoryRunning
	}
	h.running[key] = true
	h.mu.Unlock()
	done := func() {
		h.mu.Lock()
		delete(h.running, key)
		h.mu.Unlock()
	}
	// Taken here, before answering: an import that runs elsewhere (another
	// hub, `hub import-history`) is refused naming where, not dropped.
	run, err := h.poller.BeginHistoryImport(ctx, in, app, from, to)
	var busy *poll.ImportBusyError
	switch {
	case errors.As(err, &busy):
		done()
		return &httpapi.HistoryRunningError{Holder: busy.Holder.Name}
	case err != nil:
		done()
		return err
	}
	go func() {
		defer done()
		res, err := run.Run(h.bg, nil)
		switch {
		case errors.Is(err, state.ErrLeaseLost):
			h.log.Info("history import taken over elsewhere (another hub, `hub import-history`); left to it", "integration", in.ID, "app", app.ID, "error", err)
		case errors.Is(err, context.Canceled):
			h.log.Info("history import interrupted by the hub's stop; resumed when asked again", "integration", in.ID, "app", app.ID, "pages", res.Pages)
		case err != nil:
			h.log.Warn("history import stopped; POST it again to resume", "integration", in.ID, "app", app.ID, "pages", res.Pages, "error", err)
		}
	}()
	return nil
}
