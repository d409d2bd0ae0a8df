package sdk

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Operations a quota bucket can be spent by.
const (
	OpList  = "list"  // ListReviews
	OpReply = "reply" // PostReply and DeleteReply
)

// QuotaPerApp in QuotaBucket.Per counts a quota per store app id.
const QuotaPerApp = "@app"

// QuotaBucket is one request quota of a store, counted per credential, for
// example "App Store Connect key: 3,600 requests per rolling hour" (Per:
// the key's settings) or "Google Play app: 200 reads per hour" (Per:
// QuotaPerApp). The hub keeps each bucket's use in its state, shared by
// every hub, and lengthens poll intervals to stay inside it with headroom
// for replies.
type QuotaBucket struct {
	// Name is shown to operators.
	Name string
	// Per lists the setting keys whose values identify the credential
	// (secret values are never shown, only a digest), and/or QuotaPerApp.
	// Empty: one bucket for every account of the plugin.
	Per []string
	// Limit requests per Window.
	Limit  int
	Window time.Duration
	// Ops that spend from this bucket (OpList, OpReply); empty: all.
	Ops []string
}

// Spends reports whether op spends from the bucket.
func (b QuotaBucket) Spends(op string) bool {
	if len(b.Ops) == 0 {
		return true
	}
	for _, o := range b.Ops {
		if o == op {
			return true
		}
	}
	return false
}

// CallCounter counts the vendor requests one plugin call made. The SDK puts
// one in the context of every store call it serves and reports the count to
// the hub; CountingTransport increments it.
type CallCounter struct{ n atomic.Int64 }

// Add counts n requests.
func (c *CallCounter) Add(n int) {
	if c != nil {
		c.n.Add(int64(n))
	}
}

// Count is the number of requests counted so far.
func (c *CallCounter) Count() int {
	if c == nil {
		return 0
	}
	return int(c.n.Load())
}

type callCounterKey struct{}

// CountCalls returns a context carrying a new CallCounter. Nested calls add
// to the innermost counter and, through it, to every outer one.
func CountCalls(ctx context.Context) (context.Context, *CallCounter) {
	c := &CallCounter{}
	outer := callsFrom(ctx)
	return context.WithValue(ctx, callCounterKey{}, &chainedCounter{c: c, outer: outer}), c
}

type chainedCounter struct {
	c     *CallCounter
	outer *chainedCounter
}

func (cc *chainedCounter) add(n int) {
	for ; cc != nil; cc = cc.outer {
		cc.c.Add(n)
	}
}

// callsFrom is ctx's counter chain (nil when none).
func callsFrom(ctx context.Context) *chainedCounter {
	cc, _ := ctx.Value(callCounterKey{}).(*chainedCounter)
	return cc
}

// AddCalls counts n vendor requests against ctx's counters, for plugins
// that do not send their requests through CountingTransport.
func AddCalls(ctx context.Context, n int) { callsFrom(ctx).add(n) }

// CountingTransport counts every request it sends against the counters of
// the request's context, so the hub can budget the store's quotas. Wrap a
// store plugin's HTTP transport in it:
//
//	&http.Client{Transport: sdk.CountingTransport{}, Timeout: 30 * time.Second}
type CountingTransport struct {
	// Base sends the requests; nil: http.DefaultTransport.
	Base http.RoundTripper
	// SecretPath: the requests' paths hold a credential (a Telegram bot's
	// /bot<token>/, a Slack incoming webhook's /services/…), so the debug
	// line and the trace span show the path as "/REDACTED" (SDK v0.3).
	SecretPath bool
}

// RoundTrip implements http.RoundTripper.
func (t CountingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	AddCalls(r.Context(), 1)
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if !debugging(r.Context()) {
		return traceHTTP(base, r, t.SecretPath)
	}
	// The vendor request joins the hub's lines for the same poll, webhook
	// or message (debug level; the path without its query, which may hold
	// keys).
	start := time.Now()
	resp, err := traceHTTP(base, r, t.SecretPath)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	Log(r.Context()).Debug("vendor request", "method", r.Method, "host", r.URL.Host, "path", shownPath(r.URL.Path, t.SecretPath),
		"status", status, "duration", time.Since(start), "error", err != nil)
	return resp, err
}

// serveCounted runs a store call with a fresh counter and reports its
// count to the hub in the gRPC trailer, whether the call failed or not.
func serveCounted(ctx context.Context) (context.Context, func()) {
	ctx, calls := CountCalls(ctx)
	return ctx, func() {
		_ = grpc.SetTrailer(ctx, metadata.Pairs(callsTrailer, strconv.Itoa(calls.Count())))
	}
}

// countedCall is the client side: the returned option receives the trailer,
// and done adds the plugin's count to ctx's counters.
func countedCall(ctx context.Context) (grpc.CallOption, func()) {
	var md metadata.MD
	return grpc.Trailer(&md), func() { AddCalls(ctx, parseCalls(md.Get(callsTrailer))) }
}

// callsTrailer carries a store call's request count from plugin to hub.
const callsTrailer = "reviewhub-calls"

func parseCalls(v []string) int {
	if len(v) == 0 {
		return 0
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// shownPath is a request's path as logs and spans show it.
func shownPath(path string, secret bool) string {
	if secret {
		return "/REDACTED"
	}
	return path
}
