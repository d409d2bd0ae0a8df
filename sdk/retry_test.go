package sdk_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// vendor answers each request with the next of its statuses (the last one
// once they run out), recording what it was sent.
type vendor struct {
	mu       sync.Mutex
	statuses []int
	header   http.Header
	bodies   []string
}

func (v *vendor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	v.mu.Lock()
	v.bodies = append(v.bodies, string(b))
	st := v.statuses[min(len(v.bodies), len(v.statuses))-1]
	v.mu.Unlock()
	for k, vs := range v.header {
		w.Header()[k] = vs
	}
	w.WriteHeader(st)
	_, _ = io.WriteString(w, "answer")
}

func (v *vendor) sent() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.bodies...)
}

// retryClient is NewHTTPClient with retries whose waits are recorded, not
// slept.
func retryClient(o sdk.RetryOptions) (*http.Client, *[]time.Duration) {
	var waits []time.Duration
	o.Sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	return sdk.NewHTTPClient(sdk.HTTPOptions{Retry: &o}), &waits
}

func TestRetryTransport(t *testing.T) {
	for _, tc := range []struct {
		name     string
		method   string
		body     string
		idemKey  bool
		statuses []int
		header   http.Header
		opts     sdk.RetryOptions
		sends    int
		status   int
		waits    []time.Duration
	}{
		{name: "a passing 503 on a read", method: "GET", statuses: []int{503, 200}, sends: 2, status: 200, waits: []time.Duration{200 * time.Millisecond}},
		{name: "backoff doubles, attempts bounded", method: "GET", statuses: []int{500}, sends: 3, status: 500,
			waits: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}},
		{name: "Retry-After replaces the backoff", method: "GET", statuses: []int{503, 200}, header: http.Header{"Retry-After": {"2"}},
			sends: 2, status: 200, waits: []time.Duration{2 * time.Second}},
		{name: "a Retry-After past MaxWait goes to the plugin", method: "GET", statuses: []int{503, 200}, header: http.Header{"Retry-After": {"60"}},
			sends: 1, status: 503},
		{name: "a write is not retried", method: "POST", body: "create", statuses: []int{503, 200}, sends: 1, status: 503},
		{name: "a write with an Idempotency-Key is, body and all", method: "POST", body: "create", idemKey: true, statuses: []int{502, 201},
			sends: 2, status: 201, waits: []time.Duration{200 * time.Millisecond}},
		{name: "any 5xx on a read", method: "GET", statuses: []int{507, 520, 200}, sends: 3, status: 200,
			waits: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond}},
		{name: "but not on a write", method: "PUT", body: "edit", statuses: []int{520, 200}, sends: 1, status: 520},
		{name: "a 429 is the plugin's to classify", method: "GET", statuses: []int{429, 200}, sends: 1, status: 429},
		{name: "a 404 is an answer", method: "GET", statuses: []int{404, 200}, sends: 1, status: 404},
		{name: "options", method: "GET", statuses: []int{429, 200}, opts: sdk.RetryOptions{Statuses: []int{429}, Backoff: time.Second},
			sends: 2, status: 200, waits: []time.Duration{time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := &vendor{statuses: tc.statuses, header: tc.header}
			srv := httptest.NewServer(v)
			defer srv.Close()
			hc, waits := retryClient(tc.opts)
			var body io.Reader
			if tc.body != "" {
				body = bytes.NewReader([]byte(tc.body))
			}
			req, err := http.NewRequestWithContext(context.Background(), tc.method, srv.URL, body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.idemKey {
				req.Header.Set("Idempotency-Key", "k1")
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			sent := v.sent()
			if resp.StatusCode != tc.status || string(b) != "answer" || len(sent) != tc.sends {
				t.Errorf("status %d %q after %d sends, want %d after %d", resp.StatusCode, b, len(sent), tc.status, tc.sends)
			}
			for i, s := range sent {
				if s != tc.body {
					t.Errorf("send %d carried %q, want %q", i+1, s, tc.body)
				}
			}
			if !equalDurations(*waits, tc.waits) {
				t.Errorf("waits %v, want %v", *waits, tc.waits)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A wait that would end past the request's deadline is not waited: the
// answer goes to the plugin at once.
func TestRetryTransportKeepsTheDeadline(t *testing.T) {
	v := &vendor{statuses: []int{503, 200}, header: http.Header{"Retry-After": {"3"}}}
	srv := httptest.NewServer(v)
	defer srv.Close()
	hc, waits := retryClient(sdk.RetryOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || len(v.sent()) != 1 || len(*waits) != 0 {
		t.Errorf("status %d after %d sends and waits %v; want the 503 at once", resp.StatusCode, len(v.sent()), *waits)
	}
}

// A connection that fails is retried (a read), each attempt counted for
// the hub's quotas.
func TestRetryTransportRetriesAFailedConnection(t *testing.T) {
	v := &vendor{statuses: []int{200}}
	srv := httptest.NewServer(v)
	defer srv.Close()
	fails := 1
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if fails > 0 {
			fails--
			return nil, io.ErrUnexpectedEOF
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	o := sdk.RetryOptions{Sleep: func(context.Context, time.Duration) error { return nil }}
	hc := sdk.NewHTTPClient(sdk.HTTPOptions{Base: base, Retry: &o})
	ctx, calls := sdk.CountCalls(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || calls.Count() != 2 {
		t.Errorf("status %d, %d calls counted; want 200 after 2", resp.StatusCode, calls.Count())
	}
	// A call cancelled meanwhile is not tried again.
	o = sdk.RetryOptions{}
	ctx, cancel := context.WithCancel(context.Background())
	sends := 0
	hc = sdk.NewHTTPClient(sdk.HTTPOptions{Base: roundTripFunc(func(*http.Request) (*http.Response, error) {
		sends++
		cancel()
		return nil, io.ErrUnexpectedEOF
	}), Retry: &o})
	req, _ = http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	if _, err := hc.Do(req); err == nil || sends != 1 {
		t.Errorf("cancelled during the first attempt: %v after %d sends, want an error after 1", err, sends)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// An error the transport below already classified (a pacer's RetryAfter)
// is the plugin's answer, not a passing failure: sent once.
func TestRetryTransportKeepsAClassifiedError(t *testing.T) {
	sends := 0
	tr := sdk.NewRetryTransport(roundTripFunc(func(*http.Request) (*http.Response, error) {
		sends++
		return nil, sdk.RetryAfterError(time.Minute, "no calls left")
	}), sdk.RetryOptions{Sleep: func(context.Context, time.Duration) error { return nil }})
	req, _ := http.NewRequest("GET", "http://127.0.0.1:1/", nil)
	_, err := tr.RoundTrip(req)
	if sdk.KindOf(err) != sdk.ErrorKindRateLimited || sends != 1 {
		t.Errorf("%v after %d sends, want the RateLimited error after 1", err, sends)
	}
}

// An answer whose body breaks off is asked for again (a read); on the last
// attempt it goes to the plugin as it came, its read failing there.
func TestRetryTransportRetriesABodyThatBrokeOff(t *testing.T) {
	answer := func(broken bool) *http.Response {
		var body io.Reader = strings.NewReader("whole answer")
		if broken {
			body = io.MultiReader(strings.NewReader("half an"), iotest.ErrReader(io.ErrUnexpectedEOF))
		}
		return &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{}, Body: io.NopCloser(body)}
	}
	for _, tc := range []struct {
		name         string
		broken, want int // answers that break off; sends wanted
		ok           bool
	}{{"once", 1, 2, true}, {"every time", 5, 3, false}} {
		t.Run(tc.name, func(t *testing.T) {
			sends := 0
			tr := sdk.NewRetryTransport(roundTripFunc(func(*http.Request) (*http.Response, error) {
				sends++
				return answer(sends <= tc.broken), nil
			}), sdk.RetryOptions{Sleep: func(context.Context, time.Duration) error { return nil }})
			req, _ := http.NewRequest("GET", "http://vendor.example/list", nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatalf("RoundTrip: %v", err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got := err == nil && string(b) == "whole answer"; got != tc.ok || sends != tc.want {
				t.Errorf("body %q, %v after %d sends; want whole %v after %d", b, err, sends, tc.ok, tc.want)
			}
		})
	}
}

// A body longer than RetryBodyLimit is handed over whole, its tail
// streamed.
func TestRetryTransportHandsOverALongBody(t *testing.T) {
	long := strings.Repeat("x", sdk.RetryBodyLimit+100)
	closed := false
	tr := sdk.NewRetryTransport(roundTripFunc(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{},
			Body: closeFunc{strings.NewReader(long), func() { closed = true }}}, nil
	}), sdk.RetryOptions{})
	req, _ := http.NewRequest("GET", "http://vendor.example/big", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || len(b) != len(long) || !closed {
		t.Errorf("read %d of %d bytes (%v), closed %v", len(b), len(long), err, closed)
	}
}

type closeFunc struct {
	io.Reader
	close func()
}

func (c closeFunc) Close() error { c.close(); return nil }

// A body past HTTPOptions.MaxResponseBytes is not asked for again: the
// plugin reads ErrResponseTooLarge from it, as without retries.
func TestRetryTransportKeepsATooLargeBody(t *testing.T) {
	sends := 0
	o := sdk.RetryOptions{Sleep: func(context.Context, time.Duration) error { return nil }}
	hc := sdk.NewHTTPClient(sdk.HTTPOptions{MaxResponseBytes: 10, Retry: &o, Base: roundTripFunc(func(*http.Request) (*http.Response, error) {
		sends++
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("far more than ten bytes"))}, nil
	})})
	req, _ := http.NewRequest("GET", "http://vendor.example/big", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, sdk.ErrResponseTooLarge) || string(b) != "far more t" || sends != 1 {
		t.Errorf("read %q, %v after %d sends; want 10 bytes, ErrResponseTooLarge after 1", b, err, sends)
	}
}
