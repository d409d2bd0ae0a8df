package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/bus"
)

// letterAdmin keeps dead letters and records what was retried and dropped.
type letterAdmin struct {
	*fakeAdmin
	mu               sync.Mutex
	letters          []bus.DeadLetter
	retried, dropped []int64
}

func (a *letterAdmin) ListDeadLetters(context.Context) ([]bus.DeadLetter, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.letters), nil
}

func (a *letterAdmin) remove(id int64) {
	a.letters = slices.DeleteFunc(a.letters, func(d bus.DeadLetter) bool { return d.Offset == id })
}

func (a *letterAdmin) RetryDeadLetter(_ context.Context, id int64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.retried = append(a.retried, id)
	a.remove(id)
	return nil
}

func (a *letterAdmin) DropDeadLetter(_ context.Context, id int64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dropped = append(a.dropped, id)
	a.remove(id)
	return nil
}

func letter(id int64, topic, integration string, at time.Time) bus.DeadLetter {
	payload, _ := json.Marshal(map[string]string{"integration_id": integration, "app_id": "ios"})
	return bus.DeadLetter{Offset: id, Topic: topic, Reason: "helpdesk refused", Payload: payload, CreatedAt: at.Format("2006-01-02 15:04:05")}
}

// The dead letters page groups by integration in words; a drop, one or
// all of an integration's, asks first and drops only on the confirmation's
// form; "retry all" retries only that integration's.
func TestDeadLettersConfirmAndBulk(t *testing.T) {
	at := time.Now().UTC().Add(-3 * time.Hour)
	admin := &letterAdmin{fakeAdmin: &fakeAdmin{}, letters: []bus.DeadLetter{
		letter(1, bus.PartitionTopic(bus.TopicReviews, 3), "acme", at),
		letter(2, bus.TopicReplies, "acme", at),
		letter(3, bus.TopicReviews, "beta", at),
	}}
	c, err := New(Options{Token: testToken, Admin: admin})
	if err != nil {
		t.Fatal(err)
	}
	id, s := c.newSession(auth.Principal{Subject: "admin", Role: auth.RoleAdmin})
	do := func(method, path string, form url.Values) *httptest.ResponseRecorder {
		t.Helper()
		var req *http.Request
		if form != nil {
			form.Set("csrf", s.csrf)
			req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req = httptest.NewRequest(method, path, nil)
		}
		req.Header.Set("Origin", "http://example.com")
		req.Host = "example.com"
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, req)
		return rec
	}

	page := do("GET", "/console/deadletters", nil).Body.String()
	for _, want := range []string{"Integration acme", "Integration beta", "A review on its way to the helpdesk", "An answer on its way to the store", "3 h ago", "Retry all 2", "Drop all 2…"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "reviews_p3") || strings.Contains(page, ">replies<") {
		t.Error("the page shows a topic's name")
	}

	// One drop: asked first, nothing dropped.
	rec := do("POST", "/console/deadletters/2/drop", url.Values{})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Drop dead letters?") || !strings.Contains(rec.Body.String(), `name="confirm" value="yes"`) || len(admin.dropped) != 0 {
		t.Fatalf("drop without confirmation: %d dropped %v", rec.Code, admin.dropped)
	}
	if rec := do("POST", "/console/deadletters/2/drop", url.Values{"confirm": {"yes"}}); rec.Code != http.StatusSeeOther || !slices.Equal(admin.dropped, []int64{2}) {
		t.Fatalf("confirmed drop: %d dropped %v", rec.Code, admin.dropped)
	}
	// A drop of what is gone says so.
	if rec := do("POST", "/console/deadletters/2/drop", url.Values{}); rec.Code != http.StatusNotFound {
		t.Errorf("drop of a gone letter: %d", rec.Code)
	}

	// Retry all of acme: beta's stays.
	if rec := do("POST", "/console/deadletters/retry-all", url.Values{"integration": {"acme"}}); rec.Code != http.StatusSeeOther ||
		!strings.Contains(rec.Header().Get("Location"), "retried_all=1") || !slices.Equal(admin.retried, []int64{1}) {
		t.Fatalf("retry all: %d %s retried %v", rec.Code, rec.Header().Get("Location"), admin.retried)
	}
	// Drop all of beta: asked, then dropped.
	if rec := do("POST", "/console/deadletters/drop-all", url.Values{"integration": {"beta"}}); rec.Code != http.StatusOK || len(admin.dropped) != 1 ||
		!strings.Contains(rec.Body.String(), `name="integration" value="beta"`) {
		t.Fatalf("drop all without confirmation: %d dropped %v", rec.Code, admin.dropped)
	}
	if rec := do("POST", "/console/deadletters/drop-all", url.Values{"integration": {"beta"}, "confirm": {"yes"}}); rec.Code != http.StatusSeeOther || !slices.Equal(admin.dropped, []int64{2, 3}) {
		t.Fatalf("confirmed drop all: %d dropped %v", rec.Code, admin.dropped)
	}

	// An agent may retry all but not drop all.
	agentID, agent := c.newSession(auth.Principal{Subject: "agent", Role: auth.RoleAgent})
	id, s = agentID, agent
	if rec := do("POST", "/console/deadletters/drop-all", url.Values{"integration": {"acme"}}); rec.Code != http.StatusForbidden {
		t.Errorf("an agent's drop all: %d", rec.Code)
	}
	if rec := do("POST", "/console/deadletters/retry-all", url.Values{"integration": {"acme"}}); rec.Code != http.StatusSeeOther {
		t.Errorf("an agent's retry all: %d", rec.Code)
	}
}
