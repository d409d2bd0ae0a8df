package console_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/console"
)

// TestHistoryInBrowser runs browsertest/history.mjs: an app's history
// page, an import started with its button and its progress updating,
// Russian, axe-core on each page; screenshots with CONSOLE_SCREENSHOTS.
func TestHistoryInBrowser(t *testing.T) {
	chromium, node := browserDeps(t)
	base := console.HistoryTestServer(t)
	shots := os.Getenv("CONSOLE_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(t.TempDir(), "shots")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "history.mjs")
	cmd.Dir = "browsertest"
	cmd.Env = append(os.Environ(), "HUB_URL="+base, "ADMIN_TOKEN="+console.TestToken, "SCREENSHOTS="+shots, "CHROMIUM="+chromium)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("browser test output:\n%s", out.String())
	if err != nil {
		t.Fatalf("browser test: %v", err)
	}
}
