package app

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/pluginhost"
)

// N9: while a plugin hangs at its handshake, /healthz answers ok from the
// moment the address is bound, and /readyz (and the rest) 503 "starting".
func TestHealthzAnswersWhilePluginsStart(t *testing.T) {
	cfg := baseConfig(t)
	plugins := filepath.Join(t.TempDir(), "plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(plugins, "hub-plugin-hang"), []byte("#!/bin/sh\nexec sleep 3600\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg.Plugins.Dir = plugins
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		h, err := New(ctx, cfg, quietLog(), Options{Host: pluginhost.Options{StartTimeout: time.Hour}})
		if err == nil {
			h.closeAll()
		}
		done <- err
	}()
	get := func(path string) (int, string, error) {
		resp, err := http.Get("http://" + cfg.Listen + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b) + " Retry-After=" + resp.Header.Get("Retry-After"), nil
	}
	var code int
	var body string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if code, body, err = get("/healthz"); err == nil {
			break
		}
	}
	if code != http.StatusOK {
		t.Fatalf("/healthz while a plugin starts: %d %s (%v)", code, body, err)
	}
	select {
	case err := <-done:
		t.Fatalf("New returned while its plugin hangs: %v", err)
	default:
	}
	for _, path := range []string{"/readyz", "/api/integrations", "/hooks/x/y"} {
		if code, body, err := get(path); err != nil || code != http.StatusServiceUnavailable {
			t.Errorf("%s while a plugin starts: %d %s (%v), want 503", path, code, body, err)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Error("New succeeded with its start cancelled")
		}
	case <-time.After(time.Minute):
		t.Fatal("New did not return after its context was cancelled")
	}
	if _, _, err := get("/healthz"); err == nil {
		t.Error("the HTTP server still serves after New failed")
	}
}
