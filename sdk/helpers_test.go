package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

func TestHTTPError(t *testing.T) {
	h := http.Header{}
	e := sdk.HTTPError(429, h, "vendor %s", "busy")
	if e.Kind != sdk.ErrorKindRateLimited || e.RetryAfter != sdk.DefaultRetryAfter || e.Message != "vendor busy" {
		t.Errorf("429 without Retry-After: %+v", e)
	}
	h.Set("Retry-After", "30")
	if e := sdk.HTTPError(429, h, "x"); e.RetryAfter != 30*time.Second {
		t.Errorf("429 with Retry-After 30: %v", e.RetryAfter)
	}
	if e := sdk.HTTPError(503, h, "x"); e.Kind != sdk.ErrorKindUnavailable || e.RetryAfter != 30*time.Second {
		t.Errorf("503 with Retry-After: %+v", e)
	}
	if e := sdk.HTTPError(404, h, "x"); e.Kind != sdk.ErrorKindNotFound || e.RetryAfter != 0 {
		t.Errorf("404: %+v", e)
	}
	own := http.Header{}
	own.Set("retry_after", "7")
	own.Set("Retry-After", "99")
	if d, ok := sdk.RetryAfterHeader(own, time.Now(), "retry_after", "Retry-After"); !ok || d != 7*time.Second {
		t.Errorf("vendor header first: %v %v", d, ok)
	}
}

func TestNewHTTPClientLimitsTheAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Repeat("x", 100))
	}))
	defer srv.Close()
	read := func(max int64) (int, error) {
		c := sdk.NewHTTPClient(sdk.HTTPOptions{MaxResponseBytes: max})
		ctx, calls := sdk.CountCalls(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if calls.Count() != 1 {
			t.Errorf("requests counted: %d, want 1", calls.Count())
		}
		b, err := io.ReadAll(resp.Body)
		return len(b), err
	}
	if n, err := read(100); n != 100 || err != nil {
		t.Errorf("a body of exactly the limit: %d bytes, %v", n, err)
	}
	if _, err := read(99); !errors.Is(err, sdk.ErrResponseTooLarge) || sdk.KindOf(err) != sdk.ErrorKindUnavailable {
		t.Errorf("a body over the limit: %v, want ErrResponseTooLarge", err)
	}
}

func TestReadReplyFirst(t *testing.T) {
	ctx := context.Background()
	posted := 0
	post := func(context.Context) (sdk.DeveloperReply, error) { posted++; return sdk.DeveloperReply{ID: "new"}, nil }
	same := func(context.Context) (*sdk.DeveloperReply, error) {
		return &sdk.DeveloperReply{ID: "old", Text: "hi"}, nil
	}
	if r, err := sdk.ReadReplyFirst(ctx, "hi", same, post); err != nil || r.ID != "old" || posted != 0 {
		t.Errorf("same text: %+v %v, posted %d; want the published reply and no post", r, err, posted)
	}
	if r, err := sdk.ReadReplyFirst(ctx, "hello", same, post); err != nil || r.ID != "new" || posted != 1 {
		t.Errorf("other text: %+v %v, posted %d", r, err, posted)
	}
	none := func(context.Context) (*sdk.DeveloperReply, error) { return nil, nil }
	if r, _ := sdk.ReadReplyFirst(ctx, "hi", none, post); r.ID != "new" || posted != 2 {
		t.Errorf("no reply yet: %+v, posted %d", r, posted)
	}
	failing := func(context.Context) (*sdk.DeveloperReply, error) {
		return nil, sdk.Errorf(sdk.ErrorKindUnavailable, "down")
	}
	if _, err := sdk.ReadReplyFirst(ctx, "hi", failing, post); sdk.KindOf(err) != sdk.ErrorKindUnavailable || posted != 2 {
		t.Errorf("a failed read must not post: %v, posted %d", err, posted)
	}
}

func TestClientCache(t *testing.T) {
	cache := sdk.ClientCache[string]{Max: 2}
	builds := 0
	build := func(s sdk.Settings) (string, error) { builds++; return s["k"], nil }
	for _, k := range []string{"a", "a", "b", "a", "c", "a"} {
		if c, _ := cache.Get(sdk.Settings{"k": k}, build); c != k {
			t.Fatalf("client of %s: %s", k, c)
		}
	}
	// a, b built; c evicts b (a was used more recently); a stays.
	if builds != 3 || cache.Len() != 2 {
		t.Errorf("builds %d, kept %d; want 3 builds, 2 kept", builds, cache.Len())
	}
	if _, err := cache.Get(sdk.Settings{"k": "d"}, func(sdk.Settings) (string, error) { return "", errors.New("bad key") }); err == nil || cache.Len() != 2 {
		t.Errorf("a failed build is not kept: %v, %d kept", err, cache.Len())
	}
}

// A client being built (a token fetched from the vendor) does not hold up
// the clients of other accounts.
func TestClientCacheBuildsWithoutHoldingOthers(t *testing.T) {
	var cache sdk.ClientCache[string]
	building, release := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = cache.Get(sdk.Settings{"account": "slow"}, func(sdk.Settings) (string, error) {
			close(building)
			<-release
			return "slow", nil
		})
	}()
	<-building
	got := make(chan string, 1)
	go func() {
		c, _ := cache.Get(sdk.Settings{"account": "fast"}, func(sdk.Settings) (string, error) { return "fast", nil })
		got <- c
	}()
	select {
	case c := <-got:
		if c != "fast" {
			t.Fatalf("got client %q", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the other account's client waited for a build in progress")
	}
	close(release)
	<-done
	if c, _ := cache.Get(sdk.Settings{"account": "slow"}, func(sdk.Settings) (string, error) { return "again", nil }); c != "slow" {
		t.Fatalf("the built client was not kept: got %q", c)
	}
}
