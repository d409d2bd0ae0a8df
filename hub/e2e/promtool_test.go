package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// promtool finds Prometheus's promtool; without it the test is skipped
// with a message, except in CI, where it must run.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		msg := "promtool not found (apt-get install prometheus)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: .ci/run installs it)")
		}
		t.Skip(msg)
	}
	return p
}

// runPromtool runs promtool with args and stdin, and fails the test with
// its output when it reports a problem.
func runPromtool(t *testing.T, tool string, stdin io.Reader, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("promtool %s:\n%s", strings.Join(args, " "), out)
}

// alertRules is the YAML of the example alert rules in
// docs/operations.md, the first yaml block after their heading.
func alertRules(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	_, after, ok := strings.Cut(doc, "## Example Prometheus alert rules")
	if !ok {
		t.Fatal(`docs/operations.md has no "Example Prometheus alert rules" section`)
	}
	_, after, ok = strings.Cut(after, "```yaml\n")
	if !ok {
		t.Fatal("the alert rules section of docs/operations.md has no yaml block")
	}
	rules, _, ok := strings.Cut(after, "```")
	if !ok {
		t.Fatal("the alert rules' yaml block in docs/operations.md does not end")
	}
	return rules
}

// TestDocumentedAlertRulesPassPromtool: the example alert rules operators
// copy from docs/operations.md load in Prometheus.
func TestDocumentedAlertRulesPassPromtool(t *testing.T) {
	tool := promtool(t)
	rules := alertRules(t)
	if !strings.Contains(rules, "alert: ") {
		t.Fatalf("the yaml block read as the alert rules has no alert:\n%s", rules)
	}
	path := filepath.Join(t.TempDir(), "reviewhub-rules.yml")
	if err := os.WriteFile(path, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, tool, nil, "check", "rules", path)
}

// checkMetricsWithPromtool runs promtool's lint on what the hub serves on
// url (Prometheus's naming and type conventions: no gauge with a
// "quantile" label, counters ending in _total, units in the names).
func checkMetricsWithPromtool(t *testing.T, url string) {
	t.Helper()
	tool := promtool(t)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	runPromtool(t, tool, bytes.NewReader(body), "check", "metrics")
}
