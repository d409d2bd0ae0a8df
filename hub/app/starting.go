package app

import (
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/reviewhub/reviewhub/hub/httpapi"
)

// Serving from the start: the HTTP server serves as soon as the address is
// bound, before the state is opened and the plugins have started (a plugin
// hanging at its handshake takes up to plugins' start timeout). Until New
// is done, /healthz answers ok (the process is alive: a liveness probe
// must not restart it while it starts) and everything else, /readyz
// included, 503 "starting" with Retry-After; then the hub's own handler
// takes over.

// startingRetryAfter is the Retry-After (seconds) of calls while the hub
// starts.
const startingRetryAfter = "5"

// serveEarly starts the HTTP server on the bound listener with a handler
// that answers "starting" until serveAll. Why the server stopped, when it
// was not closed, goes to h.serveErr.
func (h *Hub) serveEarly() {
	h.serveErr = make(chan error, 1)
	h.http = httpapi.NewHTTPServer(h.cfg.Listen, http.HandlerFunc(h.route), h.log)
	go func() {
		if err := h.http.Serve(h.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.serveErr <- fmt.Errorf("http server: %w", err)
		}
	}()
	h.life.onClose("http server", func() error {
		if err := h.http.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
}

// serveAll hands the HTTP server over to the hub's handler.
func (h *Hub) serveAll(handler http.Handler) { h.handler.Store(&handler) }

// route serves with the hub's handler once set, else as a starting hub.
func (h *Hub) route(w http.ResponseWriter, r *http.Request) {
	if hp := h.handler.Load(); hp != nil {
		(*hp).ServeHTTP(w, r)
		return
	}
	if r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	w.Header().Set("Retry-After", startingRetryAfter)
	httpapi.WriteError(w, http.StatusServiceUnavailable, "starting: the hub is opening its state and starting its plugins")
}

// handlerRef is the hub's handler, set once New is done.
type handlerRef = atomic.Pointer[http.Handler]
