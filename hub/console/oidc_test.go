package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/internal/oidctest"
	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
	"github.com/reviewhub/reviewhub/hub/internal/syncbuf"
	"github.com/reviewhub/reviewhub/hub/state"
)

const (
	oidcClientID = "reviewhub-console"
	oidcSecret   = "oidc-client-secret-never-shown-0123"
)

// oidcRig is a console with one OIDC issuer, the test issuer, and the log.
type oidcRig struct {
	issuer  *oidctest.Issuer
	console *httptest.Server
	handler *Console
	cfg     OIDCIssuer
	store   SessionStore
	log     *syncbuf.Buffer
}

// newOIDCRig serves a console signing in with the test issuer; change
// adjusts the issuer's configuration before the console is made.
func newOIDCRig(t *testing.T, store SessionStore, change func(*OIDCIssuer)) *oidcRig {
	t.Helper()
	is, err := oidctest.Start("", oidcClientID, oidcSecret)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(is.Close)
	if store == nil {
		store = NewMemorySessions()
	}
	rig := &oidcRig{issuer: is, store: store, log: &syncbuf.Buffer{}}
	cfg := OIDCIssuer{ID: "corp", Name: "Acme ID", Issuer: is.URL, ClientID: oidcClientID, ClientSecret: oidcSecret,
		Roles: []RoleRule{
			{Group: "support-admins", Role: auth.RoleAdmin},
			{Group: "support", Role: auth.RoleAgent},
			{EmailDomain: "acme.example", Role: auth.RoleViewer},
		}}
	if change != nil {
		change(&cfg)
	}
	// The console's URL must be known before it is made (its redirect
	// URL): a server started with a handler set afterwards.
	var c *Console
	rig.console = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { c.ServeHTTP(w, r) }))
	t.Cleanup(rig.console.Close)
	c, err = New(Options{Token: testToken, Admin: &fakeAdmin{}, Sessions: store, OIDC: []OIDCIssuer{cfg}, PublicURL: rig.console.URL,
		Logger: slog.New(slog.NewTextHandler(rig.log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	rig.handler, rig.cfg = c, cfg
	t.Cleanup(func() {
		if strings.Contains(rig.log.String(), oidcSecret) {
			t.Errorf("the client secret is in the log:\n%s", rig.log.String())
		}
	})
	return rig
}

// step is one response of a sign-in: its status, where it sends the
// browser and its page.
type step struct {
	status   int
	location string
	body     string
}

func get(t *testing.T, cl *http.Client, u string) step {
	t.Helper()
	resp, err := cl.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	loc := resp.Header.Get("Location")
	if loc != "" && strings.HasPrefix(loc, "/") {
		base, _ := url.Parse(u)
		loc = base.Scheme + "://" + base.Host + loc
	}
	return step{status: resp.StatusCode, location: loc, body: string(b)}
}

// startSignIn clicks the button: the console's start, then the issuer's
// /authorize; it returns the callback URL the issuer sends the browser to.
func (rig *oidcRig) startSignIn(t *testing.T, cl *http.Client) string {
	t.Helper()
	s := get(t, cl, rig.console.URL+"/console/oidc/corp/start?next="+url.QueryEscape("/console/deadletters"))
	if s.status != http.StatusFound || !strings.HasPrefix(s.location, rig.issuer.URL+"/authorize?") {
		t.Fatalf("start: %d %s", s.status, s.location)
	}
	s = get(t, cl, s.location)
	if s.status != http.StatusFound || !strings.HasPrefix(s.location, rig.console.URL+"/console/oidc/corp/callback?") {
		t.Fatalf("authorize: %d %s", s.status, s.location)
	}
	return s.location
}

// signInOIDC goes the whole way and returns the callback's answer.
func (rig *oidcRig) signInOIDC(t *testing.T, cl *http.Client) step {
	t.Helper()
	return get(t, cl, rig.startSignIn(t, cl))
}

// body is the sign-in page.
func (rig *oidcRig) body(t *testing.T) string {
	t.Helper()
	return get(t, newSessionBrowser(), rig.console.URL+"/console/signin").body
}

// whoAmI is the principal of cl's session, if any.
func (rig *oidcRig) whoAmI(t *testing.T, cl *http.Client) (name, role string, ok bool) {
	t.Helper()
	s := get(t, cl, rig.console.URL+"/console/integrations")
	if s.status != http.StatusOK {
		return "", "", false
	}
	name = between(s.body, `<strong id="signed-in-name">`, `</strong>`)
	role = between(s.body, `<span id="signed-in-role">`, `</span>`)
	return name, role, true
}

func between(s, from, to string) string {
	_, after, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, to)
	return v
}

func (rig *oidcRig) refused(t *testing.T, s step, status int, says ...string) {
	t.Helper()
	if s.status != status {
		t.Errorf("status %d, want %d; page:\n%s", s.status, status, s.body)
	}
	for _, want := range says {
		if !strings.Contains(s.body, want) {
			t.Errorf("the page does not say %q:\n%s", want, between(s.body, `<p class="problem" role="alert">`, `</p>`))
		}
	}
	if strings.Contains(s.body, oidcSecret) || strings.Contains(s.body, "goroutine ") {
		t.Errorf("the page shows the secret or a stack:\n%s", s.body)
	}
	if !strings.Contains(s.body, `href="/console/oidc/corp/start`) {
		t.Error("a refused sign-in's page has no button to try again")
	}
}

// The whole sign-in: the button on the sign-in page, PKCE S256, state and
// nonce sent, the callback landing on the page asked for with a session
// of the mapped role, kept in the state with the issuer's subject.
func TestOIDCSignIn(t *testing.T) {
	rig := newOIDCRig(t, nil, nil)
	yes := true
	if page := rig.body(t); !strings.Contains(page, `>Sign in with Acme ID</a>`) || !strings.Contains(page, `name="token"`) {
		t.Fatalf("the sign-in page has no OIDC button or token form:\n%s", page)
	}
	for _, c := range []struct {
		user oidctest.User
		role string
	}{
		{oidctest.User{Subject: "u1", Email: "ann@acme.example", Groups: []string{"support", "support-admins"}}, "admin"},
		{oidctest.User{Subject: "u2", Email: "bob@acme.example", Groups: []string{"support"}}, "agent"},
		{oidctest.User{Subject: "u3", Email: "cid@ACME.example", EmailVerified: &yes}, "viewer"},
	} {
		rig.issuer.SetUser(c.user)
		cl := newSessionBrowser()
		s := rig.signInOIDC(t, cl)
		if s.status != http.StatusSeeOther || s.location != rig.console.URL+"/console/deadletters" {
			t.Fatalf("%s: callback %d %s\n%s", c.user.Subject, s.status, s.location, s.body)
		}
		q := rig.issuer.LastAuthorize()
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" ||
			q.Get("redirect_uri") != rig.console.URL+"/console/oidc/corp/callback" || !strings.Contains(q.Get("scope"), "openid") {
			t.Errorf("authorization request %v", q)
		}
		name, role, ok := rig.whoAmI(t, cl)
		if !ok || name != c.user.Email || role != c.role {
			t.Errorf("%s: signed in %v as %q (%q), want %q (%q)", c.user.Subject, ok, name, role, c.user.Email, c.role)
		}
	}
	if !strings.Contains(rig.log.String(), `subject=oidc:`+rig.issuer.URL+`#u1`) {
		t.Errorf("the sign-in of u1 is not logged with its subject:\n%s", rig.log.String())
	}
}

// Callbacks that are not this browser's sign-in are refused: a state that
// differs from the flow's cookie, no cookie (another browser), and the same
// callback a second time.
func TestOIDCWrongState(t *testing.T) {
	rig := newOIDCRig(t, nil, nil)
	cl := newSessionBrowser()
	cb := rig.startSignIn(t, cl)
	u, _ := url.Parse(cb)
	q := u.Query()
	q.Set("state", q.Get("state")+"x")
	wrong := *u
	wrong.RawQuery = q.Encode()
	rig.refused(t, get(t, cl, wrong.String()), http.StatusForbidden, "does not belong to this browser")

	cl = newSessionBrowser()
	cb = rig.startSignIn(t, cl)
	rig.refused(t, get(t, newSessionBrowser(), cb), http.StatusForbidden, "does not belong to this browser")

	cl = newSessionBrowser()
	cb = rig.startSignIn(t, cl)
	if s := get(t, cl, cb); s.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %s", s.status, s.body)
	}
	// The same callback again, its cookie put back: the flow was taken.
	again := newSessionBrowser()
	cbURL, _ := url.Parse(cb)
	again.Jar.SetCookies(cbURL, []*http.Cookie{{Name: flowCookie, Value: cbURL.Query().Get("state"), Path: "/console/oidc/corp"}})
	rig.refused(t, get(t, again, cb), http.StatusForbidden, "already used")
	if n := rig.issuer.TokensIssued(); n != 1 {
		t.Errorf("%d ID tokens issued, want 1 (refused callbacks must not reach the issuer)", n)
	}
}

// ID tokens that must not sign anyone in: another sign-in's nonce, expired,
// for another client (audience), from another issuer.
func TestOIDCTokenChecks(t *testing.T) {
	for _, c := range []struct {
		name   string
		tamper func(map[string]any)
		says   string
	}{
		{"wrong nonce", func(cl map[string]any) { cl["nonce"] = "someone-elses-nonce" }, "nonce is not this sign-in"},
		{"no nonce", func(cl map[string]any) { delete(cl, "nonce") }, "nonce is not this sign-in"},
		{"expired", func(cl map[string]any) {
			cl["exp"] = time.Now().Add(-time.Hour).Unix()
			cl["iat"] = time.Now().Add(-2 * time.Hour).Unix()
		}, "expired"},
		{"wrong audience", func(cl map[string]any) { cl["aud"] = "another-client" }, "audience"},
		{"wrong issuer", func(cl map[string]any) { cl["iss"] = "https://evil.example" }, "different provider"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rig := newOIDCRig(t, nil, nil)
			rig.issuer.SetUser(oidctest.User{Subject: "u1", Email: "ann@acme.example", Groups: []string{"support-admins"}})
			rig.issuer.Tamper(c.tamper)
			cl := newSessionBrowser()
			rig.refused(t, rig.signInOIDC(t, cl), http.StatusUnauthorized, "was not accepted", c.says)
			if _, _, ok := rig.whoAmI(t, cl); ok {
				t.Error("signed in with a bad ID token")
			}
		})
	}
}

// pkceStore hands the callback a flow whose PKCE verifier was changed:
// the issuer must refuse the code, and the console say so.
type pkceStore struct {
	SessionStore
	verifier string
}

func (p pkceStore) TakeSignInFlow(ctx context.Context, key string) (state.SignInFlow, bool, error) {
	f, ok, err := p.SessionStore.TakeSignInFlow(ctx, key)
	f.Verifier = p.verifier
	return f, ok, err
}

func TestOIDCPKCEVerifier(t *testing.T) {
	for name, verifier := range map[string]string{"missing": "", "wrong": "a-verifier-of-another-sign-in-0123456789abcdefghijk"} {
		t.Run(name, func(t *testing.T) {
			rig := newOIDCRig(t, pkceStore{SessionStore: NewMemorySessions(), verifier: verifier}, nil)
			cl := newSessionBrowser()
			rig.refused(t, rig.signInOIDC(t, cl), http.StatusBadGateway, "did not sign you in", "invalid_grant", "PKCE")
			if rig.issuer.TokensIssued() != 0 {
				t.Error("the issuer issued a token without the right verifier")
			}
		})
	}
}

// Whoever no rule gives a role is refused with a page that says so: an
// unknown group, another domain, an address of the domain the issuer
// marks unverified. The first rule that matches wins.
func TestOIDCRoleMapping(t *testing.T) {
	rig := newOIDCRig(t, nil, nil)
	no := false
	for _, u := range []oidctest.User{
		{Subject: "m1", Email: "mia@other.example", Groups: []string{"marketing"}},
		{Subject: "m2", Email: "max@acme.example", EmailVerified: &no},
		{Subject: "m3", Email: "acme.example"},
		{Subject: "m4", Email: "moe@acme.example"}, // no email_verified claim
	} {
		rig.issuer.SetUser(u)
		cl := newSessionBrowser()
		rig.refused(t, rig.signInOIDC(t, cl), http.StatusForbidden, "no rule of this hub gives that account a role", u.Email)
		if _, _, ok := rig.whoAmI(t, cl); ok {
			t.Errorf("%s signed in without a role", u.Subject)
		}
	}
	yes := true
	cl := claims{Email: "ann@acme.example", EmailVerified: &yes}
	cfg := OIDCIssuer{Roles: []RoleRule{{EmailDomain: "acme.example", Role: auth.RoleViewer}, {Group: "support-admins", Role: auth.RoleAdmin}}}
	if r, ok := mapRole(cfg, cl, []string{"support-admins"}); !ok || r != auth.RoleViewer {
		t.Errorf("first match: %v %v, want viewer", r, ok)
	}
	// Email domains need email_verified: true (L1); a missing claim counts
	// as unverified unless the issuer is configured to trust it.
	domainOnly := OIDCIssuer{Roles: []RoleRule{{EmailDomain: "acme.example", Role: auth.RoleViewer}}}
	if r, ok := mapRole(domainOnly, claims{Email: "ann@acme.example"}, nil); ok {
		t.Errorf("an address without email_verified matched an email domain: %v", r)
	}
	domainOnly.TrustUnverifiedEmail = true
	if r, ok := mapRole(domainOnly, claims{Email: "ann@acme.example"}, nil); !ok || r != auth.RoleViewer {
		t.Errorf("trust_unverified_email: %v %v, want viewer", r, ok)
	}
	if got := groupsOf("one"); len(got) != 1 || got[0] != "one" {
		t.Errorf("a groups claim of one string: %v", got)
	}
}

// The issuer's own refusal, an issuer that cannot be reached and a wrong
// client secret: clear pages, no stack, no secret.
func TestOIDCIssuerErrors(t *testing.T) {
	rig := newOIDCRig(t, nil, nil)
	rig.issuer.Refuse("access_denied")
	rig.refused(t, rig.signInOIDC(t, newSessionBrowser()), http.StatusUnauthorized, "Acme ID did not sign you in", "access_denied")

	rig = newOIDCRig(t, nil, func(c *OIDCIssuer) { c.ClientSecret = "a-wrong-secret-0123456789" })
	s := rig.signInOIDC(t, newSessionBrowser())
	rig.refused(t, s, http.StatusBadGateway, "did not sign you in", "invalid_client")
	if strings.Contains(s.body, "a-wrong-secret") || strings.Contains(rig.log.String(), "a-wrong-secret") {
		t.Error("the configured secret is shown or logged")
	}

	rig = newOIDCRig(t, nil, nil)
	rig.issuer.Close()
	rig.refused(t, get(t, newSessionBrowser(), rig.console.URL+"/console/oidc/corp/start"), http.StatusBadGateway, "Acme ID cannot be reached")
	if s := get(t, newSessionBrowser(), rig.console.URL+"/console/oidc/nope/start"); s.status != http.StatusNotFound {
		t.Errorf("unknown issuer: %d", s.status)
	}
}

// With the admin token's sign-in off, the page offers OIDC alone and a
// posted token signs nobody in.
func TestOIDCOnly(t *testing.T) {
	is, err := oidctest.Start("", oidcClientID, oidcSecret)
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	c, err := New(Options{Admin: &fakeAdmin{}, PublicURL: "http://127.0.0.1:1", OIDC: []OIDCIssuer{{ID: "corp", Issuer: is.URL,
		ClientID: oidcClientID, ClientSecret: oidcSecret, Roles: []RoleRule{{Group: "g", Role: auth.RoleViewer}}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	defer srv.Close()
	page := get(t, newSessionBrowser(), srv.URL+"/console/signin").body
	if strings.Contains(page, `name="token"`) || !strings.Contains(page, "Sign in with corp") {
		t.Errorf("sign-in page with the token off:\n%s", page)
	}
	if r := post(t, newSessionBrowser(), srv.URL+"/console/signin", url.Values{"token": {""}, "csrf": {""}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("a token sign-in with the token off: %d", r.StatusCode)
	}
}

// Starting sign-ins stores flows: one client may start maxStarts a minute,
// then it waits (429) while another client starts as usual.
func TestOIDCStartsThrottledPerClient(t *testing.T) {
	rig := newOIDCRig(t, nil, nil)
	start := func(remote string) int {
		req := httptest.NewRequest(http.MethodGet, "/console/oidc/corp/start", nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		rig.handler.ServeHTTP(rec, req)
		return rec.Code
	}
	for i := range maxStarts {
		if code := start("192.0.2.1:1000"); code != http.StatusFound {
			t.Fatalf("start %d: %d", i+1, code)
		}
	}
	if code := start("192.0.2.1:1001"); code != http.StatusTooManyRequests {
		t.Errorf("start %d from one client: %d, want 429", maxStarts+1, code)
	}
	if code := start("192.0.2.2:1000"); code != http.StatusFound {
		t.Errorf("another client's start: %d", code)
	}
}

// Two hubs on one PostgreSQL behind one address: the sign-in started on
// one finishes on the other (the flow is in the state), and the session
// made there is good on the first.
func TestOIDCAcrossHubs(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	open := func() *state.DB {
		db, err := state.OpenPostgres(ctx, dsn, sessionSealer(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a := newOIDCRig(t, open(), nil)
	a.issuer.SetUser(oidctest.User{Subject: "u9", Email: "ann@acme.example", Groups: []string{"support"}})
	// Hub B: the same issuer and public URL (A's: the load balancer's), its own state connection.
	b, err := New(Options{Admin: &fakeAdmin{}, Sessions: open(), OIDC: []OIDCIssuer{a.cfg}, PublicURL: a.console.URL})
	if err != nil {
		t.Fatal(err)
	}
	bSrv := httptest.NewServer(b)
	defer bSrv.Close()
	cl := newSessionBrowser()
	cb := a.startSignIn(t, cl) // started on A
	onB := strings.Replace(cb, a.console.URL, bSrv.URL, 1)
	bURL, _ := url.Parse(bSrv.URL + "/console/oidc/corp/callback")
	aURL, _ := url.Parse(a.console.URL + "/console/oidc/corp/callback")
	cl.Jar.SetCookies(bURL, cl.Jar.Cookies(aURL)) // the balancer's one address
	s := get(t, cl, onB)
	if s.status != http.StatusSeeOther {
		t.Fatalf("callback on B: %d\n%s", s.status, s.body)
	}
	var session string
	for _, ck := range cl.Jar.Cookies(bURL) {
		if ck.Name == sessionCookie {
			session = ck.Value
		}
	}
	if !sessionGood(t, newSessionBrowser(), a.console.URL, session) {
		t.Fatal("the session made on B is not good on A")
	}
}

// An error answer is checked like any callback (L2): without this
// browser's flow it shows the state page, not the query's text; with it,
// only a known error code is shown and the description goes to the log.
func TestOIDCErrorAnswerNeedsTheFlow(t *testing.T) {
	rig := newOIDCRig(t, nil, nil)
	forged := rig.console.URL + "/console/oidc/corp/callback?error=access_denied&error_description=" +
		url.QueryEscape("Call +1-555-0100 to restore your account")
	s := get(t, newSessionBrowser(), forged)
	// (The language links carry the page's URL, escaped: look for the text as shown.)
	if s.status != http.StatusForbidden || strings.Contains(s.body, "to restore your account") || strings.Contains(s.body, "did not sign you in") {
		t.Fatalf("a forged error link without a flow: %d, shows its text:\n%s", s.status, s.body)
	}
	rig.issuer.Refuse("made_up_<b>code</b>")
	s = rig.signInOIDC(t, newSessionBrowser())
	if s.status != http.StatusUnauthorized || strings.Contains(s.body, "made_up_&lt;b&gt;") || !strings.Contains(s.body, "(unknown error)") {
		t.Fatalf("an unknown error code: %d, want 401 with a fixed text:\n%s", s.status, s.body)
	}
	if strings.Contains(s.body, "the test issuer refuses") {
		t.Error("the issuer's description is shown")
	}
	if !strings.Contains(rig.log.String(), "the test issuer refuses") {
		t.Error("the issuer's description is not logged")
	}
}
