package app

import (
	"context"

	"github.com/reviewhub/reviewhub/hub/config"
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
