package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// historyOps records the imports started and writes their progress as
// the hub's runner would.
type historyOps struct {
	db      *state.DB
	mu      sync.Mutex
	started []string
	running bool
	// elsewhere, when set, is the hub that holds every import's lease.
	elsewhere string
}

func (o *historyOps) StartHistory(ctx context.Context, in state.Integration, app state.App, from, to time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.elsewhere != "" {
		return &HistoryRunningError{Holder: o.elsewhere}
	}
	if o.running {
		return ErrHistoryRunning
	}
	o.running = true
	o.started = append(o.started, in.ID+"/"+app.ID+" "+from.Format(time.DateOnly)+" "+to.Format(time.DateOnly))
	now := time.Now().UTC()
	return o.db.SaveHistoryImport(ctx, state.HistoryImport{IntegrationID: in.ID, AppID: app.ID, From: from, To: to, Pages: 3, Done: 25, Total: 100,
		Reviews: 1500, Queued: 1400, Started: now.Add(-10 * time.Second), Updated: now})
}

func TestHistoryImportOverTheAdminAPI(t *testing.T) {
	db := openDB(t, state.SQLite)
	ops := &historyOps{db: db}
	info := func(name string) (sdk.Info, bool) {
		i, ok := testInfo(name)
		if name == "hist" {
			i, ok = testInfo("st")
			store := *i.Store
			store.History = &sdk.HistoryCapabilities{Lag: 7 * 24 * time.Hour}
			i.Store = &store
		}
		return i, ok
	}
	admin := &Admin{DB: db, Token: testToken, Info: info, Plugins: func() []string { return []string{"desk", "st", "hist"} },
		PublicURL: "http://hub.example", History: ops}
	r := mux.NewRouter()
	admin.Register(r.PathPrefix("/api").Subrouter())
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	ts := &testServer{Server: srv, db: db}
	create := `{"id":"acme","helpdesk":` + deskJSON + `,"apps":[{"id":"gp","store":"hist","store_app_id":"com.x"},{"id":"ios","store":"st","store_app_id":"1"}]}`
	if a := ts.do(t, "POST", "/api/integrations", create); a.code != http.StatusCreated {
		t.Fatalf("create: %d %s", a.code, a.body)
	}
	a := ts.do(t, "POST", "/api/integrations/acme/apps/gp/history", `{"from":"2026-10-01","to":"2026-11-01"}`)
	if a.code != http.StatusAccepted || !strings.Contains(a.body, `"running":true`) || !strings.Contains(a.body, `"percent":25`) ||
		!strings.Contains(a.body, `"reviews_per_second":150`) {
		t.Fatalf("start: %d %s", a.code, a.body)
	}
	if len(ops.started) != 1 || ops.started[0] != "acme/gp 2026-10-01 2026-11-01" {
		t.Errorf("started %v", ops.started)
	}
	// Starting an import is audited (L3): who, the app and the range.
	audit, err := db.Audit(context.Background(), state.AuditFilter{Kind: KindHistory})
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 || audit[0].Action != "start" || audit[0].Subject != "admin" || audit[0].IntegrationID != "acme" || audit[0].Target != "gp" ||
		len(audit[0].Changes) != 2 || audit[0].Changes[0].To != "2026-10-01" || audit[0].Changes[1].To != "2026-11-01" {
		t.Errorf("audit of the start: %+v", audit)
	}
	if a := ts.do(t, "POST", "/api/integrations/acme/apps/gp/history", `{"from":"2026-10-01","to":"2026-11-01"}`); a.code != http.StatusConflict {
		t.Errorf("again while running: %d %s", a.code, a.body)
	}
	// Running on another hub: 409 naming it (the problem document's
	// running_on), not accepted and dropped.
	ops.mu.Lock()
	ops.elsewhere = "hub-b.example:8080"
	ops.mu.Unlock()
	if a := ts.do(t, "POST", "/api/integrations/acme/apps/gp/history", `{"from":"2026-09-01","to":"2026-10-01"}`); a.code != http.StatusConflict ||
		!strings.Contains(a.body, `"running_on":"hub-b.example:8080"`) || !strings.Contains(a.body, "runs already on hub-b.example:8080") {
		t.Errorf("running on another hub: %d %s", a.code, a.body)
	}
	if a := ts.do(t, "GET", "/api/integrations/acme/apps/gp/history", ""); a.code != 200 || !strings.Contains(a.body, `"from":"2026-10-01T00:00:00Z"`) ||
		!strings.Contains(a.body, `"queued":1400`) {
		t.Errorf("list: %d %s", a.code, a.body)
	}
	for _, tc := range []struct {
		path, body string
		code       int
		says       string
	}{
		{"/api/integrations/acme/apps/gp/history", `{"from":"2026-13-01"}`, http.StatusBadRequest, "is not a day"},
		{"/api/integrations/acme/apps/gp/history", `{"from":"2026-11-01","to":"2026-10-01"}`, http.StatusBadRequest, "is not before"},
		{"/api/integrations/acme/apps/ios/history", `{"from":"2026-10-01"}`, http.StatusConflict, "cannot list reviews beyond its live listing"},
		{"/api/integrations/acme/apps/nope/history", `{"from":"2026-10-01"}`, http.StatusNotFound, `has no app \"nope\"`},
		{"/api/integrations/none/apps/gp/history", `{"from":"2026-10-01"}`, http.StatusNotFound, "no integration"},
	} {
		if a := ts.do(t, "POST", tc.path, tc.body); a.code != tc.code || !strings.Contains(a.body, tc.says) {
			t.Errorf("%s %s: %d %s, want %d saying %q", tc.path, tc.body, a.code, a.body, tc.code, tc.says)
		}
	}
}
