package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
	"github.com/reviewhub/reviewhub/hub/poll"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// heldStore's History answers one review per page and waits for release
// before its first answer: the import holds its lease meanwhile.
type heldStore struct {
	sdk.StorePlugin // only History is called
	asked           chan struct{}
	release         chan struct{}
}

func (s *heldStore) History(ctx context.Context, req sdk.HistoryRequest) (sdk.HistoryResponse, error) {
	if req.Cursor == "" {
		select {
		case s.asked <- struct{}{}:
		default:
		}
		select {
		case <-s.release:
		case <-ctx.Done():
			return sdk.HistoryResponse{}, ctx.Err()
		}
	}
	return sdk.HistoryResponse{Reviews: []sdk.Review{{ID: "gp:1", Rating: 4, Text: "old", UpdatedAt: req.From.Add(time.Hour)}}, Done: 1, Total: 1}, nil
}

var heldInfo = sdk.Info{Name: "hist", Store: &sdk.StoreCapabilities{History: &sdk.HistoryCapabilities{}}}

type heldPlugins struct{ st *heldStore }

func (p heldPlugins) Store(string) (sdk.StorePlugin, sdk.Info, error) { return p.st, heldInfo, nil }

// TestHistoryImportStartedOnAnotherHubIsRefusedNamingIt: two hubs share a
// PostgreSQL state; an import started through hub A's admin API runs
// there; the same import asked of hub B is answered 409 with a problem
// document naming hub A (not 202 and dropped), and runs nowhere else;
// hub A's import finishes.
func TestHistoryImportStartedOnAnotherHubIsRefusedNamingIt(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := &heldStore{asked: make(chan struct{}, 1), release: make(chan struct{})}
	type hub struct {
		db     *state.DB
		poller *poll.Poller
		srv    *httptest.Server
	}
	in := state.Integration{ID: "acme", Source: "api", HelpdeskPlugin: "desk",
		Apps: []state.App{{ID: "gp", StorePlugin: "hist", StoreAppID: "com.x", PollInterval: time.Hour}}}
	open := func(name string) hub {
		db, err := state.OpenPostgres(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		b, err := bus.NewPostgres(ctx, db.SQL(), quietLog(), bus.SubscriberConfig{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		p := &poll.Poller{DB: db, Bus: b, Plugins: heldPlugins{st: st}, Logger: quietLog(), Schedule: poll.Schedule{Owner: name}}
		admin := &httpapi.Admin{DB: db, Token: "admin-token-0123456789", Plugins: func() []string { return []string{"hist"} },
			Info:    func(string) (sdk.Info, bool) { return heldInfo, true },
			History: &historyRunner{poller: p, bg: ctx, log: quietLog()}}
		r := mux.NewRouter()
		admin.Register(r.PathPrefix("/api").Subrouter())
		srv := httptest.NewServer(r)
		t.Cleanup(srv.Close)
		return hub{db: db, poller: p, srv: srv}
	}
	a, b := open("hub-a.example:8080"), open("hub-b.example:8080")
	if err := a.db.InTx(ctx, func(tx *state.Tx) error { return tx.PutIntegration(ctx, in) }); err != nil {
		t.Fatal(err)
	}
	post := func(h hub) (int, []byte) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.srv.URL+"/api/integrations/acme/apps/gp/history",
			strings.NewReader(`{"from":"2026-10-01","to":"2026-11-01"}`))
		req.Header.Set("Authorization", "Bearer admin-token-0123456789")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body json.RawMessage
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	if code, body := post(a); code != http.StatusAccepted {
		t.Fatalf("hub A: %d %s", code, body)
	}
	<-st.asked // hub A runs it, its lease held
	code, body := post(b)
	var p httpapi.Problem
	if err := json.Unmarshal(body, &p); err != nil || code != http.StatusConflict || p.RunningOn != "hub-a.example:8080" ||
		!strings.Contains(p.Detail, "runs already on hub-a.example:8080") {
		t.Fatalf("hub B: %d %s (%v)", code, body, err)
	}
	// Nor does hub B's poller run it beside hub A (the gap recovery's way).
	from, to := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var busy *poll.ImportBusyError
	if _, err := b.poller.ImportHistory(ctx, in, in.Apps[0], from, to, nil); !errors.As(err, &busy) || busy.Holder.Name != "hub-a.example:8080" {
		t.Fatalf("hub B's poller: %v", err)
	}
	close(st.release)
	for {
		h, _, err := b.db.HistoryImport(ctx, "acme", "gp", from, to)
		if err != nil {
			t.Fatal(err)
		}
		if !h.Finished.IsZero() {
			if h.Reviews != 1 || h.Queued != 1 {
				t.Fatalf("finished as %+v", h)
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("hub A's import did not finish: %+v", h)
		case <-time.After(20 * time.Millisecond): // polling the state for the outcome, not synchronising
		}
	}
	// Finished, it may be asked of either hub again: it is as it was.
	if code, body := post(b); code != http.StatusAccepted || !strings.Contains(string(body), `"running":false`) {
		t.Fatalf("hub B after the end: %d %s", code, body)
	}
}
