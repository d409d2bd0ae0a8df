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

// The Reviews pages in Chromium: the list in English, a Chinese search of
// one character through the search box, a Japanese one of two, a review's
// page with its versions and the answers' timelines, the list in Russian;
// every control labelled; an axe-core check of each page when axe-core is
// installed. Screenshots go to $CONSOLE_SCREENSHOTS (docs/console/).
func TestReviewsInBrowser(t *testing.T) {
	chromium, node := browserDeps(t)
	base := console.ReviewsTestServer(t)
	shots := os.Getenv("CONSOLE_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(t.TempDir(), "shots")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "reviews.mjs")
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
