package app

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/secrets"
	"github.com/reviewhub/reviewhub/hub/state"
)

// ErrNoState: the hub's state database does not exist (the hub has not run
// with this configuration).
var ErrNoState = errors.New("the state database does not exist")

var errKey = errors.New("the key is set by secret_key / HUB_SECRET_KEY or kept in DATA_DIR/secret.key")

// ReadIntegration finds an integration the way the hub runs it, changing
// nothing: one declared in the config file wins (as SyncConfig makes it
// win in the state); otherwise it is read from the state database, opened
// read-only, its secrets unsealed with the hub's key (which is never
// generated here).
func ReadIntegration(ctx context.Context, cfg *config.Config, id string) (state.Integration, error) {
	for _, ci := range cfg.Integrations {
		if ci.ID == id {
			return FromConfig(ci), nil
		}
	}
	db, err := openStateReadOnly(ctx, cfg)
	if errors.Is(err, os.ErrNotExist) && !errors.Is(err, errKey) {
		return state.Integration{}, fmt.Errorf("no integration %q in the config file, and %w (%s)", id, ErrNoState, cfg.State.Path)
	}
	if err != nil {
		return state.Integration{}, err
	}
	defer db.Close()
	in, err := db.Integration(ctx, id)
	if errors.Is(err, state.ErrNotFound) {
		return in, fmt.Errorf("no integration %q in the config file or the state", id)
	}
	return in, err
}

func openStateReadOnly(ctx context.Context, cfg *config.Config) (*state.DB, error) {
	if cfg.State.Driver != "postgres" {
		if _, err := os.Stat(cfg.State.Path); err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
	}
	var key []byte
	var err error
	if cfg.SecretKey != "" {
		key, err = secrets.ParseKey(cfg.SecretKey)
	} else {
		var raw []byte
		raw, err = os.ReadFile(KeyFile(cfg))
		if err == nil {
			key, err = secrets.ParseKey(string(raw))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("secret_key (needed to unseal the state's credentials): %w", errors.Join(err, errKey))
	}
	sealer, err := newSealer(cfg, key)
	if err != nil {
		return nil, err
	}
	if cfg.State.Driver == "postgres" {
		return state.OpenPostgresReadOnly(ctx, cfg.State.DSN, sealer)
	}
	return state.OpenSQLiteReadOnly(ctx, cfg.State.Path, sealer)
}

// FromConfig is an integration declared in the config file as the state
// holds it (what SyncConfig writes).
func FromConfig(ci config.Integration) state.Integration {
	in := state.Integration{ID: ci.ID, Name: ci.Name, HelpdeskPlugin: ci.Helpdesk.Plugin,
		HelpdeskSettings: ci.Helpdesk.Settings, Tags: ci.Tags == nil || *ci.Tags, Source: state.SourceConfig}
	for _, ca := range ci.Apps {
		in.Apps = append(in.Apps, state.App{IntegrationID: ci.ID, ID: ca.ID, Name: ca.Name, StorePlugin: ca.Store,
			StoreAppID: ca.StoreAppID, StoreSettings: ca.Settings, Filters: ca.Filters, PollInterval: ca.PollInterval})
	}
	if ci.Automation != nil {
		in.Automation = *ci.Automation
	}
	return in
}
