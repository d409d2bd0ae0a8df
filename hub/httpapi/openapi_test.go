package httpapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/internal/apitest"
	"github.com/reviewhub/reviewhub/hub/state"
)

// The committed openapi.json is what the operation table and the Go types
// give (go test ./hub/httpapi -run TestOpenAPIDocumentIsCurrent -update).
func TestOpenAPIDocumentIsCurrent(t *testing.T) {
	doc, err := buildOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	want, err := openAPIJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	if *updateOpenAPI {
		if err := writeOpenAPI(want); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(OpenAPI(), want) {
		t.Fatal("hub/httpapi/openapi.json is stale: run go test ./hub/httpapi -run TestOpenAPIDocumentIsCurrent -update and commit it")
	}
	if _, err := apitest.Load(OpenAPI()); err != nil {
		t.Fatal(err)
	}
}

// Every route the hub's router serves (but the console's HTML pages) is in
// the document, and every operation of the document is a route.
func TestOpenAPIListsEveryRoute(t *testing.T) {
	db := openDB(t, state.SQLite)
	admin := &Admin{DB: db, Token: testToken, Info: testInfo, Plugins: func() []string { return nil }}
	srv := &Server{DB: db, Plugins: testPlugins{}, Admin: func(r *mux.Router) { admin.Register(r) },
		MetricsHandler: http.NotFoundHandler(), Console: http.NotFoundHandler()}
	routes := map[string]bool{}
	err := srv.Handler().(*mux.Router).Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := route.GetPathTemplate()
		if err != nil || path == "/api" || path == "/" || strings.HasPrefix(path, "/console") {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			methods = []string{"POST"} // the webhook takes any method; helpdesks POST
		}
		for _, m := range methods {
			routes[m+" "+path] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := apitest.Load(OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range spec.Doc().Paths.Map() {
		for m := range item.Operations() {
			documented[m+" "+path] = true
		}
	}
	var missing, extra []string
	for r := range routes {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for d := range documented {
		if !routes[d] {
			extra = append(extra, d)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes not in openapi.json (add them to specOps): %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("operations in openapi.json the router does not serve: %v", extra)
	}
}

func TestOpenAPIServed(t *testing.T) {
	ts := newTestServer(t, state.SQLite)
	resp, err := http.Get(ts.URL + "/api/openapi.json") // no token: the document is public
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || !bytes.Equal(b.Bytes(), OpenAPI()) {
		t.Fatalf("GET /api/openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// checkAgainstOpenAPI makes every exchange of ts's client checked against
// openapi.json.
func checkAgainstOpenAPI(t *testing.T, ts *httptest.Server) {
	t.Helper()
	spec, err := apitest.Load(OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	c := ts.Client()
	c.Transport = spec.Transport(t, c.Transport, nil)
}
