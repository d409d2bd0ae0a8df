package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/httpapi"
)

// historyFake keeps an app's imports as the admin API would show them.
type historyFake struct {
	*fakeAdmin
	mu      sync.Mutex
	imports []httpapi.HistoryImportJSON
	started []httpapi.HistoryRequestJSON
	refuse  error
}

func (h *historyFake) HistoryImports(_ context.Context, id, app string) ([]httpapi.HistoryImportJSON, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]httpapi.HistoryImportJSON(nil), h.imports...), nil
}

func (h *historyFake) StartHistoryImport(_ context.Context, id, app string, body httpapi.HistoryRequestJSON) (httpapi.HistoryImportJSON, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.refuse != nil {
		return httpapi.HistoryImportJSON{}, h.refuse
	}
	h.started = append(h.started, body)
	return httpapi.HistoryImportJSON{}, nil
}

// TestHistoryPageStartsAndShowsImports: the app's history page shows each
// import's progress in words (imported, queued, skipped, bad rows, days
// covered, running/finished/stopped/interrupted, a resume button for
// those that stopped), in English and Russian; its form starts an import
// (admin only, as the API's POST), and a refusal (running on another hub)
// is said on the page.
func TestHistoryPageStartsAndShowsImports(t *testing.T) {
	now := time.Now().UTC()
	fin := now.Add(-time.Hour)
	complete := time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC)
	admin := &historyFake{fakeAdmin: &fakeAdmin{integrations: []httpapi.IntegrationJSON{{ID: "acme", Apps: []httpapi.AppJSON{{ID: "gp", Name: "Acme Android"}}}}},
		imports: []httpapi.HistoryImportJSON{
			{From: "2026-11-01T00:00:00Z", To: "2026-12-01T00:00:00Z", Running: true, Done: 40, Total: 100, Percent: 40, Reviews: 1200, Queued: 1000, Unreadable: 3,
				Started: now.Add(-time.Minute), Updated: now.Add(-10 * time.Second)},
			{From: "2026-10-01T00:00:00Z", To: "2026-11-01T00:00:00Z", Reviews: 500, Queued: 450, CompleteUntil: &complete, Started: fin.Add(-time.Hour), Updated: fin, Finished: &fin},
			{From: "2026-09-01T00:00:00Z", To: "2026-10-01T00:00:00Z", Running: true, Reviews: 7, LastError: "store down", Started: fin, Updated: fin},
			{From: "2026-08-01T00:00:00Z", To: "2026-09-01T00:00:00Z", Running: true, Reviews: 9, Started: fin, Updated: fin},
		}}
	c, err := New(Options{Token: testToken, Admin: admin})
	if err != nil {
		t.Fatal(err)
	}
	do := func(role auth.Role, lang, method, path string, form url.Values) *httptest.ResponseRecorder {
		t.Helper()
		id, s := c.newSession(auth.Principal{Subject: "someone", Role: role})
		var req *http.Request
		if form != nil {
			form.Set("csrf", s.csrf)
			req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req = httptest.NewRequest(method, path, nil)
		}
		req.Header.Set("Origin", "http://example.com")
		req.Header.Set("Accept-Language", lang)
		req.Host = "example.com"
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, req)
		return rec
	}
	const path = "/console/integrations/acme/apps/gp/history"
	rec := do(auth.RoleViewer, "en", "GET", path, nil)
	page := rec.Body.String()
	for _, want := range []string{"History of Acme Android", "40 %", `data-field="imported">1200<`, `data-field="queued">1000<`, `data-field="skipped">200<`,
		`data-field="bad">3<`, "2026-10-01 to 2026-10-25 (24 days)", `data-state="running"`, `data-state="finished"`, `data-state="stopped"`, "store down",
		`data-state="interrupted"`, "Resume", `class="js-auto"`, "Start import"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if n := strings.Count(page, ">Resume</button>"); n != 2 {
		t.Errorf("%d resume buttons, want 2 (stopped, interrupted)", n)
	}
	ru := do(auth.RoleViewer, "ru", "GET", path, nil).Body.String()
	for _, want := range []string{"История: Acme Android", "Импортировано", "Продолжить", "идёт", "завершён", "с 2026-10-01 по 2026-10-25 (дней: 24)"} {
		if !strings.Contains(ru, want) {
			t.Errorf("the Russian page lacks %q", want)
		}
	}
	// Starting is the admin's, as POST …/history in the API.
	if rec := do(auth.RoleViewer, "en", "POST", path, url.Values{"from": {"2026-06-01"}, "to": {"2026-07-01"}}); rec.Code != http.StatusForbidden || len(admin.started) != 0 {
		t.Errorf("a viewer started an import: %d %v", rec.Code, admin.started)
	}
	rec = do(auth.RoleAdmin, "en", "POST", path, url.Values{"from": {"2026-06-01"}, "to": {"2026-07-01"}})
	if rec.Code != http.StatusSeeOther || len(admin.started) != 1 || admin.started[0] != (httpapi.HistoryRequestJSON{From: "2026-06-01", To: "2026-07-01"}) ||
		!strings.HasPrefix(rec.Header().Get("Location"), path+"?auto=1") {
		t.Errorf("start: %d %s %v", rec.Code, rec.Header().Get("Location"), admin.started)
	}
	admin.refuse = &httpapi.Error{Status: http.StatusConflict, Detail: "the import of acme/gp [2026-06-01, 2026-07-01) runs already on hub-b:8080"}
	rec = do(auth.RoleAdmin, "en", "POST", path, url.Values{"from": {"2026-06-01"}, "to": {"2026-07-01"}})
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "runs already on hub-b:8080") || !strings.Contains(rec.Body.String(), "Start import") {
		t.Errorf("refused start: %d %s", rec.Code, rec.Body.String())
	}
}

// progressingHistory is historyFake whose started import moves on by one
// page each time the page is read, and finishes after five: the browser
// test sees its progress update.
type progressingHistory struct {
	*historyFake
	reads int
}

func (p *progressingHistory) HistoryImports(ctx context.Context, id, app string) ([]httpapi.HistoryImportJSON, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.started) > 0 {
		p.reads++
		n := int64(min(p.reads, 5))
		from, _ := time.Parse(time.DateOnly, p.started[0].From)
		to, _ := time.Parse(time.DateOnly, p.started[0].To)
		now := time.Now().UTC()
		h := httpapi.HistoryImportJSON{From: from.Format(time.RFC3339), To: to.Format(time.RFC3339), Running: n < 5, Pages: n, Done: n * 20, Total: 100,
			Percent: float64(n * 20), Reviews: n * 500, Queued: n * 450, Unreadable: n, Started: now.Add(-time.Minute), Updated: now}
		if n == 5 {
			h.Finished = &now
		}
		return append([]httpapi.HistoryImportJSON{h}, p.imports...), nil
	}
	return append([]httpapi.HistoryImportJSON(nil), p.imports...), nil
}

// HistoryTestServer is a console with an app whose history imports are
// simulated (an earlier one that stopped; a started one that progresses
// each time its page is read), for the browser test.
func HistoryTestServer(t *testing.T) string {
	t.Helper()
	fin := time.Now().UTC().Add(-3 * time.Hour)
	admin := &progressingHistory{historyFake: &historyFake{
		fakeAdmin: &fakeAdmin{integrations: []httpapi.IntegrationJSON{{ID: "acme", Apps: []httpapi.AppJSON{{ID: "gp", Name: "Acme Android"}}}}},
		imports: []httpapi.HistoryImportJSON{{From: "2026-06-01T00:00:00Z", To: "2026-07-01T00:00:00Z", Running: true, Reviews: 800, Queued: 790,
			Unreadable: 2, LastError: "google play: Cloud Storage answered 503", Started: fin.Add(-time.Hour), Updated: fin}}}}
	c, err := New(Options{Token: testToken, Admin: admin})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return srv.URL
}
