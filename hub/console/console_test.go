package console

import (
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/httpapi"
)

const testToken = "unit-test-admin-token-0123456789"

// stubAdmin answers the few admin API calls the pages below make.
func stubAdmin(r *mux.Router) {
	r.HandleFunc("/plugins", func(w http.ResponseWriter, _ *http.Request) { httpapi.WriteJSON(w, 200, []any{}) })
	r.HandleFunc("/integrations", func(w http.ResponseWriter, _ *http.Request) { httpapi.WriteJSON(w, 200, []any{}) })
	r.HandleFunc("/deadletters", func(w http.ResponseWriter, _ *http.Request) { httpapi.WriteJSON(w, 200, []any{}) })
}

func newTestServer(t *testing.T) (*httptest.Server, *http.Client) {
	t.Helper()
	c, err := New(Options{Token: testToken, Admin: stubAdmin})
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
	_, _ = io_copy(&b, resp)
	m := csrfField.FindStringSubmatch(b.String())
	if m == nil {
		t.Fatalf("no CSRF field in %s (%d)", u, resp.StatusCode)
	}
	return m[1]
}

func io_copy(b *strings.Builder, resp *http.Response) (int64, error) {
	buf := make([]byte, 32<<10)
	var n int64
	for {
		k, err := resp.Body.Read(buf)
		b.Write(buf[:k])
		n += int64(k)
		if err != nil {
			return n, nil
		}
	}
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
	csrf = getCSRF(t, cl, srv.URL+"/console/signin")
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
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
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
}
