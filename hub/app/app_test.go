package app

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
)

var testKey = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// baseConfig is a hub without plugins or integrations on SQLite in a
// temporary directory.
func baseConfig(t *testing.T) *config.Config {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.Parse("test", []byte(fmt.Sprintf("listen: 127.0.0.1:0\ndata_dir: %s\nplugins: {dir: %s}\n",
		dir, filepath.Join(dir, "no-plugins"))))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// M4: hubs starting together on an empty PostgreSQL database all start
// (schema creation of state and bus is serialised by one lock).
func TestHubsStartTogetherOnEmptyPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	const hubs = 4
	cfgs := make([]*config.Config, hubs)
	for i := range cfgs {
		cfg := baseConfig(t)
		cfg.State.Driver, cfg.Bus.Backend, cfg.State.DSN, cfg.SecretKey = "postgres", "postgres", dsn, testKey
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		cfgs[i] = cfg
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	started := make([]*Hub, hubs)
	errs := make([]error, hubs)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range hubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			started[i], errs[i] = New(ctx, cfgs[i], quietLog(), Options{Subscriber: bus.SubscriberConfig{PollInterval: 100 * time.Millisecond}})
		}()
	}
	close(gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("hub %d failed to start: %v", i, err)
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, hubs)
	running := 0
	for _, h := range started {
		if h == nil {
			continue
		}
		running++
		go func() { done <- h.Run(runCtx) }()
	}
	for _, h := range started {
		if h == nil {
			continue
		}
		waitReady(t, h)
	}
	stop()
	for range running {
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
}

// waitReady polls /readyz (bounded) until it answers 200.
func waitReady(t *testing.T, h *Hub) {
	t.Helper()
	var last string
	for range 300 {
		resp, err := http.Get("http://" + h.Addr() + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("hub at %s never became ready: %s", h.Addr(), last)
}

// H2's second cause: a bus that failed to open is a nil bus.Bus, not a
// typed nil whose Close panics in the start-up cleanup.
func TestOpenBusErrorIsANilInterface(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			cfg := baseConfig(t)
			cfg.SecretKey = testKey
			if driver == "postgres" {
				cfg.State.Driver, cfg.Bus.Backend, cfg.State.DSN = "postgres", "postgres", pgtest.DSN(t)
			}
			db, err := OpenState(context.Background(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			db.Close() // every statement now fails
			b, err := OpenBus(context.Background(), cfg, db, quietLog(), bus.SubscriberConfig{})
			if err == nil {
				t.Fatal("opened a bus on a closed database")
			}
			if b != nil {
				t.Errorf("got a non-nil %T with the error %v", b, err)
			}
		})
	}
}

// L3: a data dir created by someone else with 0755 is made private at start.
func TestDataDirIsMadePrivate(t *testing.T) {
	cfg := baseConfig(t)
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.State.Path = filepath.Join(cfg.DataDir, "hub.db")
	if err := os.Mkdir(cfg.DataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(cfg.DataDir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	h, err := New(context.Background(), cfg, quietLog(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	h.closeAll()
	fi, err := os.Stat(cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("data dir has mode %s, want 0700", perm)
	}
}

// A router that Watermill closes by itself stops the hub with a clear
// error, and readiness says so: no webhook is accepted with nobody to
// handle it.
func TestRouterStoppingOnItsOwnStopsTheHub(t *testing.T) {
	cfg := baseConfig(t)
	h, err := New(context.Background(), cfg, quietLog(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Run(context.Background()) }()
	deadline := time.Now().Add(30 * time.Second)
	for h.ready() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the hub never became ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := h.router.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "message router stopped on its own") {
			t.Errorf("Run returned %v, want the router's stop named", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its router stopped")
	}
	if err := h.ready(); err == nil {
		t.Error("ready with a stopped router")
	}
}
