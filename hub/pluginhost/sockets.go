package pluginhost

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// SocketDir is the plugin socket directory of a hub whose data directory is
// dataDir: short (Unix socket paths are limited to about 100 bytes), private
// to the user, and the same on every start, so a hub killed by SIGKILL
// cleans up after itself at its next start.
func SocketDir(dataDir string) string {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(os.TempDir(), fmt.Sprintf("reviewhub-%d-%s", os.Getuid(), hex.EncodeToString(sum[:6])))
}

// socketDirPrefix is how go-plugin names the directory it makes per plugin.
const socketDirPrefix = "plugin-dir"

func (h *Host) prepareSocketDir() error {
	if h.opts.SocketDir == "" {
		dir, err := os.MkdirTemp("", "reviewhub-")
		if err != nil {
			return fmt.Errorf("plugin socket dir: %w", err)
		}
		h.opts.SocketDir, h.ownDir = dir, true
		return nil
	}
	dir := h.opts.SocketDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("plugin socket dir: %w", err)
	}
	if err := checkPrivateDir(dir); err != nil {
		return fmt.Errorf("plugin socket dir %s: %w", dir, err)
	}
	if n := cleanStaleSockets(dir, time.Minute); n > 0 {
		h.opts.Logger.Info("removed stale plugin sockets", "dir", dir, "count", n)
	}
	return nil
}

func (h *Host) removeSocketDir() {
	dir := h.opts.SocketDir
	if h.ownDir {
		_ = os.RemoveAll(dir)
		return
	}
	// Another hub sharing the directory (same data dir, PostgreSQL) may
	// still use it: a plugin directory it made a moment ago may be empty
	// until its plugin binds, so empty ones must be a minute old, and only
	// an empty directory is removed.
	cleanStaleSockets(dir, time.Minute)
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
		h.opts.Logger.Warn("plugin socket dir not removed", "dir", dir, "error", err)
	}
}

// cleanStaleSockets removes the per-plugin socket directories in dir that
// nobody listens on any more (their plugin was killed): those with sockets
// that refuse connections, and empty ones older than minAge. It returns how
// many it removed.
func cleanStaleSockets(dir string, minAge time.Duration) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	removed := 0
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), socketDirPrefix) {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		if stale(sub, minAge) && os.RemoveAll(sub) == nil {
			removed++
		}
	}
	return removed
}

func stale(dir string, minAge time.Duration) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	if len(entries) == 0 {
		info, err := os.Stat(dir)
		return err == nil && time.Since(info.ModTime()) >= minAge
	}
	for _, e := range entries {
		if e.Type()&os.ModeSocket == 0 {
			continue
		}
		c, err := net.DialTimeout("unix", filepath.Join(dir, e.Name()), time.Second)
		if err == nil {
			c.Close()
			return false // a live plugin (maybe another hub's)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, os.ErrNotExist) {
			return false
		}
	}
	return true
}
