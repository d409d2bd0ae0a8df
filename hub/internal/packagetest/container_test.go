// Package packagetest runs the release artifacts as an operator would:
// the OCI image under podman against PostgreSQL with the project's fakes
// (here), the Debian package (scripts/package-test.sh). `make package-test`
// builds the image and sets REVIEWHUB_IMAGE; without it these tests are
// skipped (with REVIEWHUB_PACKAGE_TEST=1 they fail instead).
package packagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
	"github.com/reviewhub/reviewhub/hub/internal/stack"
	"github.com/reviewhub/reviewhub/sdk"
)

func image(t *testing.T) string {
	t.Helper()
	img := os.Getenv("REVIEWHUB_IMAGE")
	if img == "" {
		if os.Getenv("REVIEWHUB_PACKAGE_TEST") == "1" {
			t.Fatal("REVIEWHUB_IMAGE is not set (make package-test sets it)")
		}
		t.Skip("REVIEWHUB_IMAGE not set: run make package-test")
	}
	return img
}

func podman(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("podman", args...)
	cmd.Env = append(os.Environ(), env...)
	if os.Getenv("CONTAINERS_CONF") == "" {
		// The project's podman settings (runc, no default ulimits), as the Makefile uses them.
		conf, err := filepath.Abs("../../../deploy/podman/containers.conf")
		if err != nil {
			t.Fatal(err)
		}
		cmd.Env = append(cmd.Env, "CONTAINERS_CONF="+conf)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func random(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// The image holds nothing but the static binaries, certificates and time
// zones: the hub and every plugin run in it.
func TestImageRunsTheHubAndEveryPlugin(t *testing.T) {
	img := image(t)
	out, err := podman(t, nil, "run", "--rm", "--network", "none", img, "version")
	if err != nil || !strings.Contains(out, "plugin protocol:") {
		t.Fatalf("hub version in the image: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	out, err = podman(t, nil, "run", "--rm", "--network", "none", img, "plugins")
	if err != nil {
		t.Fatalf("hub plugins in the image: %v\n%s", err, out)
	}
	for _, p := range []string{"appstore", "googleplay", "rustore", "appgallery", "omnidesk", "zendesk", "libretranslate", "deepl"} {
		if !strings.Contains(out, "\n"+p+" ") || strings.Contains(out, "failed") {
			t.Errorf("plugin %s does not run in the image:\n%s", p, out)
		}
	}
	out, err = podman(t, nil, "image", "inspect", "--format", "{{.Config.User}} {{json .Config.Volumes}} {{index .Labels \"org.opencontainers.image.version\"}}", img)
	if err != nil || !strings.HasPrefix(out, "10001:10001 ") || !strings.Contains(out, `"/data"`) || strings.HasSuffix(strings.TrimSpace(out), " ") {
		t.Errorf("image config (user, volume, version label): %v %q", err, out)
	}
}

// The image against PostgreSQL, configured by HUB_* variables alone: it
// becomes ready, an integration made through the admin API turns an App
// Store review into an Omnidesk case and publishes the answer, and SIGTERM
// stops it cleanly.
func TestImageServesAnIntegrationOnPostgres(t *testing.T) {
	img := image(t)
	dsn := pgtest.DSN(t)
	fakes, err := stack.StartFakes(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fakes.Close()
	addr, err := stack.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	token := "pkgtest-" + random(t)
	name := "reviewhub-pkgtest-" + random(t)
	// The secrets reach podman through its environment (-e NAME without a
	// value), never its command line.
	env := []string{"HUB_STATE_DSN=" + dsn, "HUB_ADMIN_TOKEN=" + token, "HUB_SECRET_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	start := time.Now()
	if out, err := podman(t, env, "run", "-d", "--name", name, "--network", "host",
		"-e", "HUB_LISTEN="+addr, "-e", "HUB_PUBLIC_URL=http://"+addr, "-e", "HUB_STATE_DRIVER=postgres",
		"-e", "HUB_STATE_DSN", "-e", "HUB_ADMIN_TOKEN", "-e", "HUB_SECRET_KEY", "-e", "HUB_LOG_LEVEL=debug", img); err != nil {
		t.Fatalf("podman run: %v\n%s", err, out)
	}
	defer func() {
		if t.Failed() {
			logs, _ := podman(t, nil, "logs", name)
			t.Logf("hub log:\n%s", logs)
		}
		_, _ = podman(t, nil, "rm", "-f", "-t", "0", name)
	}()
	base := "http://" + addr
	eventually(t, 2*time.Minute, "/healthz", func() bool { return get(base+"/healthz") == 200 })
	eventually(t, 2*time.Minute, "/readyz", func() bool { return get(base+"/readyz") == 200 })
	t.Logf("start to ready: %v", time.Since(start).Round(time.Millisecond))

	const storeAppID, reviewID = "1000000001", "pkg-review-1"
	fakes.AppStore.AddApp(storeAppID)
	fakes.AppStore.PutReview(storeAppID, sdk.Review{ID: reviewID, AppID: storeAppID, Author: "Ann", Rating: 2,
		Title: "Crashes", Text: "It crashes when I open the settings", Language: "en", Country: "US",
		CreatedAt: time.Now().Add(-time.Minute), UpdatedAt: time.Now().Add(-time.Minute)})
	const secret = "pkgtest-webhook-secret"
	desk, _ := fakes.HelpdeskSettings("omnidesk", secret)
	body, _ := json.Marshal(map[string]any{
		"id": "pkg", "name": "Package test",
		"helpdesk": map[string]any{"plugin": "omnidesk", "settings": desk},
		"apps": []any{map[string]any{"id": "ios", "store": "appstore", "store_app_id": storeAppID,
			"settings": fakes.AppStore.Settings(fakes.URL["appstore"]), "poll_interval": "1s"}},
	})
	code, raw := api(t, base, token, "POST", "/api/integrations", body)
	if code != 201 || !strings.Contains(raw, `"complete":true`) {
		t.Fatalf("create integration: %d %s", code, raw)
	}
	fakes.Omnidesk.SetWebhookURL(base + "/hooks/omnidesk/pkg?secret=" + secret)
	eventually(t, time.Minute, "the review's case in Omnidesk", func() bool { _, ok := fakes.Omnidesk.CaseByReviewID(reviewID); return ok })
	c, _ := fakes.Omnidesk.CaseByReviewID(reviewID)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := fakes.Omnidesk.Answer(ctx, c.ID, "Thanks Ann, fixed in 2.1"); err != nil {
		t.Fatalf("answer: %v", err)
	}
	eventually(t, time.Minute, "the answer in the App Store", func() bool {
		text, ok := fakes.AppStore.ReplyText(storeAppID, reviewID)
		return ok && text == "Thanks Ann, fixed in 2.1"
	})

	if out, err := podman(t, nil, "stop", "-t", "40", name); err != nil {
		t.Fatalf("podman stop: %v\n%s", err, out)
	}
	out, _ := podman(t, nil, "inspect", "--format", "{{.State.ExitCode}}", name)
	if strings.TrimSpace(out) != "0" {
		t.Errorf("exit code after SIGTERM: %q, want 0", out)
	}
	logs, _ := podman(t, nil, "logs", name)
	for _, s := range []string{token, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", secret} {
		if strings.Contains(logs, s) {
			t.Errorf("a secret is in the hub's log")
		}
	}
	if strings.Contains(logs, "postgres://") && strings.Contains(logs, "search_path") {
		t.Errorf("the DSN is in the hub's log")
	}
}

func get(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func api(t *testing.T, base, token, method, path string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func eventually(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
