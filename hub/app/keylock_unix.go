//go:build unix

package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/reviewhub/reviewhub/hub/config"
)

// keyLockFile is held (shared) by a serving hub whose key is the data
// dir's key file, and taken exclusively by `hub rotate-key` rotating that
// file: a rotation never runs beside a hub that would go on sealing with
// the old key, whatever address it listens on.
func keyLockFile(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "secret.key.lock") }

// ErrKeyInUse: a hub holds the key file's lock.
var ErrKeyInUse = errors.New("the data_dir's secret key is in use (secret.key.lock held)")

// lockKeyFile takes the key file's lock, shared (a hub) or exclusive (a
// rotation), without waiting; the returned func releases it.
func lockKeyFile(cfg *config.Config, exclusive bool) (func() error, error) {
	f, err := os.OpenFile(keyLockFile(cfg), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("key file lock: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrKeyInUse
		}
		return nil, fmt.Errorf("key file lock %s: %w", keyLockFile(cfg), err)
	}
	return f.Close, nil // closing the file releases the lock
}
