package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/state"
)

// publicRoutes are the console's routes outside the session (no role).
var publicRoutes = map[string]bool{
	"GET /console/signin": true, "POST /console/signin": true, "GET /console/lang": true,
	"GET /console/oidc/{issuer}/start": true, "GET /console/oidc/{issuer}/callback": true,
}

// consoleActions walks the console's router: "METHOD template" of every
// route behind the session.
func consoleActions(t *testing.T, c *Console) []string {
	t.Helper()
	var out []string
	err := c.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			tpl, _ = route.GetPathRegexp()
		}
		methods, err := route.GetMethods()
		if err != nil {
			if tpl != "/console/static/" && tpl != "/console" { // the static files; the session's subrouter
				t.Errorf("console route %s takes any method: give it its methods and a role", tpl)
			}
			return nil
		}
		for _, m := range methods {
			if !publicRoutes[m+" "+tpl] {
				out = append(out, m+" "+tpl)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every console action maps to an API route with a role (one table for
// both surfaces), and every row of the map is an action.
func TestEveryConsoleActionHasARole(t *testing.T) {
	c, err := New(Options{Token: testToken, Admin: &fakeAdmin{}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	actions := consoleActions(t, c)
	for _, a := range actions {
		seen[a] = true
		api, ok := actionRoutes[a]
		if !ok {
			t.Errorf("console action %s has no row in actionRoutes", a)
			continue
		}
		if api == "" {
			continue
		}
		m, tpl, _ := strings.Cut(api, " ")
		if _, ok := httpapi.RouteRole(m, tpl); !ok {
			t.Errorf("console action %s maps to %s, which has no role in the API's table", a, api)
		}
	}
	for a := range actionRoutes {
		if !seen[a] {
			t.Errorf("actionRoutes has %s, which is no console action", a)
		}
	}
	if len(actions) < 15 {
		t.Fatalf("walked only %d actions", len(actions))
	}
}

// consolePolicy is the rule for the console's actions, written
// apart from the tables: viewers see every page but the tokens and the
// forms that make integrations or change their automation rules; agents
// also retry answers and dead letters, check accounts and approve or reject
// drafts; everything else that changes is admin's.
func consolePolicy(action string) auth.Role {
	method, tpl, _ := strings.Cut(action, " ")
	switch {
	case tpl == "/console/signout", tpl == "/console/signout/everywhere":
		return auth.RoleNone
	case strings.HasPrefix(tpl, "/console/tokens"), tpl == "/console/integrations/new",
		method == http.MethodGet && strings.Contains(tpl, "/automation/"):
		return auth.RoleAdmin
	case method == http.MethodGet:
		return auth.RoleViewer
	case strings.HasSuffix(tpl, "/retry") || strings.HasSuffix(tpl, "/retry-all") || strings.HasSuffix(tpl, "/check") ||
		tpl == "/console/approvals/approve" || tpl == "/console/approvals/reject":
		return auth.RoleAgent
	}
	return auth.RoleAdmin
}

var consoleVar = regexp.MustCompile(`\{[^}]+\}`)

// Every console action × every role, through the console's own session
// and CSRF checks: an action the role allows gets past the gate, the
// others are refused 403 naming the role needed.
func TestConsoleActionRoleTable(t *testing.T) {
	db, err := state.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	api := &httpapi.Admin{DB: db, Token: testToken, Info: nil, Plugins: func() []string { return nil }}
	c, err := New(Options{Token: testToken, Admin: &fakeAdmin{}, Access: api})
	if err != nil {
		t.Fatal(err)
	}
	for _, action := range consoleActions(t, c) {
		method, tpl, _ := strings.Cut(action, " ")
		need := consolePolicy(action)
		if got, _ := actionRole(method, tpl); got != need {
			t.Errorf("%s needs %s, the policy says %s", action, got, need)
		}
		path := consoleVar.ReplaceAllString(tpl, "1")
		for _, role := range []auth.Role{auth.RoleViewer, auth.RoleAgent, auth.RoleAdmin} {
			id, s := c.newSession(auth.Principal{Subject: "test:" + role.String(), Name: role.String() + " person", Role: role, Via: auth.ViaSession})
			var body *strings.Reader
			if method == http.MethodPost {
				body = strings.NewReader("csrf=" + s.csrf + "&name=x&role=viewer")
			} else {
				body = strings.NewReader("")
			}
			req := httptest.NewRequest(method, path, body)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
			rec := httptest.NewRecorder()
			c.ServeHTTP(rec, req)
			refused := rec.Code == http.StatusForbidden && strings.Contains(rec.Body.String(), "needs the role")
			switch want := need == auth.RoleNone || role.Allows(need); {
			case want && refused:
				t.Errorf("%s as %s: refused, want allowed", action, role)
			case !want && !refused:
				t.Errorf("%s as %s: %d, want 403 naming the role", action, role, rec.Code)
			case !want && !strings.Contains(rec.Body.String(), "needs the role "+need.String()):
				t.Errorf("%s as %s: the refusal does not name the role %s", action, role, need)
			}
		}
	}
}

// deadLettersAdmin is fakeAdmin with one dead letter.
type deadLettersAdmin struct{ *fakeAdmin }

func (deadLettersAdmin) ListDeadLetters(context.Context) ([]bus.DeadLetter, error) {
	return []bus.DeadLetter{{Offset: 3, Topic: "replies", Reason: "bad"}}, nil
}

// Pages show only what the role may do: viewers no retry or drop and no
// "new integration", agents retry but not drop, admins everything and the
// tokens link.
func TestPagesShowWhatTheRoleMayDo(t *testing.T) {
	c, err := New(Options{Token: testToken, Admin: deadLettersAdmin{&fakeAdmin{}}})
	if err != nil {
		t.Fatal(err)
	}
	get := func(role auth.Role, path string) string {
		id, _ := c.newSession(auth.Principal{Subject: "s", Role: role})
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s as %s: %d", path, role, rec.Code)
		}
		return rec.Body.String()
	}
	for _, tc := range []struct {
		role                             auth.Role
		retry, drop, newIntegration, tok bool
	}{
		{auth.RoleViewer, false, false, false, false},
		{auth.RoleAgent, true, false, false, false},
		{auth.RoleAdmin, true, true, true, true},
	} {
		dl := get(tc.role, "/console/deadletters")
		if got := strings.Contains(dl, `action="/console/deadletters/3/retry"`); got != tc.retry {
			t.Errorf("%s sees retry: %v", tc.role, got)
		}
		if got := strings.Contains(dl, `action="/console/deadletters/3/drop"`); got != tc.drop {
			t.Errorf("%s sees drop: %v", tc.role, got)
		}
		if got := strings.Contains(dl, `href="/console/tokens"`); got != tc.tok {
			t.Errorf("%s sees the tokens link: %v", tc.role, got)
		}
		if !strings.Contains(dl, `href="/console/audit"`) {
			t.Errorf("%s does not see the audit link", tc.role)
		}
		if got := strings.Contains(get(tc.role, "/console/integrations"), `href="/console/integrations/new"`); got != tc.newIntegration {
			t.Errorf("%s sees new integration: %v", tc.role, got)
		}
	}
}

// newSession stores a session of p in c's session store, as a sign-in
// would, and returns its cookie's value and the session (its CSRF token).
func (c *Console) newSession(p auth.Principal) (string, *session) {
	value, csrf, now := randomToken(), randomToken(), c.opts.Now()
	via := string(auth.ViaAdminToken) // a way to sign in c has (sessionOf checks it)
	if c.opts.Token == "" {
		via = "oidc:" + c.opts.OIDC[0].ID
	}
	origin, _ := c.originOf(via)
	err := c.opts.Sessions.CreateSession(context.Background(), state.Session{Key: keyOf(value), Subject: p.Subject, Name: p.Name,
		Role: p.Role.String(), Via: via, Origin: origin, CSRF: csrf, CreatedAt: now, SeenAt: now})
	if err != nil {
		panic(err)
	}
	return value, &session{key: keyOf(value), csrf: csrf, principal: p}
}
