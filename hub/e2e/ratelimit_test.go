package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
)

// A store answering 429 with Retry-After slows the poller of that app only:
// the hub waits as told before listing it again, while another app keeps
// being polled and its reviews keep flowing.
func TestRateLimitSlowsOnlyThatApp(t *testing.T) {
	e := &env{backend: testbackend.New()}
	e.srv = startBackendServer(t, e.backend)
	e.cfg = newConfig(t, e.srv.URL)
	acme := &e.cfg.Integrations[0]
	limited := acme.Apps[0]
	limited.ID, limited.StoreAppID = "limited", "limited-app"
	acme.Apps = append(acme.Apps, limited)
	if err := e.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e.backend.RateLimit("limited-app", time.Hour)
	e.startHub(t)

	eventually(t, "the limited app listed once", func() bool { return e.backend.ListCalls("limited-app") >= 1 })
	start := e.backend.ListCalls("app1")
	e.backend.PutReview(testbackend.Review{ID: "free1", App: "app1", Rating: 4, Text: "still flowing"})
	eventually(t, "the other app's review delivered", func() bool { _, ok := ticketFor(e.backend, "free1"); return ok })
	eventually(t, "the other app polled again and again", func() bool { return e.backend.ListCalls("app1") >= start+3 })
	if n := e.backend.ListCalls("limited-app"); n != 1 {
		t.Errorf("the rate-limited app was listed %d times; Retry-After (1h) says once", n)
	}
	eventually(t, "the app's last error names the rate limit", func() bool {
		cur, err := e.hub.DB.Cursor(context.Background(), "acme", "limited")
		return err == nil && strings.Contains(cur.LastError, "rate limited")
	})
}
