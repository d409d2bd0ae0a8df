package helpdesktest

import (
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/sdk/sdktest/evidence"
)

// IsWebhook tells a webhook example (named webhook_…: a body the vendor
// sends) from an API one (a request and its answer).
func IsWebhook(ex evidence.Example) bool { return strings.HasPrefix(ex.Name, "webhook_") }

// EachAPIExample runs f as a subtest for every API example in dir.
func EachAPIExample(t *testing.T, dir string, f func(t *testing.T, ex evidence.Example)) {
	t.Helper()
	for _, ex := range evidence.Load(t, dir) {
		if !IsWebhook(ex) {
			t.Run(ex.Name, func(t *testing.T) { f(t, ex) })
		}
	}
}

// CheckClient plays every API example in dir against the vendor's client:
// evidence.Serve answers the documented request with the documented
// answer, and the check of the example's name calls the client (made by
// newClient for the server's URL) and looks at what it read. An example
// without a check fails.
func CheckClient[C any](t *testing.T, dir string, checks map[string]func(*testing.T, C), newClient func(baseURL string) C) {
	t.Helper()
	EachAPIExample(t, dir, func(t *testing.T, ex evidence.Example) {
		check, ok := checks[ex.Name]
		if !ok {
			t.Fatalf("no client check for example %s", ex.Name)
		}
		check(t, newClient(evidence.Serve(t, ex).URL))
	})
}

// WebhookExamples are the webhook examples in dir; the test fails when
// there are fewer than atLeast.
func WebhookExamples(t *testing.T, dir string, atLeast int) []evidence.Example {
	t.Helper()
	var out []evidence.Example
	for _, ex := range evidence.Load(t, dir) {
		if IsWebhook(ex) {
			out = append(out, ex)
		}
	}
	if len(out) < atLeast {
		t.Fatalf("%d webhook examples in %s, want at least %d", len(out), dir, atLeast)
	}
	return out
}
