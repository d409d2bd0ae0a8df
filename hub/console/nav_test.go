package console

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/httpapi"
)

// badgeAdmin has three dead letters and counts how often they are listed.
type badgeAdmin struct {
	fakeAdmin
	lists atomic.Int32
}

func (b *badgeAdmin) ListDeadLetters(context.Context) ([]bus.DeadLetter, error) {
	b.lists.Add(1)
	return []bus.DeadLetter{{Offset: 1}, {Offset: 2}, {Offset: 3}}, nil
}

func TestNavigationBadges(t *testing.T) {
	a := &badgeAdmin{fakeAdmin: fakeAdmin{
		integrations: []httpapi.IntegrationJSON{{ID: "acme"}, {ID: "beta"}},
		status: map[string]httpapi.IntegrationStatus{
			"acme": {Apps: []httpapi.AppStatus{{ID: "ios", LastError: "store said 500"}, {ID: "android", Health: &httpapi.HealthStatus{State: "ok"}}}},
			"beta": {Apps: []httpapi.AppStatus{{ID: "web", Health: &httpapi.HealthStatus{State: "credentials", Reason: "key revoked"}}}},
		},
	}}
	_, get := signedIn(t, a)
	_, body := get("/console/integrations")
	for _, want := range []string{
		`<span class="pill fail" id="pill-failing">2<span class="visually-hidden"> apps failing</span></span></a>`,
		`<span class="pill" id="pill-deadletters">3<span class="visually-hidden"> waiting</span></span></a>`,
		`<link rel="icon" href="/console/static/favicon.svg" type="image/svg+xml">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// Counted once for many pages (cached), not on every page.
	for range 5 {
		get("/console/integrations")
	}
	if n := a.lists.Load(); n != 1 {
		t.Errorf("dead letters listed %d times for 6 pages", n)
	}
	// Nothing waiting, nothing failing: no badge.
	_, get = signedIn(t, &fakeAdmin{})
	if _, body = get("/console/integrations"); strings.Contains(body, `class="pill`) {
		t.Error("a badge with nothing to count")
	}
	// The favicon is served.
	if code, body := get("/console/static/favicon.svg"); code != 200 || !strings.HasPrefix(body, "<svg") {
		t.Errorf("favicon: %d", code)
	}
}
