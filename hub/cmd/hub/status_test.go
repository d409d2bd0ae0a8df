package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/statusview"
)

const statusToken = "status-token-0123456789"

// fakeAdmin answers the admin API calls hub status makes, as the hub does.
func fakeAdmin(t *testing.T) *httptest.Server {
	since := time.Now().Add(-90 * time.Second).UTC()
	last := time.Now().Add(-2 * time.Hour).UTC()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/integrations", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, 200, []httpapi.IntegrationJSON{{ID: "acme", Apps: []httpapi.AppJSON{{ID: "android", Store: "googleplay"}, {ID: "ios", Store: "appstore"}}}})
	})
	mux.HandleFunc("GET /api/integrations/acme", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, 200, httpapi.IntegrationJSON{ID: "acme", Apps: []httpapi.AppJSON{{ID: "android", Store: "googleplay"}, {ID: "ios", Store: "appstore"}}})
	})
	mux.HandleFunc("GET /api/integrations/acme/status", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, 200, map[string]any{"id": "acme", "apps": []httpapi.AppStatus{
			{ID: "android", Health: &httpapi.HealthStatus{State: "credentials", Reason: "the store refused the app's credentials (unauthenticated): 401",
				Since: since, LastSuccessAt: &last}},
			{ID: "ios", Health: &httpapi.HealthStatus{State: "ok", Since: since, LastSuccessAt: &since}},
		}})
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+statusToken {
			httpapi.WriteError(w, 401, "missing or wrong admin token")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestStatusTable(t *testing.T) {
	clearHubEnv(t)
	srv := fakeAdmin(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "hub.yaml")
	if err := os.WriteFile(path, []byte("data_dir: "+dir+"\nadmin_token: "+statusToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"status", "--config", path, "--hub", srv.URL}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "INTEGRATION") {
		t.Fatalf("table:\n%s", out.String())
	}
	for _, want := range []string{"android", "googleplay", "credentials", "1m ago", "2.0h ago", "unauthenticated"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row %q lacks %q", lines[1], want)
		}
	}
	out.Reset()
	if code := run([]string{"status", "acme", "--json", "--config", path, "--hub", srv.URL}, &out, &errOut); code != 0 {
		t.Fatalf("json exit %d: %s", code, errOut.String())
	}
	var rows []statusview.Row
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) != 2 || rows[0].Health != "credentials" || rows[1].Store != "appstore" {
		t.Fatalf("json %v %s", err, out.String())
	}

	// A wrong token, no token, too many arguments.
	wrong := filepath.Join(dir, "wrong.yaml")
	_ = os.WriteFile(wrong, []byte("data_dir: "+dir+"\nadmin_token: another-token-0123456789\n"), 0o600)
	errOut.Reset()
	if code := run([]string{"status", "--config", wrong, "--hub", srv.URL}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "401") {
		t.Errorf("wrong token: exit %d %s", code, errOut.String())
	}
	none := filepath.Join(dir, "none.yaml")
	_ = os.WriteFile(none, []byte("data_dir: "+dir+"\n"), 0o600)
	errOut.Reset()
	if code := run([]string{"status", "--config", none}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "admin_token") {
		t.Errorf("no token: exit %d %s", code, errOut.String())
	}
	if code := run([]string{"status", "a", "b", "--config", path}, &out, &errOut); code != 2 {
		t.Errorf("two integrations: exit %d", code)
	}
}
