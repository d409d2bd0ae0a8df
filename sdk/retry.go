package sdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

// RetryOptions configure the retries of a vendor request inside one call
// (HTTPOptions.Retry, NewRetryTransport): a connection that failed, a
// passing error answer (any 5xx by default), or an answer whose body
// failed to arrive whole, is sent again after a short wait, so a plugin
// writes no retry loop of its own. Only
// requests that are safe to send twice are retried: the methods in
// Methods (GET, HEAD and OPTIONS by default) and any request carrying an
// Idempotency-Key header. A write whose answer was lost is not: its
// outcome is unknown, and the hub's next attempt of the call (after the
// plugin's Unavailable error) is the place to find out. Whatever is not
// retried, or still fails after the last attempt, is answered to the
// plugin as it came, which classifies it (HTTPError); so is an error the
// transport under the retries already classified (an *Error: a pacer's
// "no calls left"), which is never retried.
//
// To retry an answer whose body broke off, the transport reads the body of
// an answer to a retried request before handing it over, up to
// RetryBodyLimit bytes (a longer body is handed over as it streams, past
// the limit unprotected); the last attempt's body is handed over unread.
// All the attempts and their waits fall within the request's deadline and
// the client's Timeout: a plugin's client timeout bounds them together.
type RetryOptions struct {
	// Attempts is how often a request is sent at most (default 3).
	Attempts int
	// Backoff is the wait before the second attempt, doubled before each
	// later one (default 200ms).
	Backoff time.Duration
	// MaxWait caps one wait (default 5s). An answer's Retry-After (seconds
	// or an HTTP date) replaces the backoff; one longer than MaxWait, or a
	// wait that would end past the request's deadline, is not waited for:
	// the answer goes to the plugin, and the hub waits instead of the call.
	MaxWait time.Duration
	// Methods are the methods retried (default GET, HEAD, OPTIONS).
	Methods []string
	// Statuses are the answers retried (default: every 5xx). A 429 is
	// not, by default: the plugin makes it a RateLimited error, so the hub
	// holds the account instead of one call.
	Statuses []int
	// Sleep waits d or until ctx ends (tests; default a timer).
	Sleep func(ctx context.Context, d time.Duration) error
}

func (o RetryOptions) withDefaults() RetryOptions {
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.Backoff <= 0 {
		o.Backoff = 200 * time.Millisecond
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 5 * time.Second
	}
	if len(o.Methods) == 0 {
		o.Methods = []string{http.MethodGet, http.MethodHead, http.MethodOptions}
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	return o
}

// RetryBodyLimit is how much of an answer's body the retrying transport
// reads before handing the answer over, so that one that breaks off can be
// asked for again.
const RetryBodyLimit = 8 << 20

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// NewRetryTransport returns base (nil: http.DefaultTransport) with o's
// retries. NewHTTPClient uses it when HTTPOptions.Retry is set; a plugin
// that needs its own step under the retries (a pacer that must see every
// attempt) wraps its transport in it.
func NewRetryTransport(base http.RoundTripper, o RetryOptions) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return retryTransport{base: base, o: o.withDefaults()}
}

type retryTransport struct {
	base http.RoundTripper
	o    RetryOptions
}

func (t retryTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !t.safe(r) {
		return t.base.RoundTrip(r)
	}
	ctx := r.Context()
	for attempt := 1; ; attempt++ {
		req := r
		if attempt > 1 {
			if req = r.Clone(ctx); r.Body != nil && r.Body != http.NoBody {
				body, err := r.GetBody()
				if err != nil {
					return nil, err
				}
				req.Body = body
			}
		}
		resp, err := t.base.RoundTrip(req)
		if attempt >= t.o.Attempts || ctx.Err() != nil {
			return resp, err
		}
		wait, retry := t.wait(resp, err, attempt)
		if !retry && err == nil {
			// An answer to hand over: its body read here, so one that
			// breaks off is a failed attempt like a failed connection.
			if err = buffer(resp); err == nil {
				return resp, nil
			}
			resp = nil
			if ctx.Err() != nil {
				return nil, err
			}
			wait, retry = t.wait(nil, err, attempt)
		}
		if !retry || !t.fits(ctx, wait) {
			return resp, err
		}
		Log(ctx).Info("retrying a vendor request", "method", r.Method, "host", r.URL.Host, "path", r.URL.Path,
			"attempt", attempt+1, "status", statusOf(resp), "error", err, "wait", wait)
		if resp != nil {
			// Read a little so the connection can be reused, then let go.
			_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
			resp.Body.Close()
		}
		if err := t.o.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// safe: the request may be sent twice, and can be (its body can be read
// again).
func (t retryTransport) safe(r *http.Request) bool {
	if !slices.Contains(t.o.Methods, r.Method) && r.Header.Get("Idempotency-Key") == "" {
		return false
	}
	return r.Body == nil || r.Body == http.NoBody || r.GetBody != nil
}

// wait says whether the outcome of an attempt is worth another, and how
// long to wait first: the answer's Retry-After, else the backoff.
func (t retryTransport) wait(resp *http.Response, err error, attempt int) (time.Duration, bool) {
	backoff := t.o.Backoff << (attempt - 1)
	var classified *Error
	switch {
	case errors.As(err, &classified):
		return 0, false // decided below (a pacer's "no calls left"): not a passing failure
	case err != nil:
		return min(backoff, t.o.MaxWait), true
	case !t.retried(resp.StatusCode):
		return 0, false
	}
	if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		return d, d <= t.o.MaxWait
	}
	return min(backoff, t.o.MaxWait), true
}

// retried: an answer of this status is worth another attempt.
func (t retryTransport) retried(status int) bool {
	if len(t.o.Statuses) == 0 {
		return status >= 500 && status <= 599
	}
	return slices.Contains(t.o.Statuses, status)
}

// buffer reads resp's body (up to RetryBodyLimit) into memory; an error
// is a body that broke off, resp's body then closed. An error the body
// already classified (ErrResponseTooLarge) is no passing failure: the
// plugin reads it where it would have, after the bytes before it.
func buffer(resp *http.Response) error {
	body := resp.Body
	if body == nil || body == http.NoBody {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(body, RetryBodyLimit))
	if classified := (*Error)(nil); errors.As(err, &classified) {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), errReader{err}), body}
		return nil
	}
	if err != nil {
		body.Close()
		return fmt.Errorf("reading the answer's body (%s): %w", resp.Status, err)
	}
	if len(b) < RetryBodyLimit {
		body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return nil
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), body), body}
	return nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// fits: waiting d leaves the request's deadline room for another attempt.
func (t retryTransport) fits(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > d
}

func statusOf(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}
