package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/state"
)

// apiRoutes walks the routes the admin API registers: "METHOD template".
func apiRoutes(t *testing.T) []string {
	t.Helper()
	r := mux.NewRouter()
	(&Admin{}).Register(r.PathPrefix("/api").Subrouter())
	var out []string
	err := r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil || tpl == "/api" {
			return nil // the /api prefix itself
		}
		methods, err := route.GetMethods()
		if err != nil {
			t.Errorf("route %s takes any method: give it its methods and a role", tpl)
			return nil
		}
		for _, m := range methods {
			out = append(out, m+" "+tpl)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every route the API registers has a role, and every row of the table is
// a route: a new route without a role fails here.
func TestEveryRouteHasARole(t *testing.T) {
	routes := apiRoutes(t)
	seen := map[string]bool{}
	for _, rt := range routes {
		seen[rt] = true
		if _, ok := routeRoles[rt]; !ok {
			t.Errorf("route %s has no role in routeRoles", rt)
		}
	}
	for rt := range routeRoles {
		if !seen[rt] {
			t.Errorf("routeRoles has %s, which is no route", rt)
		}
	}
	if len(routes) < 30 {
		t.Fatalf("walked only %d routes", len(routes))
	}
}

// roleTokens makes a personal token of each role in db.
func roleTokens(t *testing.T, db *state.DB, expires time.Duration) map[auth.Role]string {
	t.Helper()
	out := map[auth.Role]string{}
	for _, role := range []auth.Role{auth.RoleViewer, auth.RoleAgent, auth.RoleAdmin} {
		j := NewTokenJSON{Name: role.String() + " token", Role: role.String()}
		tok, value, errs := NewToken(j, time.Now())
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		if expires != 0 {
			tok.ExpiresAt = time.Now().Add(expires)
		}
		if err := db.CreateAPIToken(context.Background(), tok, HashToken(value)); err != nil {
			t.Fatal(err)
		}
		out[role] = value
	}
	return out
}

var pathVar = regexp.MustCompile(`\{[^}]+\}`)

// policy is the rule, written apart from the table: viewers read
// everything but secrets (tokens are admin's); agents also retry answers and
// dead letters, check accounts and approve or reject drafts (issue 25:
// answering reviews is an agent's work); trying a rule on the reviews
// (a POST that changes nothing) is a read; every other change is admin's.
func policy(rt string) auth.Role {
	method, tpl, _ := strings.Cut(rt, " ")
	switch {
	case strings.HasPrefix(tpl, "/api/tokens"):
		return auth.RoleAdmin
	case method == http.MethodGet || method == http.MethodPost && strings.HasSuffix(tpl, "/automation/preview"):
		return auth.RoleViewer
	case method == http.MethodPost && (strings.HasSuffix(tpl, "/retry") || strings.HasSuffix(tpl, "/check") ||
		strings.HasSuffix(tpl, "/approve") || strings.HasSuffix(tpl, "/reject")):
		return auth.RoleAgent
	}
	return auth.RoleAdmin
}

// The table follows the policy.
func TestRouteRolesFollowThePolicy(t *testing.T) {
	for _, rt := range apiRoutes(t) {
		if got, want := routeRoles[rt], policy(rt); got != want {
			t.Errorf("%s needs %s, the policy says %s", rt, got, want)
		}
	}
}

// Every route × every role: a role the route's row allows gets past the
// gate (whatever the handler then answers), the others get 403 naming the
// role needed; the admin token passes everywhere; no token is 401.
func TestRouteRoleTable(t *testing.T) {
	ts := newTestServer(t, state.SQLite)
	// The roles are under test here, not the answers' schemas (the other
	// API tests check those): every route is called with a bare body.
	ts.Client().Transport = http.DefaultTransport
	tokens := roleTokens(t, ts.db, 0)
	tokens[auth.RoleAdmin+1] = testToken // the configured admin token
	for _, rt := range apiRoutes(t) {
		method, tpl, _ := strings.Cut(rt, " ")
		need := policy(rt)
		path := pathVar.ReplaceAllString(tpl, "1")
		for role, token := range tokens {
			a := ts.do(t, method, path, "{}", "Authorization", "Bearer "+token, "Content-Type", "application/json")
			var p Problem
			_ = json.Unmarshal([]byte(a.body), &p)
			refused := a.code == http.StatusForbidden && strings.Contains(p.Detail, "needs the role")
			want := role > auth.RoleAdmin || role.Allows(need)
			name := role.String()
			if role > auth.RoleAdmin {
				name = "admin token"
			}
			switch {
			case want && refused:
				t.Errorf("%s as %s: refused (%d %s), want allowed", rt, name, a.code, p.Detail)
			case !want && !refused:
				t.Errorf("%s as %s: %d %s, want 403 naming the role", rt, name, a.code, a.body)
			case !want && !strings.Contains(p.Detail, "needs the role "+need.String()):
				t.Errorf("%s as %s: %q does not name the role %s", rt, name, p.Detail, need)
			}
		}
		if a := ts.do(t, method, path, "{}", "Authorization", ""); a.code != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d, want 401", rt, a.code)
		}
	}
}
