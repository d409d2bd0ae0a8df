package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/state"
)

// signedIn serves the console over admin with a signed-in client.
func signedIn(t *testing.T, admin Admin) (base string, get func(path string) (int, string)) {
	t.Helper()
	srv, cl := newTestServerWith(t, admin)
	csrf := getCSRF(t, cl, srv.URL+"/console/signin")
	if r := post(t, cl, srv.URL+"/console/signin", url.Values{"csrf": {csrf}, "token": {testToken}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", r.StatusCode)
	}
	return srv.URL, func(path string) (int, string) {
		resp, err := cl.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		readBody(&b, resp)
		return resp.StatusCode, b.String()
	}
}

// Every page answers a failure through one adapter: the user's problem
// with its status and words, an internal failure as a reference to the
// log (never the database's words), an unavailable state as such.
func TestPagesShowFailuresWithoutInternals(t *testing.T) {
	const raw = `pq: relation "integrations" does not exist (SQLSTATE 42P01)`
	for _, tc := range []struct {
		name    string
		err     error
		status  int
		want    string
		mustNot string
	}{
		{"internal", fmt.Errorf("listing the integrations: %w", fmt.Errorf("%s", raw)), http.StatusInternalServerError,
			"Its log has the cause under the reference", "SQLSTATE"},
		{"unavailable", fmt.Errorf("listing: %w: %s", state.ErrTimeout, raw), http.StatusServiceUnavailable,
			"state database is unavailable right now", "SQLSTATE"},
		{"the user's", &httpapi.Error{Status: http.StatusNotFound, Detail: `no integration "nope"`}, http.StatusNotFound,
			`no integration &#34;nope&#34;`, "reference"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, get := signedIn(t, &fakeAdmin{err: tc.err})
			for _, path := range []string{"/console/integrations", "/console/integrations/nope/status", "/console/deadletters"} {
				code, page := get(path)
				if code != tc.status || !strings.Contains(page, tc.want) || strings.Contains(page, tc.mustNot) {
					t.Errorf("%s: %d, want %d with %q and without %q:\n%s", path, code, tc.status, tc.want, tc.mustNot, page)
				}
			}
		})
	}
}

// The list reads each app's health from the status's typed field.
func TestListShowsTypedHealth(t *testing.T) {
	admin := &fakeAdmin{
		integrations: []httpapi.IntegrationJSON{{ID: "acme", Complete: true, Apps: []httpapi.AppJSON{{ID: "ios"}}}},
		status: map[string]httpapi.IntegrationStatus{"acme": {ID: "acme", Apps: []httpapi.AppStatus{
			{ID: "ios", Health: &httpapi.HealthStatus{State: "credentials", Reason: "the store refused the key"}}}}},
	}
	_, get := signedIn(t, admin)
	code, page := get("/console/integrations")
	if code != http.StatusOK || !strings.Contains(page, "ios: credentials the store refused the key") {
		t.Fatalf("%d:\n%s", code, page)
	}
}
