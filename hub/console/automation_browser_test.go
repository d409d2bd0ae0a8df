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

// The automation editor and the approvals page in Chromium: a rule made
// through the form (a failed save's errors beside their fields, what was
// typed kept), tried on the reviews, saved, moved, switched off, a rule
// deleted after its question, Russian; the drafts waiting counted in the
// navigation, one edited then approved, one rejected. Every page: controls
// labelled, ids unique, no serious or critical axe-core violation.
// Screenshots go to $CONSOLE_SCREENSHOTS (docs/console/).
func TestAutomationInBrowser(t *testing.T) {
	chromium, node := browserDeps(t)
	base := console.AutomationTestServer(t)
	shots := os.Getenv("CONSOLE_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(t.TempDir(), "shots")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "automation.mjs")
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
