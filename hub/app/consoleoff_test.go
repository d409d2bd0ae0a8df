package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/internal/syncbuf"
)

// `make run` has no admin token: the log says how to turn the console and
// the admin API on, and "/" (and /console/) explain it instead of a JSON
// 404. With a token, "/" leads to the console.
func TestConsoleOffIsExplained(t *testing.T) {
	get := func(h *Hub, path string) (int, string) {
		t.Helper()
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noRedirect.Get("http://" + h.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	start := func(token string, log *slog.Logger) *Hub {
		t.Helper()
		cfg := baseConfig(t)
		cfg.AdminToken = token
		h, err := New(context.Background(), cfg, log, Options{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- h.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil && err != context.Canceled {
				t.Errorf("hub: %v", err)
			}
		})
		waitReady(t, h)
		return h
	}

	var logged syncbuf.Buffer
	h := start("", slog.New(slog.NewTextHandler(&logged, nil)))
	if out := logged.String(); !strings.Contains(out, "HUB_ADMIN_TOKEN") || !strings.Contains(out, "http://"+h.Addr()+"/console/") {
		t.Errorf("the log does not say how to turn the console on:\n%s", out)
	}
	code, body := get(h, "/")
	if code != http.StatusOK || !strings.Contains(body, "no admin token is set") || !strings.Contains(body, "HUB_ADMIN_TOKEN=") {
		t.Errorf("GET / without an admin token: %d %q", code, body)
	}
	if code, body := get(h, "/console/"); code != http.StatusNotFound || !strings.Contains(body, "HUB_ADMIN_TOKEN=") {
		t.Errorf("GET /console/ without an admin token: %d %q", code, body)
	}
	if code, _ := get(h, "/nothing-here"); code != http.StatusNotFound {
		t.Errorf("GET /nothing-here: %d, want 404", code)
	}

	h = start("an-admin-token-0123456789", quietLog())
	if code, _ := get(h, "/"); code != http.StatusSeeOther {
		t.Errorf("GET / with an admin token: %d, want a redirect to the console", code)
	}
}
