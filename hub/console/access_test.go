package console

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/internal/oidctest"
	"github.com/reviewhub/reviewhub/hub/internal/throttle"
	"github.com/reviewhub/reviewhub/hub/state"
)

func getPage(t *testing.T, cl *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := cl.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	readBody(&b, resp)
	return resp.StatusCode, b.String()
}

func postPage(t *testing.T, cl *http.Client, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := cl.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	readBody(&b, resp)
	return resp.StatusCode, b.String()
}

var madeToken = regexp.MustCompile(`id="new-token">(rhp_[0-9a-f]+_[0-9a-f]+)<`)

// The tokens page makes a token and shows it once, lists tokens without
// their values and revokes them; the audit page lists the sign-ins (and a
// failed one) and the token's changes, never the token; its export is
// JSON lines.
func TestTokensAndAuditPages(t *testing.T) {
	db, err := state.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	api := &httpapi.Admin{DB: db, Token: testToken, Plugins: func() []string { return nil }}
	c, err := New(Options{Token: testToken, Admin: &fakeAdmin{}, Access: api})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	csrf := getCSRF(t, cl, srv.URL+"/console/signin")
	if code, _ := postPage(t, cl, srv.URL+"/console/signin", url.Values{"csrf": {csrf}, "token": {"not-the-admin-token-at-all"}}); code != http.StatusUnauthorized {
		t.Fatalf("wrong sign-in: %d", code)
	}
	csrf = getCSRF(t, cl, srv.URL+"/console/signin")
	if code, _ := postPage(t, cl, srv.URL+"/console/signin", url.Values{"csrf": {csrf}, "token": {testToken}}); code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", code)
	}
	csrf = getCSRF(t, cl, srv.URL+"/console/tokens")
	code, body := postPage(t, cl, srv.URL+"/console/tokens", url.Values{"csrf": {csrf}, "name": {"support laptop"}, "role": {"agent"}, "expires": {"48h"}})
	m := madeToken.FindStringSubmatch(body)
	if code != http.StatusCreated || m == nil {
		t.Fatalf("make a token: %d\n%s", code, body)
	}
	token := m[1]
	if p, err := api.Principal(context.Background(), token); err != nil || p.Name != "support laptop" || p.Role.String() != "agent" {
		t.Fatalf("the token made signs in as %+v (%v)", p, err)
	}
	code, body = getPage(t, cl, srv.URL+"/console/tokens")
	if code != http.StatusOK || !strings.Contains(body, "support laptop") || strings.Contains(body, token) || strings.Contains(body, `id="new-token"`) {
		t.Fatalf("the list shows the token again, or not its row: %d", code)
	}
	if code, body = postPage(t, cl, srv.URL+"/console/tokens", url.Values{"csrf": {csrf}, "name": {""}, "role": {"root"}}); code != http.StatusUnprocessableEntity ||
		!strings.Contains(body, "name: is required") || !strings.Contains(body, `unknown role`) {
		t.Fatalf("a bad token form: %d", code)
	}
	list, _ := api.Tokens(authedAdmin())
	if len(list) != 1 {
		t.Fatalf("tokens %+v", list)
	}
	if code, _ = postPage(t, cl, srv.URL+"/console/tokens/"+list[0].ID+"/revoke", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther {
		t.Fatalf("revoke: %d", code)
	}
	if _, err := api.Principal(context.Background(), token); err == nil {
		t.Fatal("a revoked token still signs in")
	}

	code, body = getPage(t, cl, srv.URL+"/console/audit")
	for _, want := range []string{`data-kind="signin"`, "failed", `data-kind="token"`, "token create", "token revoke", "support laptop", "127.0.0.1"} {
		if !strings.Contains(body, want) {
			t.Errorf("the audit page lacks %q", want)
		}
	}
	if code != http.StatusOK || strings.Contains(body, token) {
		t.Fatalf("audit page: %d (token shown: %v)", code, strings.Contains(body, token))
	}
	if _, body = getPage(t, cl, srv.URL+"/console/audit?kind=token"); strings.Contains(body, `data-kind="signin"`) || !strings.Contains(body, `data-kind="token"`) {
		t.Error("the kind filter does not filter")
	}
	resp, err := cl.Get(srv.URL + "/console/audit/export?kind=signin")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	readBody(&b, resp)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/jsonl" || strings.Count(b.String(), "\n") != 2 || !strings.Contains(b.String(), `"outcome":"failed"`) {
		t.Fatalf("export: %q\n%s", resp.Header.Get("Content-Type"), b.String())
	}
}

// Per account on the console: clients guessing the admin token together
// are refused once the account saw its failures, each within its own
// allowance; the admin's own client, known to the account, still signs in.
func TestConsoleGuessingTogetherStaysSlowWithoutLockingOut(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	c, err := New(Options{Token: testToken, Admin: &fakeAdmin{}, Now: clock,
		Accounts: throttle.NewAccounts(throttle.AccountOptions{Failures: 12, Window: 10 * time.Minute, Now: clock})})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := signInFrom(c, "203.0.113.9:1000", testToken); code != http.StatusSeeOther {
		t.Fatalf("the admin: %d", code)
	}
	for i := range 12 {
		if code, _ := signInFrom(c, "198.51.100."+string(rune('1'+i%6))+":1", "wrong-guess"); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	if code, _ := signInFrom(c, "198.51.100.200:1", testToken); code != http.StatusTooManyRequests {
		t.Fatalf("a new client once the account saw 12 failures: %d, want 429", code)
	}
	if code, _ := signInFrom(c, "203.0.113.9:2000", testToken); code != http.StatusSeeOther {
		t.Fatalf("the admin's client after others' guesses: %d", code)
	}
}

func authedAdmin() context.Context {
	return auth.With(context.Background(), httpapi.AdminPrincipal)
}

// recordAccess keeps the audit entries the console records.
type recordAccess struct {
	httpapi.Admin
	mu      sync.Mutex
	entries []state.AuditEntry
}

func (a *recordAccess) Record(ctx context.Context, e state.AuditEntry) {
	if p, ok := auth.From(ctx); ok && e.Subject == "" {
		e.Subject, e.Role = p.Subject, p.Role.String()
	}
	e.Client = auth.Client(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, e)
}

// OIDC sign-ins and failed ones are in the audit log: who, with which
// issuer, from where.
func TestOIDCSignInsAudited(t *testing.T) {
	rig := newOIDCRig(t, nil, nil)
	rec := &recordAccess{}
	rig.handler.opts.Access = rec
	rig.issuer.SetUser(oidctest.User{Subject: "u1", Email: "ann@acme.example", Groups: []string{"support"}})
	if s := rig.signInOIDC(t, newSessionBrowser()); s.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", s.status)
	}
	rig.issuer.SetUser(oidctest.User{Subject: "m1", Email: "mia@other.example"})
	rig.refused(t, rig.signInOIDC(t, newSessionBrowser()), http.StatusForbidden, "no rule of this hub gives that account a role")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.entries) != 2 {
		t.Fatalf("entries %+v", rec.entries)
	}
	ok, failed := rec.entries[0], rec.entries[1]
	if ok.Kind != httpapi.KindSignIn || ok.Outcome != "" || ok.Subject != "oidc:"+rig.issuer.URL+"#u1" || ok.Role != "agent" ||
		ok.Target != "oidc:corp" || ok.Client != "127.0.0.1" {
		t.Errorf("sign-in entry %+v", ok)
	}
	// The ID token was verified, only no rule gave a role: who it names
	// is recorded (L3).
	if failed.Outcome != httpapi.OutcomeFailed || failed.Target != "oidc:corp" || failed.Subject != "oidc:"+rig.issuer.URL+"#m1" ||
		failed.Name != "mia@other.example" {
		t.Errorf("failed sign-in entry %+v", failed)
	}
}

// Signing out and signing out everywhere are audited (L3).
func TestSignOutsAudited(t *testing.T) {
	rec := &recordAccess{}
	srv := serveSessionConsole(t, Options{Access: rec})
	cl := newSessionBrowser()
	tokenSignIn(t, cl, srv.URL)
	csrf := getCSRF(t, cl, srv.URL+"/console/integrations")
	if r := post(t, cl, srv.URL+"/console/signout", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", r.StatusCode)
	}
	tokenSignIn(t, cl, srv.URL)
	tokenSignIn(t, newSessionBrowser(), srv.URL)
	csrf = getCSRF(t, cl, srv.URL+"/console/integrations")
	if r := post(t, cl, srv.URL+"/console/signout/everywhere", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out everywhere: %d", r.StatusCode)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var outs []state.AuditEntry
	for _, e := range rec.entries {
		if e.Action == "signout" || e.Action == "signout_everywhere" {
			outs = append(outs, e)
		}
	}
	if len(outs) != 2 || outs[0].Action != "signout" || outs[0].Subject != AdminSubject || outs[0].Kind != httpapi.KindSignIn ||
		outs[0].Client != "127.0.0.1" || outs[1].Action != "signout_everywhere" || outs[1].Subject != AdminSubject ||
		len(outs[1].Changes) != 1 || outs[1].Changes[0].To != "2" {
		t.Fatalf("sign-out entries %+v", outs)
	}
}
