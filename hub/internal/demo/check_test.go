package demo

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/check"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// `hub check` against all four real plugins and their fakes (the demo's
// integration, with the hub running): every app gets its lines and one
// page listed, the helpdesk its webhook line, and the check writes nothing
// at the vendors (no new case, no reply).
//
// What is asserted is what every plugin does today. Once the plugins'
// CheckCredentials report rights, quotas and the helpdesk's webhook URL,
// tighten: exit code 0, the webhook "match", the public-feed app's
// "replies" a warning and every other app able to reply.
func TestCheckAllRealPlugins(t *testing.T) {
	plugins := map[string]string{}
	for _, p := range []string{"appstore", "googleplay", "rustore", "omnidesk"} {
		plugins[p] = sdktest.Build(t, "github.com/reviewhub/reviewhub/plugins/"+p)
	}
	hubBin := sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/cmd/hub")
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *Demo, 1)
	done := make(chan error, 1)
	hubLog := &syncWriter{b: &strings.Builder{}}
	go func() {
		done <- Run(ctx, Options{HubBin: hubBin, Plugins: plugins, DataDir: t.TempDir(), Script: []Step{},
			PollInterval: time.Second, Out: io.Discard, HubLog: hubLog, Ready: func(d *Demo) { ready <- d }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
		if t.Failed() {
			t.Logf("hub log:\n%s", hubLog.String())
		}
	})
	var d *Demo
	select {
	case d = <-ready:
	case err := <-done:
		t.Fatalf("demo stopped: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("demo did not start")
	}
	for _, st := range Script()[:6] { // reviews in every store
		if err := d.Play(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	// Let the hub deliver them first, so that any later case would be the check's.
	deadline := time.Now().Add(90 * time.Second)
	for d.Fakes.Omnidesk.CaseCount() < 6 {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for 6 cases, have %d", d.Fakes.Omnidesk.CaseCount())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cases := d.Fakes.Omnidesk.CaseCount()

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
	// The fake Omnidesk sends to this hub: if the plugin says where, it must match.
	if rep.Helpdesk.Webhook.Status == check.WebhookMismatch || rep.Helpdesk.Webhook.Hub != d.Config.WebhookURL() {
		t.Errorf("webhook %+v, hub serves %s", rep.Helpdesk.Webhook, d.Config.WebhookURL())
	}
	want := map[string]string{AppIOS: "appstore", AppIOSPublic: "appstore", AppAndroid: "googleplay", AppRuStore: "rustore"}
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
}
