package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/check"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/internal/throttle"
	"github.com/reviewhub/reviewhub/sdk"
)

const testToken = "unit-test-admin-token-0123456789"

// fakeAdmin stands for the admin API's functions: what it holds is what
// the pages read; err, when set, is what every call returns.
type fakeAdmin struct {
	mu           sync.Mutex
	integrations []httpapi.IntegrationJSON
	status       map[string]httpapi.IntegrationStatus
	retried      []string
	err          error
}

func (f *fakeAdmin) InstalledPlugins() []sdk.Info { return []sdk.Info{} }

func (f *fakeAdmin) Integrations(context.Context) ([]httpapi.IntegrationJSON, error) {
	return append([]httpapi.IntegrationJSON{}, f.integrations...), f.err
}

func (f *fakeAdmin) Integration(_ context.Context, id string) (httpapi.IntegrationJSON, error) {
	if f.err != nil {
		return httpapi.IntegrationJSON{}, f.err
	}
	for _, in := range f.integrations {
		if in.ID == id {
			return in, nil
		}
	}
	return httpapi.IntegrationJSON{}, &httpapi.Error{Status: http.StatusNotFound, Detail: fmt.Sprintf("no integration %q", id)}
}

func (f *fakeAdmin) Create(context.Context, httpapi.IntegrationJSON) (httpapi.IntegrationJSON, error) {
	return httpapi.IntegrationJSON{}, errors.New("fakeAdmin: create is not faked")
}

func (f *fakeAdmin) Update(context.Context, string, int, httpapi.IntegrationJSON) (httpapi.IntegrationJSON, error) {
	return httpapi.IntegrationJSON{}, errors.New("fakeAdmin: update is not faked")
}

func (f *fakeAdmin) Status(_ context.Context, id string) (httpapi.IntegrationStatus, error) {
	if f.err != nil {
		return httpapi.IntegrationStatus{}, f.err
	}
	if st, ok := f.status[id]; ok {
		return st, nil
	}
	return httpapi.IntegrationStatus{}, &httpapi.Error{Status: http.StatusNotFound, Detail: fmt.Sprintf("no integration %q", id)}
}

func (f *fakeAdmin) Check(context.Context, string) (check.Report, error) {
	return check.Report{}, errors.New("fakeAdmin: check is not faked")
}

func (f *fakeAdmin) RetryReply(_ context.Context, integrationID, messageID string) (httpapi.ReplyJSON, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retried = append(f.retried, integrationID+"/"+messageID)
	return httpapi.ReplyJSON{MessageID: messageID, Status: "pending"}, f.err
}

func (f *fakeAdmin) ListDeadLetters(context.Context) ([]bus.DeadLetter, error) {
	return []bus.DeadLetter{}, f.err
}
func (f *fakeAdmin) RetryDeadLetter(context.Context, int64) error { return f.err }
func (f *fakeAdmin) DropDeadLetter(context.Context, int64) error  { return f.err }

func newTestServer(t *testing.T) (*httptest.Server, *http.Client) {
	t.Helper()
	return newTestServerWith(t, &fakeAdmin{})
}

// newTestServerWith serves the console over admin.
func newTestServerWith(t *testing.T, admin Admin) (*httptest.Server, *http.Client) {
	t.Helper()
	c, err := New(Options{Token: testToken, Admin: admin})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return srv, cl
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func getCSRF(t *testing.T, cl *http.Client, u string) string {
	t.Helper()
	resp, err := cl.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	readBody(&b, resp)
	m := csrfField.FindStringSubmatch(b.String())
	if m == nil {
		t.Fatalf("no CSRF field in %s (%d)", u, resp.StatusCode)
	}
	return m[1]
}

func readBody(b *strings.Builder, resp *http.Response) {
	raw, _ := io.ReadAll(resp.Body)
	b.Write(raw)
}

func post(t *testing.T, cl *http.Client, u string, form url.Values) *http.Response {
	t.Helper()
	resp, err := cl.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestSignInSessionCSRFSignOut(t *testing.T) {
	srv, cl := newTestServer(t)
	resp, err := cl.Get(srv.URL + "/console/integrations")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/signin") {
		t.Fatalf("without a session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	csrf := getCSRF(t, cl, srv.URL+"/console/signin")
	if r := post(t, cl, srv.URL+"/console/signin", url.Values{"csrf": {csrf}, "token": {"wrong-token-wrong-token"}}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", r.StatusCode)
	}
	getCSRF(t, cl, srv.URL+"/console/signin")
	if r := post(t, cl, srv.URL+"/console/signin", url.Values{"token": {testToken}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in without its CSRF token: %d", r.StatusCode)
	}
	csrf = getCSRF(t, cl, srv.URL+"/console/signin")
	r := post(t, cl, srv.URL+"/console/signin", url.Values{"csrf": {csrf}, "token": {testToken}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", r.StatusCode)
	}
	var session *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == sessionCookie {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure {
		t.Fatalf("session cookie %+v", session)
	}
	csrf = getCSRF(t, cl, srv.URL+"/console/integrations")
	if r := post(t, cl, srv.URL+"/console/signout", url.Values{}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("post without CSRF: %d", r.StatusCode)
	}
	if r := post(t, cl, srv.URL+"/console/signout", url.Values{"csrf": {"x" + csrf}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("post with a wrong CSRF: %d", r.StatusCode)
	}
	if r := post(t, cl, srv.URL+"/console/signout", url.Values{"csrf": {csrf}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", r.StatusCode)
	}
	resp, _ = cl.Get(srv.URL + "/console/integrations")
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after sign-out: %d", resp.StatusCode)
	}
}

func TestCatalogsMatchAndTemplatesUseKnownKeys(t *testing.T) {
	for k := range catalog["en"] {
		if _, ok := catalog["ru"][k]; !ok {
			t.Errorf("ru lacks %q", k)
		}
	}
	for k := range catalog["ru"] {
		if _, ok := catalog["en"][k]; !ok {
			t.Errorf("en lacks %q", k)
		}
	}
	used := regexp.MustCompile(`\$?t\.([a-z_]+)|\.T\.([a-z_]+)`)
	entries, _ := os.ReadDir("templates")
	for _, e := range entries {
		raw, _ := os.ReadFile("templates/" + e.Name())
		for _, m := range used.FindAllStringSubmatch(string(raw), -1) {
			k := m[1] + m[2]
			if _, ok := catalog["en"][k]; !ok {
				t.Errorf("%s uses unknown text %q", e.Name(), k)
			}
		}
	}
	// The texts the Go code looks up (t["key"]) exist too.
	inGo := regexp.MustCompile(`\bt\["([a-z_]+)"\]`)
	goFiles, _ := filepath.Glob("*.go")
	n := 0
	for _, f := range goFiles {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		raw, _ := os.ReadFile(f)
		for _, m := range inGo.FindAllStringSubmatch(string(raw), -1) {
			n++
			if _, ok := catalog["en"][m[1]]; !ok {
				t.Errorf("%s looks up unknown text %q", f, m[1])
			}
		}
	}
	if n < 20 {
		t.Errorf("found %d t[\"…\"] lookups in the Go code; the pattern no longer finds them", n)
	}
	// Every supported language has a catalog under its base code.
	for _, tag := range supported {
		if base, _ := tag.Base(); catalog[base.String()] == nil {
			t.Errorf("no catalog for %s", tag)
		}
	}
}

func TestLanguageFromBrowserAndSwitch(t *testing.T) {
	srv, cl := newTestServer(t)
	get := func(lang string) string {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/console/signin", nil)
		req.Header.Set("Accept-Language", lang)
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		readBody(&b, resp)
		return b.String()
	}
	if body := get("ru-RU,ru;q=0.9,en;q=0.5"); !strings.Contains(body, `<html lang="ru">`) || !strings.Contains(body, "Токен администратора") {
		t.Error("Accept-Language ru did not give Russian")
	}
	if body := get("de-DE,de;q=0.9"); !strings.Contains(body, `<html lang="en">`) {
		t.Error("an unsupported language did not fall back to English")
	}
	resp, err := cl.Get(srv.URL + "/console/lang?l=ru&back=/console/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if body := get("en"); !strings.Contains(body, `<html lang="ru">`) {
		t.Error("the switch did not win over Accept-Language")
	}
	resp, _ = cl.Get(srv.URL + "/console/lang?l=en&back=https://evil.example/")
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "/console/integrations" {
		t.Errorf("back to another site: %q", loc)
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	srv, cl := newTestServer(t)
	csrf := getCSRF(t, cl, srv.URL+"/console/signin")
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/console/signin",
		strings.NewReader(url.Values{"csrf": {csrf}, "token": {testToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin sign-in: %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", got)
	}
}

// signInFrom posts a sign-in as the client at remote (an ip:port), with a
// matching CSRF cookie and field, and returns the status and Retry-After.
func signInFrom(c *Console, remote, token string) (int, string) {
	form := url.Values{"csrf": {"csrf-" + remote}, "token": {token}}
	req := httptest.NewRequest(http.MethodPost, "/console/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: signinCookie, Value: "csrf-" + remote})
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, req)
	return rec.Code, rec.Header().Get("Retry-After")
}

// TestOneClientFailingCannotLockOutAnother is the N1 reproduction of
// robustness-probe-2: client A fails 30 times; client B still signs in
// with the right token, while A waits out its window even with the right
// token (clock moved, no sleeping).
func TestOneClientFailingCannotLockOutAnother(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c, err := New(Options{Token: testToken, Admin: &fakeAdmin{}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	const a, b = "198.51.100.1:40001", "203.0.113.9:50002"
	refused := 0
	for i := range 30 {
		code, _ := signInFrom(c, a, fmt.Sprintf("wrong-%d", i))
		switch {
		case i < throttle.DefaultFailures && code != http.StatusUnauthorized:
			t.Fatalf("A's wrong sign-in %d: %d, want 401", i+1, code)
		case i >= throttle.DefaultFailures && code != http.StatusTooManyRequests:
			t.Fatalf("A's wrong sign-in %d: %d, want 429", i+1, code)
		case code == http.StatusTooManyRequests:
			refused++
		}
	}
	if refused != 30-throttle.DefaultFailures {
		t.Fatalf("A refused %d times, want %d", refused, 30-throttle.DefaultFailures)
	}
	if code, _ := signInFrom(c, b, testToken); code != http.StatusSeeOther {
		t.Fatalf("B with the right token after A's failures: %d, want 303 (signed in)", code)
	}
	// A from another port is the same client.
	code, retry := signInFrom(c, "198.51.100.1:40999", testToken)
	if code != http.StatusTooManyRequests || retry != "60" {
		t.Fatalf("A with the right token while throttled: %d Retry-After %q, want 429 60", code, retry)
	}
	now = now.Add(59 * time.Second)
	if code, retry := signInFrom(c, a, testToken); code != http.StatusTooManyRequests || retry != "1" {
		t.Fatalf("A 59 s on: %d Retry-After %q, want 429 1", code, retry)
	}
	now = now.Add(time.Second)
	if code, _ := signInFrom(c, a, testToken); code != http.StatusSeeOther {
		t.Fatalf("A once its window passed: %d, want 303", code)
	}
}

func TestWrongSignInsAreThrottled(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c, err := New(Options{Token: testToken, Admin: &fakeAdmin{}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	try := func(token string) int {
		csrf := getCSRF(t, cl, srv.URL+"/console/signin")
		return post(t, cl, srv.URL+"/console/signin", url.Values{"csrf": {csrf}, "token": {token}}).StatusCode
	}
	for i := range throttle.DefaultFailures {
		if code := try("wrong-wrong-wrong-wrong"); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	if code := try(testToken); code != http.StatusTooManyRequests {
		t.Fatalf("after %d wrong tokens, even the right one waits: %d", throttle.DefaultFailures, code)
	}
	now = now.Add(61 * time.Second)
	if code := try(testToken); code != http.StatusSeeOther {
		t.Fatalf("a minute later: %d", code)
	}
}
