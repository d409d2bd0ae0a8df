package app

import (
	"log/slog"
	"sync"
)

// lifecycle closes what the hub opened, in reverse order: each resource
// registers its close as soon as it is open, so a start-up that fails
// half-way closes exactly what it opened, and shutdown closes everything.
type lifecycle struct {
	log     *slog.Logger
	mu      sync.Mutex
	closers []closer
}

type closer struct {
	name  string
	close func() error
}

// onClose registers the close of an opened resource.
func (l *lifecycle) onClose(name string, close func() error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closers = append(l.closers, closer{name, close})
}

// closeAll runs the registered closes, last opened first, once each;
// failures are logged (they must not hide the error that led here).
func (l *lifecycle) closeAll() {
	l.mu.Lock()
	cs := l.closers
	l.closers = nil
	l.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		if err := cs[i].close(); err != nil && l.log != nil {
			l.log.Warn("close "+cs[i].name, "error", err)
		}
	}
}
