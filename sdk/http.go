package sdk

import (
	"cmp"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter caps a vendor's Retry-After: a wait longer than a day is
// more likely a broken header than a plan.
const MaxRetryAfter = 24 * time.Hour

// ParseRetryAfter reads an HTTP Retry-After value (RFC 9110 10.2.3): delay
// seconds or an HTTP date, relative to now. It reports false when v is
// empty, unreadable or not in the future; the wait is capped at
// MaxRetryAfter.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0, false
		}
		return min(time.Duration(min(s, int64(MaxRetryAfter/time.Second)))*time.Second, MaxRetryAfter), true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, MaxRetryAfter), true
		}
	}
	return 0, false
}

// KindFromHTTPStatus is the error kind a vendor's HTTP status means when
// the answer says nothing more precise: 400 and 422 ErrorKindInvalid, 401
// ErrorKindUnauthenticated, 403 ErrorKindPermissionDenied, 404 and 410 ErrorKindNotFound, 409
// ErrorKindRefused, 429 ErrorKindRateLimited, 5xx (and 408) ErrorKindUnavailable; other 4xx ErrorKindInvalid,
// anything else ErrorKindUnknown. Plugins refine it from the answer's body (a
// 403 that names a quota is ErrorKindRateLimited, for example).
func KindFromHTTPStatus(status int) ErrorKind {
	switch {
	case status == http.StatusUnauthorized:
		return ErrorKindUnauthenticated
	case status == http.StatusForbidden:
		return ErrorKindPermissionDenied
	case status == http.StatusNotFound || status == http.StatusGone:
		return ErrorKindNotFound
	case status == http.StatusConflict:
		return ErrorKindRefused
	case status == http.StatusTooManyRequests:
		return ErrorKindRateLimited
	case status == http.StatusRequestTimeout || status >= 500 && status <= 599:
		return ErrorKindUnavailable
	case status >= 400 && status <= 499:
		return ErrorKindInvalid
	}
	return ErrorKindUnknown
}

// DefaultRetryAfter is the wait HTTPError asks for when a vendor answers
// 429 without a readable Retry-After.
const DefaultRetryAfter = time.Minute

// RetryAfterHeader reads the first of the named headers that holds a
// readable wait (ParseRetryAfter: seconds or an HTTP date, capped at
// MaxRetryAfter); with no names, the standard Retry-After. A vendor with
// its own header (Omnidesk's retry_after) names it first.
func RetryAfterHeader(h http.Header, now time.Time, names ...string) (time.Duration, bool) {
	if len(names) == 0 {
		names = []string{"Retry-After"}
	}
	for _, n := range names {
		if d, ok := ParseRetryAfter(h.Get(n), now); ok {
			return d, true
		}
	}
	return 0, false
}

// HTTPError classifies a vendor's error answer by its status
// (KindFromHTTPStatus) with the message format, args. A 429 carries the
// wait of its Retry-After (DefaultRetryAfter when there is none); a 503
// carries it when it has one. Refine the kind from the answer's body
// before calling it where the vendor says more (a 403 that names a quota
// is a rate limit).
func HTTPError(status int, h http.Header, format string, args ...any) *Error {
	e := Errorf(KindFromHTTPStatus(status), format, args...)
	d, ok := RetryAfterHeader(h, time.Now())
	switch {
	case e.Kind == ErrorKindRateLimited && ok:
		e.RetryAfter = d
	case e.Kind == ErrorKindRateLimited:
		e.RetryAfter = DefaultRetryAfter
	case e.Kind == ErrorKindUnavailable && ok:
		e.RetryAfter = d
	}
	return e
}

// HTTPOptions tune NewHTTPClient.
type HTTPOptions struct {
	// Timeout bounds each request, reading the answer included (default
	// 30s): the hub's call deadline is longer, and a vendor that hangs
	// must not hold a call until then.
	Timeout time.Duration
	// MaxResponseBytes bounds an answer's body (default 16 MiB): reading
	// past it fails with ErrResponseTooLarge instead of exhausting memory.
	MaxResponseBytes int64
	// Base sends the requests (default: a copy of http.DefaultTransport
	// that keeps MaxIdleConnsPerHost idle connections per host).
	Base http.RoundTripper
	// MaxIdleConnsPerHost is how many idle connections to one vendor host
	// the default transport keeps (default 64: the hub may have that many
	// calls of one integration in flight, and http.DefaultTransport's 2
	// would dial and close a connection for most of them). Ignored with Base.
	MaxIdleConnsPerHost int
	// Retry, when set, sends a request that failed in passing again inside
	// the call (RetryOptions: safe requests only, Retry-After and the
	// deadline respected); each attempt is counted and size-limited.
	Retry *RetryOptions
	// SecretPath: the request paths hold a credential (CountingTransport's
	// SecretPath): logs and spans show "/REDACTED" instead (SDK v0.3).
	SecretPath bool
}

// DefaultMaxIdleConnsPerHost is HTTPOptions.MaxIdleConnsPerHost's default:
// the most calls of one integration the hub has in flight (bus.in_flight).
const DefaultMaxIdleConnsPerHost = 64

// ErrResponseTooLarge is the error of reading a body past
// HTTPOptions.MaxResponseBytes; it is classified ErrorKindUnavailable.
var ErrResponseTooLarge = &Error{Kind: ErrorKindUnavailable, Message: "the vendor's answer is larger than the plugin accepts"}

// NewHTTPClient returns the HTTP client a plugin should use for its vendor:
// a timeout, a bounded response size, every request counted for the hub's
// quota budgets (CountingTransport, with its debug log line) and, with
// HTTPOptions.Retry, passing failures retried (NewRetryTransport).
func NewHTTPClient(o HTTPOptions) *http.Client {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 16 << 20
	}
	if o.Base == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cmp.Or(o.MaxIdleConnsPerHost, DefaultMaxIdleConnsPerHost)
		tr.MaxIdleConns = max(tr.MaxIdleConns, tr.MaxIdleConnsPerHost)
		o.Base = tr
	}
	var tr http.RoundTripper = limitTransport{base: CountingTransport{Base: o.Base, SecretPath: o.SecretPath}, max: o.MaxResponseBytes}
	if o.Retry != nil {
		tr = NewRetryTransport(tr, *o.Retry)
	}
	return &http.Client{Timeout: o.Timeout, Transport: tr}
}

type limitTransport struct {
	base http.RoundTripper
	max  int64
}

func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err == nil && resp.Body != nil {
		resp.Body = &limitedBody{rc: resp.Body, left: t.max}
	}
	return resp, err
}

// limitedBody fails a read past its limit (io.LimitReader would end the
// body there in silence, and a cut JSON document reads as a vendor bug).
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, ErrResponseTooLarge
		}
		return b.rc.Read(p)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
