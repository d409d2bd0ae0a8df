package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/secrets"
	"github.com/reviewhub/reviewhub/hub/state"
)

// KeyFile is the secret key file of a hub without secret_key.
func KeyFile(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "secret.key") }

// newSealer is a Sealer for key that also opens what the config's
// accepted_secret_keys sealed and, with a key file, what the key replaced
// by an unfinished `hub rotate-key` sealed (secrets.PreviousKeyFile).
func newSealer(cfg *config.Config, key []byte) (*secrets.Sealer, error) {
	accepted, err := cfg.AcceptedKeys()
	if err != nil {
		return nil, fmt.Errorf("accepted_secret_keys: %w", err)
	}
	if cfg.SecretKey == "" {
		path := secrets.PreviousKeyFile(KeyFile(cfg))
		raw, err := os.ReadFile(path)
		switch {
		case err == nil:
			k, err := secrets.ParseKey(string(raw))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			accepted = append(accepted, k)
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("secret key: %w", err)
		}
	}
	s, err := secrets.New(key, accepted...)
	if err != nil {
		return nil, fmt.Errorf("secret_key: %w", err)
	}
	return s, nil
}

// Rotation is what RotateKey did.
type Rotation struct {
	state.ResealCount
	// NewKeyFile: a new key was generated into the key file (no
	// secret_key configured); Finished: the key file's previous key is
	// forgotten (every value is sealed with the new one).
	NewKeyFile, Finished bool
}

// RotateKey re-seals every secret stored in the state with the hub's key.
// With secret_key configured that is the new key, and the old one is in
// accepted_secret_keys (every hub was restarted so, and may run meanwhile).
// Without, a new key is generated into DATA_DIR/secret.key (the old one
// kept in secret.key.previous and accepted until every value is re-sealed;
// the hub must be stopped). Run again, it finishes what an interrupted run
// left.
func RotateKey(ctx context.Context, cfg *config.Config) (Rotation, error) {
	var r Rotation
	var s *secrets.Sealer
	var err error
	if cfg.SecretKey != "" {
		s, err = sealer(cfg)
	} else {
		var key []byte
		if _, err := os.Stat(KeyFile(cfg)); err != nil {
			return r, fmt.Errorf("secret key file: %w", err)
		}
		var unlock func() error
		unlock, err = lockKeyFile(cfg, true)
		if errors.Is(err, ErrKeyInUse) {
			return r, fmt.Errorf("a hub is running on %s: stop it first (a new key is generated into %s, which a running hub would not know; "+
				"or rotate without stopping with secret_key and accepted_secret_keys: docs/operations.md, \"Key rotation\")", cfg.DataDir, KeyFile(cfg))
		}
		if err != nil {
			return r, err
		}
		defer unlock()
		if key, _, err = secrets.RotateKeyFile(KeyFile(cfg)); err != nil {
			return r, err
		}
		r.NewKeyFile = true
		s, err = newSealer(cfg, key)
	}
	if err != nil {
		return r, err
	}
	db, err := OpenState(ctx, cfg, s)
	if err != nil {
		return r, err
	}
	defer db.Close()
	if r.ResealCount, err = db.Reseal(ctx); err != nil {
		return r, err
	}
	if r.NewKeyFile && r.Changed == 0 {
		if err := secrets.FinishKeyFileRotation(KeyFile(cfg)); err != nil {
			return r, err
		}
		r.Finished = true
	}
	return r, nil
}
