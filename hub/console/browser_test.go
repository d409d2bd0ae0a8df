package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/reviewhub/reviewhub/hub/console"
	"github.com/reviewhub/reviewhub/hub/internal/stack"
	"github.com/reviewhub/reviewhub/hub/internal/syncbuf"
	odfake "github.com/reviewhub/reviewhub/plugins/omnidesk/fake"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// browserDeps finds Chromium, node and playwright-core; without them the
// test is skipped with a message, except in CI, where it must run.
func browserDeps(t *testing.T) (chromium, node string) {
	t.Helper()
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	var missing []string
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, "Chromium at "+chromium+" (apt-get install chromium)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node (apt-get install nodejs)")
	}
	if _, err := os.Stat(filepath.Join("browsertest", "node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "playwright-core (cd hub/console/browsertest && npm ci)")
	}
	if len(missing) > 0 {
		msg := "the console's browser test needs " + strings.Join(missing, ", ")
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: .ci/run installs them)")
		}
		t.Skip(msg)
	}
	return chromium, node
}

// runBrowserScript runs one of browsertest's scripts against the server
// start gives it (a test server of this package), with the admin token,
// Chromium and where screenshots go ($CONSOLE_SCREENSHOTS, else a
// temporary folder); the script's output is logged, its failure fails t.
func runBrowserScript(t *testing.T, script string, start func(*testing.T) string) {
	t.Helper()
	chromium, node := browserDeps(t)
	base := start(t)
	shots := os.Getenv("CONSOLE_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(t.TempDir(), "shots")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = "browsertest"
	cmd.Env = append(os.Environ(), "HUB_URL="+base, "ADMIN_TOKEN="+console.TestToken, "SCREENSHOTS="+shots, "CHROMIUM="+chromium)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("browser test output (%s):\n%s", script, out.String())
	if err != nil {
		t.Fatalf("browser test %s: %v", script, err)
	}
}

// The console in Chromium against the real hub binary with its four plugin
// processes and the project's fakes: sign-in (a wrong token refused), a
// forged post without the CSRF token refused, an integration created step by
// step (partial save, a field error, completion), the connection check, the
// reviews that a typo in the helpdesk channel sent to the dead letters,
// retried (one) and dropped (the others) after the fix, the reviews arriving
// in the status view, Russian, sign-out. Screenshots go to
// $CONSOLE_SCREENSHOTS (make console-screenshots: docs/console/).
func TestConsoleInBrowser(t *testing.T) {
	chromium, node := browserDeps(t)
	plugins := map[string]string{}
	for _, p := range []string{"appstore", "googleplay", "rustore", "omnidesk"} {
		plugins[p] = sdktest.Build(t, "github.com/reviewhub/reviewhub/plugins/"+p+"/cmd/hub-plugin-"+p)
	}
	hubBin := sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/cmd/hub")

	fakes, err := stack.StartFakes(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fakes.Close)
	const pkg = "com.acme.app"
	fakes.GooglePlay.AddApp(pkg)
	now := time.Now().UTC()
	reviews := []sdk.Review{
		{ID: "gp-1", AppID: pkg, Author: "Kenji", Rating: 1, Text: "アプリが起動しません。毎回クラッシュします。", Language: "ja", CreatedAt: now, UpdatedAt: now},
		{ID: "gp-2", AppID: pkg, Author: "Иван", Rating: 2, Text: "Не хватает тёмной темы, глаза устают.", Language: "ru", CreatedAt: now, UpdatedAt: now},
		{ID: "gp-3", AppID: pkg, Author: "Ann", Rating: 3, Text: "Works, but the sync is slow on large lists.", Language: "en", CreatedAt: now, UpdatedAt: now},
		{ID: "gp-4", AppID: pkg, Author: "Max", Rating: 5, Text: "Perfect app, thank you all.", Language: "en", CreatedAt: now, UpdatedAt: now},
	}
	for _, r := range reviews {
		fakes.GooglePlay.PutReview(pkg, r)
	}

	addr, err := stack.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	const token = "console-test-admin-token-0123456789"
	const webhookSecret = "console-webhook-secret"
	dataDir := t.TempDir()
	cfg := map[string]any{
		"listen": addr, "data_dir": dataDir, "poll_interval": "1s", "admin_token": token,
		"plugins": map[string]any{"dir": filepath.Join(dataDir, "none"), "paths": plugins},
		"log":     map[string]any{"level": "info", "format": "text"},
	}
	raw, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dataDir, "hub.yaml")
	if err := os.WriteFile(cfgPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	hubURL := "http://" + addr
	// The helpdesk's channel points at the hub's webhook (as its admin would
	// paste it from the console).
	fakes.Omnidesk.SetWebhookURL(hubURL + "/hooks/omnidesk/acme?secret=" + webhookSecret)
	hubLog := &syncbuf.Buffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	hub, err := stack.StartHub(ctx, hubBin, cfgPath, addr, hubLog)
	if err != nil {
		t.Fatalf("%v\n%s", err, hubLog.String())
	}
	t.Cleanup(func() {
		if err := hub.Stop(); err != nil {
			t.Errorf("hub stop: %v", err)
		}
		if t.Failed() {
			t.Logf("hub log:\n%s", hubLog.String())
		}
	})

	shots := os.Getenv("CONSOLE_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(t.TempDir(), "shots")
	}
	hd, _ := json.Marshal(fakes.Omnidesk.Settings(fakes.URL["omnidesk"], webhookSecret))
	st, _ := json.Marshal(fakes.GooglePlay.Settings(fakes.URL["googleplay"]))
	cmd := exec.CommandContext(ctx, node, "console.mjs")
	cmd.Dir = "browsertest"
	cmd.Env = append(os.Environ(), "HUB_URL="+hubURL, "ADMIN_TOKEN="+token, "SCREENSHOTS="+shots,
		"HELPDESK_SETTINGS="+string(hd), "STORE_SETTINGS="+string(st), "STORE_APP_ID="+pkg,
		"WRONG_CHANNEL="+odfake.ChannelCode+"-typo", "CHROMIUM="+chromium,
		// gp-1, gp-2 and gp-3 pass the ratings filter (1, 2, 3) the browser sets.
		"DEAD_LETTERS=3")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Logf("browser test output:\n%s", out.String())
	if err != nil {
		t.Fatalf("browser test: %v", err)
	}

	// What the browser did reached the helpdesk: the retried review has its
	// case, the dropped ones have none, the 5-star review was filtered out.
	retried := regexp.MustCompile(`retried: (\d+)`).FindAllStringSubmatch(out.String(), -1)
	if len(retried) < 2 {
		t.Fatalf("the browser test retried %d dead letters, want 2 or more", len(retried))
	}
	var withCase []string
	for _, r := range reviews {
		if _, ok := fakes.Omnidesk.CaseByReviewID(r.ID); ok {
			withCase = append(withCase, r.ID)
		}
	}
	if len(withCase) != len(retried) {
		t.Errorf("reviews with a case: %v, want one per retried dead letter (%d)", withCase, len(retried))
	}
	if _, ok := fakes.Omnidesk.CaseByReviewID("gp-4"); ok {
		t.Error("the 5-star review passed the ratings filter (1, 2, 3)")
	}
}
