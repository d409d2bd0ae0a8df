//go:build !unix

package app

import (
	"errors"

	"github.com/reviewhub/reviewhub/hub/config"
)

// ErrKeyInUse: a hub holds the key file's lock.
var ErrKeyInUse = errors.New("the data_dir's secret key is in use")

// lockKeyFile locks nothing here: no flock; `hub rotate-key` still asks the
// hub's address.
func lockKeyFile(*config.Config, bool) (func() error, error) { return func() error { return nil }, nil }
