package agc_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/appgallery/agc"
	"github.com/reviewhub/reviewhub/plugins/appgallery/fake"
)

// A cached token is used until TokenRenewBefore ahead of its expiry and
// renewed then, before AppGallery would refuse it; both sides read one
// clock the test moves, so nothing sleeps.
func TestTokenRenewedBeforeExpiry(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	f := fake.New()
	f.SetNow(clock)
	f.AddApp("app")
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	settings := f.Settings(srv.URL)
	c := &agc.Client{BaseURL: srv.URL, Platform: agc.PlatformHarmonyOS, ClientID: settings.Get("client_id"),
		ClientSecret: settings.Get("client_secret"), Tokens: &agc.Tokens{Now: clock}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	list := func() {
		t.Helper()
		end := clock()
		if _, err := c.List(ctx, agc.ListParams{AppID: "app", Begin: end.Add(-time.Hour), End: end, Countries: []string{"CN"}, Limit: 10}); err != nil {
			t.Fatalf("list at %s: %v", end, err)
		}
	}
	list()
	if n := f.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests for the first call, want 1", n)
	}
	ttl := 172800 * time.Second // the fake issues Huawei's example lifetime
	advance(ttl - agc.TokenRenewBefore - time.Minute)
	list()
	if n := f.TokenRequests(); n != 1 {
		t.Errorf("%d token requests a minute before the renewal point, want the cached token (1)", n)
	}
	advance(2 * time.Minute)
	list()
	if n := f.TokenRequests(); n != 2 {
		t.Errorf("%d token requests past the renewal point, want a renewal (2) before the store's expiry", n)
	}
}
