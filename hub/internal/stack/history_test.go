package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

// TestHistoryHubDown30DaysDeliversEveryReviewOnce: the real hub binary with
// the Google Play and Omnidesk plugin processes and their fakes. The hub
// polls, is stopped, and its last successful poll is then 30 days old; the
// reviews of those days are in Google Play's monthly reports (the API
// lists only the last 7). Started again, the hub recovers the gap: every
// review of the 30 days becomes one case, none twice, and its health says
// what was recovered.
func TestHistoryHubDown30DaysDeliversEveryReviewOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hub and two plugins")
	}
	hubBin := sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/cmd/hub")
	gpBin := sdktest.Build(t, "github.com/reviewhub/reviewhub/plugins/googleplay/cmd/hub-plugin-googleplay")
	odBin := sdktest.Build(t, "github.com/reviewhub/reviewhub/plugins/omnidesk/cmd/hub-plugin-omnidesk")
	f, err := StartFakes(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	const pkg, bucket = "com.example.history", "pubsite_prod_rev_01234567890987654321"
	f.GooglePlay.AddApp(pkg)
	f.GooglePlay.ServeReports(bucket, 24*time.Hour)
	now := time.Now().UTC().Truncate(time.Second)
	day := 24 * time.Hour
	f.GooglePlay.PutReview(pkg, sdk.Review{ID: "gp:AOqpTO-first", Author: "A", Rating: 4, Text: "before the outage", UpdatedAt: now.Add(-time.Hour)})

	gp := f.GooglePlay.Settings(f.URL["googleplay"])
	gp["reports_bucket"], gp["reports_base_url"] = bucket, f.URL["googleplay"]
	desk, err := f.HelpdeskSettings("omnidesk", "history-secret")
	if err != nil {
		t.Fatal(err)
	}
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	const token = "history-admin-token-0123456789"
	cfg := Config{Listen: addr, DataDir: t.TempDir(), Plugins: map[string]string{"googleplay": gpBin, "omnidesk": odBin},
		Integration: "acme", Helpdesk: "omnidesk", HelpdeskSetup: desk, PollInterval: time.Second, AdminToken: token,
		Apps: []App{{ID: "gp", Name: "History app", Store: "googleplay", StoreAppID: pkg, Settings: gp}}}
	path, err := cfg.Write()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var log strings.Builder
	start := func() *Hub {
		t.Helper()
		h, err := StartHub(ctx, hubBin, path, addr, &log)
		if err != nil {
			t.Fatalf("hub: %v\n%s", err, log.String())
		}
		return h
	}
	waitCases := func(n int) {
		t.Helper()
		for ctx.Err() == nil {
			if f.Omnidesk.CaseCount() >= n {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("%d cases, want %d; the hub's log:\n%s", f.Omnidesk.CaseCount(), n, log.String())
	}
	h := start()
	waitCases(1)
	if err := h.Stop(); err != nil {
		t.Fatal(err)
	}

	// 30 days down: the last successful poll is that old, and reviews came
	// meanwhile: 20 only in the reports (8 to 27 days ago), 3 in the API's
	// window too (1 to 3 days ago), 1 edited (first written 20 days ago).
	db, err := state.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().Exec(`UPDATE cursors SET last_poll_at = ?, last_success_ms = ?`, now.Add(-30*day).Format(time.RFC3339Nano), now.Add(-30*day).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	want := map[string]bool{"gp:AOqpTO-first": true}
	for i := range 20 {
		at := now.Add(-time.Duration(8+i) * day)
		id := fmt.Sprintf("gp:AOqpTO-down-%02d", i)
		f.GooglePlay.PutReview(pkg, sdk.Review{ID: id, Author: "B", Rating: 1 + i%5, Text: fmt.Sprintf("during the outage %d", i), CreatedAt: at, UpdatedAt: at})
		want[id] = true
	}
	for i := range 3 {
		at := now.Add(-time.Duration(1+i) * day)
		id := fmt.Sprintf("gp:AOqpTO-recent-%d", i)
		f.GooglePlay.PutReview(pkg, sdk.Review{ID: id, Author: "C", Rating: 2, Text: "recent", CreatedAt: at, UpdatedAt: at})
		want[id] = true
	}
	h = start()
	defer h.Stop()
	waitCases(len(want))
	time.Sleep(3 * time.Second) // anything delivered twice would show by now
	cases := f.Omnidesk.Cases()
	if len(cases) != len(want) {
		t.Errorf("%d cases for %d reviews", len(cases), len(want))
	}
	for id := range want {
		if _, ok := f.Omnidesk.CaseByReviewID(id); !ok {
			t.Errorf("no case for %s", id)
		}
	}
	// The health says what was recovered.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/integrations/acme/status", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var st struct {
		Apps []struct {
			Health struct{ History string } `json:"health"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(body, &st); err != nil || len(st.Apps) != 1 || !strings.Contains(st.Apps[0].Health.History, "recovered the reviews of") {
		t.Errorf("status %s (%v)", body, err)
	}
	t.Logf("health: %s", st.Apps[0].Health.History)
}

// TestHistoryImportCommandSurvivesSIGKILL: `hub import-history` is killed
// (SIGKILL) after its first pages, run again, resumes where the state says
// it stopped and finishes; the hub then delivers every imported review
// exactly once.
func TestHistoryImportCommandSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hub and two plugins")
	}
	hubBin := sdktest.Build(t, "github.com/reviewhub/reviewhub/hub/cmd/hub")
	gpBin := sdktest.Build(t, "github.com/reviewhub/reviewhub/plugins/googleplay/cmd/hub-plugin-googleplay")
	odBin := sdktest.Build(t, "github.com/reviewhub/reviewhub/plugins/omnidesk/cmd/hub-plugin-omnidesk")
	f, err := StartFakes(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	const pkg, bucket, n = "com.example.import", "pubsite_prod_rev_01234567890987654321", 1100
	f.GooglePlay.AddApp(pkg)
	f.GooglePlay.ServeReports(bucket, 24*time.Hour)
	now := time.Now().UTC().Truncate(time.Second)
	f.GooglePlay.PutReview(pkg, sdk.Review{ID: "gp:AOqpTO-live", Author: "A", Rating: 4, Text: "live", UpdatedAt: now.Add(-time.Hour)})
	gp := f.GooglePlay.Settings(f.URL["googleplay"])
	gp["reports_bucket"], gp["reports_base_url"] = bucket, f.URL["googleplay"]
	desk, err := f.HelpdeskSettings("omnidesk", "history-secret")
	if err != nil {
		t.Fatal(err)
	}
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Listen: addr, DataDir: t.TempDir(), Plugins: map[string]string{"googleplay": gpBin, "omnidesk": odBin},
		Integration: "acme", Helpdesk: "omnidesk", HelpdeskSetup: desk, PollInterval: time.Second,
		Apps: []App{{ID: "gp", Name: "Import app", Store: "googleplay", StoreAppID: pkg, Settings: gp}}}
	path, err := cfg.Write()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var log strings.Builder
	h, err := StartHub(ctx, hubBin, path, addr, &log)
	if err != nil {
		t.Fatalf("hub: %v\n%s", err, log.String())
	}
	for f.Omnidesk.CaseCount() < 1 && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	if err := h.Stop(); err != nil {
		t.Fatal(err)
	}
	// A year ago, before the hub was installed: only in the reports.
	from := now.AddDate(-1, 0, 0).Truncate(24 * time.Hour)
	for i := range n {
		at := from.Add(time.Duration(i) * 10 * time.Minute)
		f.GooglePlay.PutReview(pkg, sdk.Review{ID: fmt.Sprintf("gp:AOqpTO-old-%04d", i), Author: "B", Rating: 1 + i%5,
			Text: fmt.Sprintf("last year %d", i), CreatedAt: at, UpdatedAt: at})
	}
	args := []string{"import-history", "acme", "gp", "--from", from.Format(time.DateOnly), "--to", from.AddDate(0, 1, 0).Format(time.DateOnly), "--config", path}
	// First run: killed once its second page is applied.
	cmd := exec.CommandContext(ctx, hubBin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var seen strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(seen.String(), "page 2:") {
		k, err := stderr.Read(buf)
		seen.Write(buf[:k])
		if err != nil {
			t.Fatalf("the import ended before its second page: %v\n%s", err, seen.String())
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	// Second run: resumes and finishes.
	out, err := exec.CommandContext(ctx, hubBin, args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "resuming the import of acme/gp") || !strings.Contains(string(out), "imported acme/gp") ||
		strings.Contains(string(out), "complete only up to") { // the app has reports: the range is complete
		t.Fatalf("second run: %v\n%s", err, out)
	}
	t.Logf("second run: %s", out[strings.LastIndex(string(out), "imported"):])
	// The hub delivers what the import queued: every review once.
	h, err = StartHub(ctx, hubBin, path, addr, &log)
	if err != nil {
		t.Fatalf("hub: %v\n%s", err, log.String())
	}
	defer h.Stop()
	for f.Omnidesk.CaseCount() < n+1 && ctx.Err() == nil {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	if c := f.Omnidesk.CaseCount(); c != n+1 {
		t.Fatalf("%d cases, want %d (the live review and %d imported, each once)", c, n+1, n)
	}
	for i := range n {
		if _, ok := f.Omnidesk.CaseByReviewID(fmt.Sprintf("gp:AOqpTO-old-%04d", i)); !ok {
			t.Fatalf("no case for review %d", i)
		}
	}
}
