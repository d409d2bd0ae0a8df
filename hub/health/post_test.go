package health

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// An alert webhook that redirects gets nothing more: the alert is not
// re-sent to the redirect's target (a blind SSRF through the admin's URL).
func TestAlertWebhookFollowsNoRedirect(t *testing.T) {
	var landed atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { landed.Add(1) }))
	defer target.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/landed", http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	for _, m := range []*Monitor{{}, {HTTP: &http.Client{}}} {
		err := m.post(context.Background(), redirect.URL+"/hook", []byte(`{}`))
		if err == nil || !strings.Contains(err.Error(), "307") {
			t.Errorf("a redirecting webhook: %v, want its 307 as the failure", err)
		}
	}
	if n := landed.Load(); n != 0 {
		t.Errorf("the redirect's target got %d alerts", n)
	}
}

// health.alert_hosts limits the hosts alerts reach; only http(s) is sent.
func TestAlertWebhookHosts(t *testing.T) {
	var got atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { got.Add(1) }))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	ctx := context.Background()
	if err := (&Monitor{AllowHosts: []string{"hooks.example.com"}}).post(ctx, srv.URL, []byte(`{}`)); err == nil ||
		!strings.Contains(err.Error(), "not in health.alert_hosts") {
		t.Errorf("a host outside the list: %v", err)
	}
	if n := got.Load(); n != 0 {
		t.Fatalf("a host outside the list got %d alerts", n)
	}
	if err := (&Monitor{AllowHosts: []string{"hooks.example.com", strings.ToUpper(u.Hostname())}}).post(ctx, srv.URL, []byte(`{}`)); err != nil {
		t.Errorf("a listed host: %v", err)
	}
	if n := got.Load(); n != 1 {
		t.Errorf("the listed host got %d alerts, want 1", n)
	}
	if err := (&Monitor{}).post(ctx, "file:///etc/passwd", []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "http(s)") {
		t.Errorf("a file URL: %v", err)
	}
}
