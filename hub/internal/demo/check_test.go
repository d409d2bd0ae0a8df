package demo

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/check"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// `hub check` against all the real plugins and their fakes (the demo's
// integration, with the hub running): every app gets its lines and one
// page listed, the helpdesk its webhook line, and the check writes nothing
// at the vendors (no new case, no reply).
// Then the helpdesk's channel is pointed elsewhere and the check fails,
// naming the wrong URL without its secret.
func TestCheckAllRealPlugins(t *testing.T) {
	d, ctx := startDemo(t, Omnidesk)
	hubBin := sdktest.Build(t, hubPkg)
	for _, st := range append(Script()[:6:6], gallerySteps(t, Script())[0]) { // reviews in every store
		if err := d.Play(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	// Let the hub deliver them first, so that any later case would be the check's.
	deadline := time.Now().Add(90 * time.Second)
	for d.Fakes.Omnidesk.CaseCount() < 7 {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for 7 cases, have %d", d.Fakes.Omnidesk.CaseCount())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cases := d.Fakes.Omnidesk.CaseCount()

	runCheck := func() (check.Report, int, string) {
		cctx, ccancel := context.WithTimeout(ctx, 3*time.Minute)
		defer ccancel()
		cmd := exec.CommandContext(cctx, hubBin, "check", d.Config.Integration, "--json", "--config", filepath.Join(d.Config.DataDir, "hub.yaml"))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("hub check: %v\n%s", err, stderr.String())
		}
		var rep check.Report
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("hub check --json: %v\n%s\n%s", err, out, stderr.String())
		}
		t.Logf("hub check: exit %d, status %s, counts %v", cmd.ProcessState.ExitCode(), rep.Status, rep.Counts)
		if (cmd.ProcessState.ExitCode() == 0) != rep.OK {
			t.Errorf("exit code %d with ok=%v", cmd.ProcessState.ExitCode(), rep.OK)
		}
		return rep, cmd.ProcessState.ExitCode(), string(out) + stderr.String()
	}
	rep, code, _ := runCheck()
	if code != 0 {
		t.Errorf("hub check against the demo's working accounts exited %d", code)
	}

	line := func(lines []check.Line, name string) (check.Line, bool) {
		for _, l := range lines {
			if l.Name == name {
				return l, true
			}
		}
		return check.Line{}, false
	}
	if rep.Integration != "demo" || rep.Helpdesk.Plugin != "omnidesk" {
		t.Errorf("report of %q with helpdesk %q", rep.Integration, rep.Helpdesk.Plugin)
	}
	if l, ok := line(rep.Helpdesk.Lines, check.LineCredentials); !ok || l.Status != check.OK {
		t.Errorf("omnidesk credentials: %+v", l)
	}
	if _, ok := line(rep.Helpdesk.Lines, check.LineWebhookURL); !ok {
		t.Errorf("no webhook line: %+v", rep.Helpdesk.Lines)
	}
	// The fake Omnidesk's channel posts to this hub.
	if rep.Helpdesk.Webhook.Status != check.WebhookMatch || rep.Helpdesk.Webhook.Hub != d.Config.WebhookURL() {
		t.Errorf("webhook %+v, hub serves %s", rep.Helpdesk.Webhook, d.Config.WebhookURL())
	}
	// Each plugin reports what its vendor lets it know, read-only.
	named := map[string][]string{"": {"staff", "rate limit", "channel"}, AppIOS: {"token", "rate limit", "clock"},
		AppAndroid: {"access token", "quota"}, AppRuStore: {"token", "clock"}, AppGallery: {"token", "reviews", "replying"}}
	for _, n := range named[""] {
		if _, ok := line(rep.Helpdesk.Lines, n); !ok {
			t.Errorf("omnidesk reports no %q line: %+v", n, rep.Helpdesk.Lines)
		}
	}
	want := map[string]string{AppIOS: "appstore", AppIOSPublic: "appstore", AppAndroid: "googleplay", AppRuStore: "rustore", AppGallery: "appgallery"}
	if len(rep.Apps) != len(want) {
		t.Fatalf("%d apps in the report, want %d", len(rep.Apps), len(want))
	}
	for _, a := range rep.Apps {
		if want[a.ID] != a.Store {
			t.Errorf("app %s of store %s", a.ID, a.Store)
		}
		if l, ok := line(a.Lines, check.LineCredentials); !ok || l.Status != check.OK {
			t.Errorf("%s credentials: %+v", a.ID, l)
		}
		for _, n := range named[a.ID] {
			if _, ok := line(a.Lines, n); !ok {
				t.Errorf("%s reports no %q line: %+v", a.ID, n, a.Lines)
			}
		}
		// The public-feed app has no store account: replies refused, said so.
		wantReplies := check.OK
		if a.ID == AppIOSPublic {
			wantReplies = check.Warn
		}
		if l, ok := line(a.Lines, check.LineReplies); !ok || l.Status != wantReplies {
			t.Errorf("%s replies: %+v, want %s", a.ID, l, wantReplies)
		}
		if l, ok := line(a.Lines, check.LineListing); !ok || l.Status == check.Fail || a.Listing == nil {
			t.Errorf("%s listing: %+v", a.ID, l)
		} else if a.Listing.Reviews < 1 && !a.Listing.MorePages {
			// (The public feed's first page is one country's; the review may be on a later one.)
			t.Errorf("%s: the listing shows %d reviews and no more pages, the store has at least one", a.ID, a.Listing.Reviews)
		}
	}
	if n := d.Fakes.Omnidesk.CaseCount(); n > cases {
		t.Errorf("the check created cases: %d → %d", cases, n)
	}

	// The channel posting elsewhere is a failure that names both URLs and
	// keeps the secret out.
	d.Fakes.Omnidesk.SetWebhookURL("https://old-hub.example/hooks/omnidesk/demo?secret=canary-secret-1234")
	rep, code, out := runCheck()
	if code != 1 || rep.Helpdesk.Webhook.Status != check.WebhookMismatch {
		t.Errorf("a wrong webhook URL: exit %d, webhook %+v", code, rep.Helpdesk.Webhook)
	}
	if !strings.Contains(out, "old-hub.example") || strings.Contains(out, "canary-secret-1234") {
		t.Errorf("the mismatch must name the helpdesk's URL without its secret:\n%s", out)
	}
}
