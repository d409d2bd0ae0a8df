package console

import (
	"bytes"
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
	"github.com/reviewhub/reviewhub/hub/secrets"
	"github.com/reviewhub/reviewhub/hub/state"
)

func sessionSealer(t *testing.T) *secrets.Sealer {
	t.Helper()
	s, err := secrets.New(bytes.Repeat([]byte{7}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sessionClock is a clock tests move by hand.
type sessionClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *sessionClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *sessionClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// serveSessionConsole serves a console with o (Token and Admin filled in when
// unset) and returns its server.
func serveSessionConsole(t *testing.T, o Options) *httptest.Server {
	t.Helper()
	if o.Token == "" && len(o.OIDC) == 0 {
		o.Token = testToken
	}
	if o.Admin == nil {
		o.Admin = &fakeAdmin{}
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return srv
}

func newSessionBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// tokenSignIn signs in with the admin token and returns the session cookie's value.
func tokenSignIn(t *testing.T, cl *http.Client, base string) string {
	t.Helper()
	csrf := getCSRF(t, cl, base+"/console/signin")
	r := post(t, cl, base+"/console/signin", url.Values{"csrf": {csrf}, "token": {testToken}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", r.StatusCode)
	}
	for _, c := range r.Cookies() {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	t.Fatal("sign-in set no session cookie")
	return ""
}

// sessionGood reports whether cl (with the cookie value given, when not "")
// gets a console page from base.
func sessionGood(t *testing.T, cl *http.Client, base, cookie string) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/console/integrations", nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
	}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true
	case http.StatusSeeOther:
		return false
	}
	t.Fatalf("console page: %d", resp.StatusCode)
	return false
}

// testCorp is an OIDC issuer for sessions made "via oidc:corp".
var testCorp = OIDCIssuer{ID: "corp", Name: "Corp", Issuer: "https://id.example", ClientID: "hub"}

// testOrigin is the origin a console with o stores for a session made via.
func testOrigin(t *testing.T, o Options, via string) string {
	t.Helper()
	if o.Admin == nil {
		o.Admin = &fakeAdmin{}
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	origin, ok := c.originOf(via)
	if !ok {
		t.Fatalf("no origin for %q", via)
	}
	return origin
}

// Sessions kept in the state: a session made on one console is good on a
// second console of the same state (another hub) and after a restart
// (the state opened again); the state keeps the cookie's hash, never the
// cookie; signing out on one hub ends it on the other.
func TestSessionsLiveInTheState(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "hub.db")
		open := func() *state.DB {
			db, err := state.OpenSQLite(ctx, path, sessionSealer(t))
			if err != nil {
				t.Fatal(err)
			}
			return db
		}
		testSessionsShared(t, open)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		testSessionsShared(t, func() *state.DB {
			db, err := state.OpenPostgres(ctx, dsn, sessionSealer(t))
			if err != nil {
				t.Fatal(err)
			}
			return db
		})
	})
}

func testSessionsShared(t *testing.T, open func() *state.DB) {
	dbA, dbB := open(), open()
	a := serveSessionConsole(t, Options{Sessions: dbA})
	b := serveSessionConsole(t, Options{Sessions: dbB})
	cl := newSessionBrowser()
	cookie := tokenSignIn(t, cl, a.URL)
	if !sessionGood(t, newSessionBrowser(), b.URL, cookie) {
		t.Fatal("the session of hub A is not good on hub B")
	}
	if sessionGood(t, newSessionBrowser(), b.URL, cookie+"x") {
		t.Fatal("a wrong cookie is good on hub B")
	}
	// The state holds the hash, not the value.
	var n int
	if err := dbA.SQL().QueryRow(dbA.Rebind(`SELECT COUNT(*) FROM console_sessions WHERE key = ?`), cookie).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the cookie's value is stored: %d %v", n, err)
	}
	var subject, role, via string
	if err := dbA.SQL().QueryRow(dbA.Rebind(`SELECT subject, role, via FROM console_sessions WHERE key = ?`), keyOf(cookie)).
		Scan(&subject, &role, &via); err != nil || subject != AdminSubject || role != "admin" || via != "admin_token" {
		t.Fatalf("stored session: %q %q %q %v", subject, role, via, err)
	}
	// A restart: both hubs gone, a new one on the same state.
	a.Close()
	b.Close()
	dbA.Close()
	dbB.Close()
	dbC := open()
	t.Cleanup(func() { dbC.Close() })
	c := serveSessionConsole(t, Options{Sessions: dbC})
	if !sessionGood(t, newSessionBrowser(), c.URL, cookie) {
		t.Fatal("the session did not survive a restart")
	}
	dbD := open()
	t.Cleanup(func() { dbD.Close() })
	d := serveSessionConsole(t, Options{Sessions: dbD})
	// Sign out on D ends the session on C.
	u, _ := url.Parse(d.URL)
	cl.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: cookie, Path: "/console"}})
	csrf := getCSRF(t, cl, d.URL+"/console/integrations")
	if r := post(t, cl, d.URL+"/console/signout", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out on D: %d", r.StatusCode)
	}
	if sessionGood(t, newSessionBrowser(), c.URL, cookie) {
		t.Fatal("signed out on one hub, still signed in on the other")
	}
}

// Idle and absolute timeouts: a session used often enough lives until
// its maximum age; one left alone ends after the idle timeout.
func TestSessionTimeouts(t *testing.T) {
	db, err := state.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "hub.db"), sessionSealer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := &sessionClock{now: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	srv := serveSessionConsole(t, Options{Sessions: db, Now: clock.Now, SessionTTL: time.Hour, SessionMaxAge: 5 * time.Hour})
	busy, idle := newSessionBrowser(), newSessionBrowser()
	tokenSignIn(t, busy, srv.URL)
	tokenSignIn(t, idle, srv.URL)
	for range 4 { // 4 × 55 min: the busy one is in use, the idle one not
		clock.Add(55 * time.Minute)
		if !sessionGood(t, busy, srv.URL, "") {
			t.Fatalf("a session in use ended before its maximum age (at %v)", clock.Now())
		}
	}
	if sessionGood(t, idle, srv.URL, "") {
		t.Fatal("a session unused for 3h40m is still good with a 1h idle timeout")
	}
	clock.Add(55 * time.Minute) // 4h35m
	if !sessionGood(t, busy, srv.URL, "") {
		t.Fatal("the busy session ended before 5h")
	}
	clock.Add(30 * time.Minute) // 5h05m: past the maximum age, though in use
	if sessionGood(t, busy, srv.URL, "") {
		t.Fatal("a session older than its maximum age is still good")
	}
	// Expired rows are pruned at a later sign-in.
	clock.Add(time.Hour)
	tokenSignIn(t, newSessionBrowser(), srv.URL)
	var n int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM console_sessions`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d sessions kept after the prune, want 1 (%v)", n, err)
	}
}

// Sign out everywhere ends every session of the principal, in every
// browser; a session of someone else stays.
func TestSignOutEverywhere(t *testing.T) {
	store := NewMemorySessions()
	o := Options{Sessions: store, Token: testToken, OIDC: []OIDCIssuer{testCorp}, PublicURL: "https://hub.example"}
	srv := serveSessionConsole(t, o)
	one, two := newSessionBrowser(), newSessionBrowser()
	tokenSignIn(t, one, srv.URL)
	tokenSignIn(t, two, srv.URL)
	other := "someone-else-cookie"
	now := time.Now()
	if err := store.CreateSession(context.Background(), state.Session{Key: keyOf(other), Subject: "oidc:https://id.example#42",
		Name: "ann@acme.example", Role: "viewer", Via: "oidc:corp", Origin: testOrigin(t, o, "oidc:corp"), CSRF: "c", CreatedAt: now, SeenAt: now}); err != nil {
		t.Fatal(err)
	}
	csrf := getCSRF(t, one, srv.URL+"/console/integrations")
	if r := post(t, one, srv.URL+"/console/signout/everywhere", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out everywhere: %d", r.StatusCode)
	}
	if sessionGood(t, one, srv.URL, "") || sessionGood(t, two, srv.URL, "") {
		t.Fatal("a session of the admin survived sign out everywhere")
	}
	if !sessionGood(t, newSessionBrowser(), srv.URL, other) {
		t.Fatal("sign out everywhere ended another principal's session")
	}
}

// The console's handlers see the session's principal in the request's
// context (auth.From), for role checks and the audit log.
func TestSessionPrincipalInContext(t *testing.T) {
	store := NewMemorySessions()
	o := Options{Token: testToken, Admin: &fakeAdmin{}, Sessions: store, OIDC: []OIDCIssuer{testCorp}, PublicURL: "https://hub.example"}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := store.CreateSession(context.Background(), state.Session{Key: keyOf("v"), Subject: "oidc:https://id.example#42",
		Name: "ann@acme.example", Role: "agent", Via: "oidc:corp", Origin: testOrigin(t, o, "oidc:corp"), CSRF: "c", CreatedAt: now, SeenAt: now}); err != nil {
		t.Fatal(err)
	}
	var got auth.Principal
	var ok bool
	h := c.requireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got, ok = auth.From(r.Context()) }))
	req := httptest.NewRequest(http.MethodGet, "/console/integrations", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: "v"})
	h.ServeHTTP(httptest.NewRecorder(), req)
	want := auth.Principal{Subject: "oidc:https://id.example#42", Name: "ann@acme.example", Role: auth.RoleAgent, Via: auth.ViaSession}
	if !ok || got != want {
		t.Fatalf("principal %+v %v, want %+v", got, ok, want)
	}
	// The page says who is signed in.
	rec := httptest.NewRecorder()
	req = httptest.NewRequest(http.MethodGet, "/console/integrations", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: "v"})
	c.ServeHTTP(rec, req)
	if body := rec.Body.String(); !strings.Contains(body, `<strong id="signed-in-name">ann@acme.example</strong> (<span id="signed-in-role">agent</span>)`) {
		t.Errorf("the page does not name the signed-in principal:\n%s", body)
	}
}

// Cookies are Secure when the hub is reached over https; the admin token
// does not sign in when it is turned off for the console.
func TestSecureCookiesAndTokenOff(t *testing.T) {
	c, err := New(Options{Token: testToken, Admin: &fakeAdmin{}, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/console/signin", nil))
	for _, ck := range rec.Result().Cookies() {
		if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
			t.Errorf("cookie %s: secure %v httponly %v samesite %v", ck.Name, ck.Secure, ck.HttpOnly, ck.SameSite)
		}
	}
	if _, err := New(Options{Admin: &fakeAdmin{}}); err == nil {
		t.Error("a console with no way to sign in was made")
	}
}

// A stored session is only as good as what made it (M1): one made with the
// admin token ends when the token changes or the token sign-in goes off;
// one made with an OIDC issuer ends when that issuer leaves the config.
// The state keeps a fingerprint of the token, never the token.
func TestSessionEndsWhenItsSignInChanges(t *testing.T) {
	ctx := context.Background()
	db, err := state.OpenSQLite(ctx, filepath.Join(t.TempDir(), "hub.db"), sessionSealer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	corp := OIDCIssuer{ID: "corp", Name: "Corp", Issuer: "https://idp.example", ClientID: "hub"}
	withOIDC := Options{Sessions: db, Token: testToken, OIDC: []OIDCIssuer{corp}, PublicURL: "https://hub.example"}
	a := serveSessionConsole(t, withOIDC)
	cookie := tokenSignIn(t, newSessionBrowser(), a.URL)
	var origin string
	if err := db.SQL().QueryRow(`SELECT origin FROM console_sessions WHERE key = ?`, keyOf(cookie)).Scan(&origin); err != nil {
		t.Fatal(err)
	}
	if origin == "" || strings.Contains(origin, testToken) {
		t.Fatalf("stored origin %q: want a fingerprint, not empty and not the token", origin)
	}
	if !sessionGood(t, newSessionBrowser(), serveSessionConsole(t, withOIDC).URL, cookie) {
		t.Fatal("the session is not good on a hub with the same config")
	}
	// A session made by OIDC issuer corp (as the callback stores it).
	ca, err := New(Options{Admin: &fakeAdmin{}, Sessions: db, OIDC: []OIDCIssuer{corp}, PublicURL: "https://hub.example"})
	if err != nil {
		t.Fatal(err)
	}
	oidcOrigin, ok := ca.originOf("oidc:corp")
	if !ok {
		t.Fatal("no origin for a configured issuer")
	}
	oidcCookie := "oidc-session-cookie"
	now := time.Now()
	if err := db.CreateSession(ctx, state.Session{Key: keyOf(oidcCookie), Subject: "oidc:https://idp.example#1", Name: "Ann",
		Role: "viewer", Via: "oidc:corp", Origin: oidcOrigin, CSRF: "c", CreatedAt: now, SeenAt: now}); err != nil {
		t.Fatal(err)
	}
	if !sessionGood(t, newSessionBrowser(), a.URL, oidcCookie) {
		t.Fatal("the OIDC session is not good while its issuer is configured")
	}

	changed := serveSessionConsole(t, Options{Sessions: db, Token: testToken + "-rotated", OIDC: []OIDCIssuer{corp}, PublicURL: "https://hub.example"})
	if sessionGood(t, newSessionBrowser(), changed.URL, cookie) {
		t.Fatal("a session made with the old admin token is good after the token changed")
	}
	if sessionGood(t, newSessionBrowser(), a.URL, cookie) {
		t.Fatal("the refused session was not ended")
	}

	cookie = tokenSignIn(t, newSessionBrowser(), a.URL)
	tokenOff := serveSessionConsole(t, Options{Sessions: db, OIDC: []OIDCIssuer{corp}, PublicURL: "https://hub.example"})
	if sessionGood(t, newSessionBrowser(), tokenOff.URL, cookie) {
		t.Fatal("a token session is good after the token sign-in went off")
	}

	otherIssuer := OIDCIssuer{ID: "corp", Name: "Corp", Issuer: "https://other-idp.example", ClientID: "hub"}
	if sessionGood(t, newSessionBrowser(), serveSessionConsole(t, Options{Sessions: db, Token: testToken, OIDC: []OIDCIssuer{otherIssuer},
		PublicURL: "https://hub.example"}).URL, oidcCookie) {
		t.Fatal("an OIDC session is good after its issuer ID was pointed at another issuer")
	}
	if err := db.CreateSession(ctx, state.Session{Key: keyOf(oidcCookie + "2"), Subject: "oidc:https://idp.example#1", Name: "Ann",
		Role: "viewer", Via: "oidc:corp", Origin: oidcOrigin, CSRF: "c", CreatedAt: now, SeenAt: now}); err != nil {
		t.Fatal(err)
	}
	if sessionGood(t, newSessionBrowser(), serveSessionConsole(t, Options{Sessions: db, Token: testToken}).URL, oidcCookie+"2") {
		t.Fatal("an OIDC session is good after its issuer left the config")
	}
	// A session of an earlier release (no origin) ends.
	if err := db.CreateSession(ctx, state.Session{Key: keyOf("old"), Subject: AdminSubject, Name: "admin", Role: "admin",
		Via: "admin_token", CSRF: "c", CreatedAt: now, SeenAt: now}); err != nil {
		t.Fatal(err)
	}
	if sessionGood(t, newSessionBrowser(), a.URL, "old") {
		t.Fatal("a session without an origin is good")
	}
}
