package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
	"github.com/reviewhub/reviewhub/hub/internal/syncbuf"
	"github.com/reviewhub/reviewhub/hub/statusview"
	odfake "github.com/reviewhub/reviewhub/plugins/omnidesk/fake"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// Issue 24: a helpdesk that starts refusing (Omnidesk's 400
// channel_not_found) makes the app failing, with the vendor's reason and
// since when, in the status API (its app and the review), `hub status` and
// the metric, with one error line naming the dead letter; after the fix
// and the dead letter retried, the app is ok again everywhere.
func TestHelpdeskRefusingMakesTheAppFailingUntilFixed(t *testing.T) {
	od := odfake.New(odfake.Options{Subdomain: "acme", StaffEmail: "admin@acme.example", APIKey: "k"})
	logs := &syncbuf.Buffer{}
	e := helpdeskEnv(t, "omnidesk", od, func(c *config.Config) {
		c.AdminToken = adminToken
		c.Health.CheckEvery = 50 * time.Millisecond
	})
	e.logw = logs
	e.startHub(t)
	metricsURL := e.hub.MetricsURL()
	ios := map[string]string{"integration": "acme", "app": "ios"}
	row := func() statusview.Row {
		t.Helper()
		rows, err := statusview.Fetch(context.Background(), http.DefaultClient, "http://"+e.hub.Addr(), adminToken, "acme")
		if err != nil || len(rows) != 1 {
			t.Fatalf("status: %v %v", rows, err)
		}
		return rows[0]
	}
	healthOf := func(st map[string]any) (state, reason string) {
		apps, _ := st["apps"].([]any)
		if len(apps) != 1 {
			t.Fatalf("status apps %v", st["apps"])
		}
		h, _ := apps[0].(map[string]any)["health"].(map[string]any)
		state, _ = h["state"].(string)
		reason, _ = h["reason"].(string)
		return state, reason
	}
	metric := func(health string) float64 {
		labels := map[string]string{"health": health}
		for k, v := range ios {
			labels[k] = v
		}
		return value(scrape(t, metricsURL), "reviewhub_app_health", labels)
	}

	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Author: "Ann", Rating: 2, Text: "Crashes on start", Language: "en"})
	eventually(t, "the first case", func() bool { _, ok := od.CaseByReviewID("r1"); return ok })
	eventually(t, "ok everywhere", func() bool {
		s, _ := healthOf(e.status(t))
		return s == sdk.HealthOK && row().Health == sdk.HealthOK && metric(sdk.HealthOK) == 1
	})

	// The channel is switched off: new cases are refused for good.
	od.SetChannelActive(false)
	e.backend.PutReview(testbackend.Review{ID: "r2", App: "app1", Author: "Bob", Rating: 1, Text: "Lost my data", Language: "en"})
	var dead []bus.DeadLetter
	eventually(t, "the dead letter", func() bool {
		code, _, raw := e.api(t, "GET", "/api/deadletters", adminToken, "")
		return code == 200 && json.Unmarshal([]byte(raw), &dead) == nil && len(dead) == 1 && strings.Contains(dead[0].Reason, "channel_not_found")
	})
	// The status is computed from the state when asked: the app is failing
	// as soon as the dead letter exists, not a poll or health check later.
	st := e.status(t)
	if s, reason := healthOf(st); s != sdk.HealthFailing || !strings.Contains(reason, "channel_not_found") {
		t.Errorf("status API health %q (%s), want failing with the vendor's reason", s, reason)
	}
	if r := row(); r.Health != sdk.HealthFailing || r.Since.IsZero() || !strings.Contains(r.Reason, "channel_not_found") {
		t.Errorf("hub status row %+v, want failing with the reason and since when", r)
	}
	recent := fmt.Sprint(st["recent_reviews"])
	if !strings.Contains(recent, "delivery_error") || !strings.Contains(recent, "channel_not_found") {
		t.Errorf("recent reviews %s: r2 does not say its delivery failed", recent)
	}
	eventually(t, "the metric failing", func() bool { return metric(sdk.HealthFailing) == 1 && metric(sdk.HealthOK) == 0 })
	// The command itself, against this hub.
	hubBin := sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/cmd/hub")
	cmd := exec.Command(hubBin, "status", "acme", "--hub", "http://"+e.hub.Addr())
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "HUB_ADMIN_TOKEN="+adminToken, "HUB_CONFIG=", "HUB_DATA_DIR="+cmd.Dir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), sdk.HealthFailing) || !strings.Contains(string(out), "channel_not_found") {
		t.Errorf("hub status: %v\n%s", err, out)
	}
	// One error line for the dead letter, naming integration, app, review
	// and the vendor's reason.
	var lines []map[string]any
	for _, m := range jsonLines(logs) {
		if m["level"] == "ERROR" && m["review"] == "r2" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 1 || lines[0]["integration"] != "acme" || lines[0]["app"] != "ios" ||
		!strings.Contains(fmt.Sprint(lines[0]["reason"]), "channel_not_found") {
		t.Errorf("error lines of r2's dead letter: %v, want one with integration, app, review and reason", lines)
	}

	// The fix: the channel on again, the dead letter retried.
	od.SetChannelActive(true)
	if code, _, body := e.api(t, "POST", fmt.Sprintf("/api/deadletters/%d/retry", dead[0].Offset), adminToken, ""); code != 200 {
		t.Fatalf("retry: %d %s", code, body)
	}
	eventually(t, "the retried review's case", func() bool { _, ok := od.CaseByReviewID("r2"); return ok })
	eventually(t, "ok everywhere again", func() bool {
		s, _ := healthOf(e.status(t))
		return s == sdk.HealthOK && row().Health == sdk.HealthOK && metric(sdk.HealthOK) == 1 && metric(sdk.HealthFailing) == 0
	})
	if recent := fmt.Sprint(e.status(t)["recent_reviews"]); strings.Contains(recent, "channel_not_found") {
		t.Errorf("a delivered review still says its delivery failed: %s", recent)
	}
}

// Issue 24: saving a complete integration runs the read-only check in the
// background; a helpdesk webhook pointing elsewhere shows in the app's
// health (failing) until a later check passes; the same store app in two
// integrations on one helpdesk is warned (degraded), and a distinct one
// is ok.
func TestSavingChecksTheIntegration(t *testing.T) {
	e := startWithAdminAt(t, "https://hub.example/")
	appHealth := func() (string, string) {
		t.Helper()
		code, out, raw := e.api(t, "GET", "/api/integrations/beta/status", adminToken, "")
		if code != 200 {
			t.Fatalf("status: %d %s", code, raw)
		}
		apps, _ := out["apps"].([]any)
		if len(apps) != 1 {
			return "", ""
		}
		h, _ := apps[0].(map[string]any)["health"].(map[string]any)
		s, _ := h["state"].(string)
		r, _ := h["reason"].(string)
		return s, r
	}
	save := func(storeAppID string) {
		t.Helper()
		body := `{"id":"beta","helpdesk":{"plugin":"testdesk","settings":{"url":"` + e.srv.URL + `","secret":"` + secret + `"}},
			"apps":[{"id":"android","store":"teststore","store_app_id":"` + storeAppID + `","settings":{"url":"` + e.srv.URL + `"}}]}`
		if code, _, raw := e.api(t, "PUT", "/api/integrations/beta", adminToken, body); code != 200 && code != 201 {
			t.Fatalf("save: %d %s", code, raw)
		}
	}

	e.backend.SetWebhookURL("https://old-hub.example/hooks/testdesk/beta?secret=" + secret)
	if code, _, raw := e.api(t, "POST", "/api/integrations", adminToken, `{"id":"beta"}`); code != 201 {
		t.Fatalf("create: %d %s", code, raw)
	}
	save("app2")
	eventually(t, "the webhook mismatch in the health", func() bool {
		s, r := appHealth()
		return s == sdk.HealthFailing && strings.Contains(r, "webhook URL")
	})

	// The helpdesk fixed; saved again with the store app acme also has.
	e.backend.SetWebhookURL("https://hub.example/hooks/testdesk/beta?secret=" + secret)
	save("app1")
	eventually(t, "the duplicate warned", func() bool {
		s, r := appHealth()
		return s == sdk.HealthDegraded && strings.Contains(r, `integration "acme"`)
	})
	// Its own store app again: the check passes.
	save("app2")
	eventually(t, "ok", func() bool { s, _ := appHealth(); return s == sdk.HealthOK })
}
