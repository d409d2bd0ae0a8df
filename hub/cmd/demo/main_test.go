package main

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/internal/stack"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// `make demo` while another hub answers on the demo's hub port (a
// `make run` still running): the demo exits with status 1, printing the
// error and how to choose other ports, and never says it is running.
func TestDemoExitsWhenItsHubPortIsTaken(t *testing.T) {
	taken := stack.TakenAddr(t)
	ui, err := stack.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	bin := sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/cmd/demo")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--bin", t.TempDir(), "--data", filepath.Join(t.TempDir(), "demo"),
		"--hub", taken, "--ui", ui)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || ctx.Err() != nil {
		t.Fatalf("demo: %v (context %v), want exit status 1\nstdout:\n%s\nstderr:\n%s", err, ctx.Err(), stdout.String(), stderr.String())
	}
	if e := stderr.String(); !strings.Contains(e, "address already in use") || !strings.Contains(e, taken) || !strings.Contains(e, "make demo HUB=") {
		t.Errorf("stderr does not name the taken address and the way out:\n%s", e)
	}
	if strings.Contains(stdout.String(), "demo is running") {
		t.Errorf("the demo said it runs:\n%s", stdout.String())
	}
}
