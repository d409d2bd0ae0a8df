package omnidesk_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/plugins/omnidesk/fake"
	"github.com/reviewhub/reviewhub/plugins/omnidesk/omnidesk"
	"github.com/reviewhub/reviewhub/sdk"
)

// burst creates cases from eight callers at once for a while against a
// fake that allows perWindow calls in any sliding window, as the plugin
// does with eight reviews in flight, and returns the cases made, the
// calls refused 429 and the calls the gate held back itself.
func burst(t *testing.T, gate *omnidesk.RateGate, perWindow int, window, run time.Duration) (made, refused, selfHeld int) {
	t.Helper()
	f := fake.New(fake.Options{Subdomain: "acme", StaffEmail: "bot@example.com", APIKey: "k"})
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f.SetLoad(fake.Load{Latency: 10 * time.Millisecond, Jitter: 5 * time.Millisecond, PerWindow: perWindow, Window: window})
	cl := func() *omnidesk.Client {
		return &omnidesk.Client{BaseURL: srv.URL, Email: "bot@example.com", APIKey: "k", HTTP: srv.Client(),
			Gate: gate, RateWindow: window}
	}
	ctx, cancel := context.WithTimeout(context.Background(), run)
	defer cancel()
	var n, held atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				_, err := cl().CreateCase(ctx, omnidesk.NewCase{UserCustomID: fmt.Sprintf("u%d-%d", w, i), Subject: "s", Content: "c", Channel: "cch101"})
				switch {
				case err == nil:
					n.Add(1)
				case ctx.Err() != nil:
				case sdk.KindOf(err) == sdk.ErrorKindRateLimited:
					// The caller waits as the hub does, then tries again.
					if d := sdk.RetryAfterOf(err); d > 0 {
						held.Add(1)
						select {
						case <-time.After(d):
						case <-ctx.Done():
						}
					}
				default:
					t.Errorf("create: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return int(n.Load()), f.Refused(), int(held.Load())
}

// With api_calls_left on every answer, eight callers stay under the limit:
// no 429 in three windows, and the limit is used (a sliding window lets
// perWindow calls through in each window begun).
func TestGatePacesByCallsLeft(t *testing.T) {
	const per, window = 20, 500 * time.Millisecond
	made, refused, held := burst(t, &omnidesk.RateGate{}, per, window, 3*window+window/2)
	t.Logf("%d cases, %d refused 429, %d held back by the gate", made, refused, held)
	if refused != 0 {
		t.Errorf("%d calls refused 429 with pacing, want none", refused)
	}
	// 3.5 windows: the limit lets at most four windows' calls through;
	// pacing must not stall either (each window's calls come back one
	// window after their answers).
	if made < 2*per {
		t.Errorf("%d cases made in 3.5 windows of %d calls, want at least %d", made, per, 2*per)
	}
}

// Without a gate (every call goes out) the same callers meet the limit's
// 429s: the test above can fail.
func TestWithoutGateCallsAreRefused(t *testing.T) {
	const per, window = 20, 500 * time.Millisecond
	_, refused, _ := burst(t, nil, per, window, 2*window)
	if refused == 0 {
		t.Error("no 429 without a gate: the load model does not limit")
	}
}

// Another user of the API key spends calls the plugin never made: the
// next answer's api_calls_left shows it and the gate holds back.
func TestGateSeesOthersUse(t *testing.T) {
	f := fake.New(fake.Options{Subdomain: "acme", StaffEmail: "bot@example.com", APIKey: "k"})
	srv := httptest.NewServer(f)
	defer srv.Close()
	const window = time.Minute
	f.SetLoad(fake.Load{PerWindow: 5, Window: window})
	gate := &omnidesk.RateGate{}
	cl := &omnidesk.Client{BaseURL: srv.URL, Email: "bot@example.com", APIKey: "k", HTTP: srv.Client(), Gate: gate}
	ctx := context.Background()
	if _, err := cl.Staff(ctx); err != nil { // 1 used, 4 left
		t.Fatal(err)
	}
	other := &omnidesk.Client{BaseURL: srv.URL, Email: "bot@example.com", APIKey: "k", HTTP: srv.Client()}
	for range 3 { // someone else: 4 used, 1 left (the gate has not seen it)
		if _, err := other.Staff(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.Staff(ctx); err != nil { // answered "0 left"
		t.Fatal(err)
	}
	_, err := cl.Staff(ctx)
	if sdk.KindOf(err) != sdk.ErrorKindRateLimited || sdk.RetryAfterOf(err) <= 0 {
		t.Fatalf("call after api_calls_left 0: %v, want refused before sending with a retry-after", err)
	}
	if f.Refused() != 0 {
		t.Errorf("%d calls reached Omnidesk over the limit", f.Refused())
	}
	n := 0
	for _, v := range f.Routes() {
		n += v
	}
	if n != 5 {
		t.Errorf("Omnidesk answered %d calls, want 5 (the held one never sent)", n)
	}
}
