package stack

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// A server already answering /readyz at the hub's address would pass for
// the hub (which then exits unable to listen): StartHub refuses the taken
// address before starting anything.
func TestStartHubRefusesATakenAddress(t *testing.T) {
	taken := TakenAddr(t)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := StartHub(ctx, filepath.Join(t.TempDir(), "never-started"), "hub.yaml", taken, os.Stderr)
	if err == nil {
		_ = h.Stop()
		t.Fatal("StartHub took an address another server answers on")
	}
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), taken) {
		t.Errorf("error %q, want address in use naming %s", err, taken)
	}
}

// A hub that exits while starting is an error naming what the hub said.
func TestStartHubNamesTheHubsError(t *testing.T) {
	bin := sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/cmd/hub")
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "hub.yaml")
	if err := os.WriteFile(cfg, []byte("listen: "+addr+"\nno_such_key: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var log strings.Builder
	h, err := StartHub(ctx, bin, cfg, addr, &log)
	if err == nil {
		_ = h.Stop()
		t.Fatal("a hub with a bad config started")
	}
	if !strings.Contains(err.Error(), "exited while starting") || !strings.Contains(err.Error(), "no_such_key") {
		t.Errorf("error %q does not name the hub's error; the hub said:\n%s", err, log.String())
	}
}
