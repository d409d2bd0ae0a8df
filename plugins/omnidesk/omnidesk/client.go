// Package omnidesk is a client of the Omnidesk REST API (https://SUBDOMAIN.omnidesk.ru/api/...)
// for what Reviewhub needs: cases, messages, notes, labels, staff, custom
// channels and custom fields. Requests authenticate with HTTP basic auth (a
// staff member's e-mail and the account's API key). Facts and sources are in
// plugins/omnidesk/README.md.
package omnidesk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reviewhub/reviewhub/plugins/internal/rategate"
	"github.com/reviewhub/reviewhub/sdk"
)

// Client talks to one Omnidesk account.
type Client struct {
	BaseURL string // https://SUBDOMAIN.omnidesk.ru
	Email   string
	APIKey  string
	HTTP    *http.Client
	// Retries of a read (GET) after a 5xx or a connection error inside one
	// call (0: 2; negative: none), by the SDK's retrying transport (each
	// attempt paced by Gate). A write is sent once: its outcome is unknown
	// after a 5xx, and the hub's next attempt looks the case up.
	Retries int
	// Labels caches label ids across calls (nil: no cache).
	Labels *LabelCache
	// Gate remembers, across calls, an account that Omnidesk answered
	// "over the limit, retry after N s": until then calls fail at once with
	// that wait and reach no API (nil: every call goes out).
	Gate *RateGate
	// RateWindow is the window of the account's limit (default a minute):
	// the gate paces calls by api_calls_left over it (pacer.go).
	RateWindow time.Duration

	mu     sync.Mutex
	limits Limits
}

// Limits are the rate-limit headers of the latest answer (support.omnidesk.ru
// knowledge base item 324737: every answer carries rate_limit_per_minute and
// api_calls_left). Known is false until an answer carried them.
type Limits struct {
	Known     bool
	PerMinute int // rate_limit_per_minute; -1 when absent
	Left      int // api_calls_left; -1 when absent
}

// Limits returns the rate-limit headers of the latest answer.
func (c *Client) Limits() Limits {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.limits
}

func (c *Client) noteLimits(h http.Header) {
	per, okPer := headerInt(h, "rate_limit_per_minute")
	left, okLeft := headerInt(h, "api_calls_left")
	if !okPer && !okLeft {
		return
	}
	if !okPer {
		per = -1
	}
	if !okLeft {
		left = -1
	}
	c.mu.Lock()
	c.limits = Limits{Known: true, PerMinute: per, Left: left}
	c.mu.Unlock()
}

// header returns a header by name, whatever its case and whether it is
// written with "_" or "-": Omnidesk names its headers with underscores
// (retry_after), which Go's canonical form turns into Retry_after.
func header(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	alt := strings.ReplaceAll(name, "_", "-")
	for k, vs := range h {
		if len(vs) > 0 && (strings.EqualFold(k, name) || strings.EqualFold(k, alt)) {
			return vs[0]
		}
	}
	return ""
}

func headerInt(h http.Header, name string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(header(h, name)))
	return n, err == nil && n >= 0
}

// APIError is an error answer of the API.
type APIError struct {
	Status      int
	Code        string // "error" field
	Description string
}

func (e *APIError) Error() string {
	msg := e.Code
	if e.Description != "" {
		if msg != "" {
			msg += ": "
		}
		msg += e.Description
	}
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("omnidesk answered %d: %s", e.Status, msg)
}

// Do sends method path with body (JSON-encoded when not nil) and decodes
// the answer into out. Errors are classified for the hub: 401 →
// Unauthenticated, 403 → PermissionDenied (but a 403 whose body says "rate
// limit" is a rate limit, as in Omnidesk's older scheme), 404 → NotFound,
// 400/422 → Invalid, 429 → RetryAfter, 5xx → Unavailable (a read after a
// few quick retries, sdk.NewRetryTransport; a write at once: its outcome is
// unknown, and the hub's next attempt looks the case up).
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	call := apiCall{method: method, path: path, url: strings.TrimRight(c.BaseURL, "/") + path, json: body != nil}
	if body != nil {
		var err error
		if call.body, err = json.Marshal(body); err != nil {
			return sdk.Errorf(sdk.ErrorKindInvalid, "omnidesk: encode request: %v", err)
		}
	}
	if len(query) > 0 {
		call.url += "?" + query.Encode()
	}
	if d := c.Gate.wait(c.account()); d > 0 {
		return sdk.RetryAfterError(d, "omnidesk rate limit on %s %s: over the per-minute limit, not called", method, path)
	}
	return c.send(ctx, call, out)
}

// apiCall is one call of Do.
type apiCall struct {
	method, path string
	url          string // with the query
	body         []byte // JSON, nil without a body
	json         bool   // the call has a body
}

// httpClient is the client's HTTP client with each attempt paced by the
// gate (pacedTransport) under the SDK's retries of a read.
func (c *Client) httpClient() *http.Client {
	hc := c.HTTP
	if hc == nil {
		hc = sdk.NewHTTPClient(sdk.HTTPOptions{MaxResponseBytes: MaxResponseBytes})
	}
	attempts := c.Retries + 1
	if c.Retries == 0 {
		attempts = 3
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	return &http.Client{Timeout: hc.Timeout, CheckRedirect: hc.CheckRedirect, Jar: hc.Jar,
		Transport: sdk.NewRetryTransport(pacedTransport{c: c, base: base}, sdk.RetryOptions{Attempts: max(attempts, 1)})}
}

// send sends call and decodes a success into out.
func (c *Client) send(ctx context.Context, call apiCall, out any) error {
	var body io.Reader
	if call.body != nil {
		body = bytes.NewReader(call.body)
	}
	req, err := http.NewRequestWithContext(ctx, call.method, call.url, body)
	if err != nil {
		return sdk.Errorf(sdk.ErrorKindInvalid, "omnidesk: %v", err)
	}
	req.SetBasicAuth(c.Email, c.APIKey)
	req.Header.Set("Accept", "application/json")
	if call.json {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		var classified *sdk.Error
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &classified):
			return classified // the gate's: no calls left this minute
		}
		return sdk.Errorf(sdk.ErrorKindUnavailable, "omnidesk %s %s: %v", call.method, call.path, err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return sdk.Errorf(sdk.ErrorKindUnavailable, "omnidesk %s %s: reading the answer: %v", call.method, call.path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil || len(bytes.TrimSpace(data)) == 0 {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return sdk.Errorf(sdk.ErrorKindUnavailable, "omnidesk %s %s: unexpected answer (%v): %.200s", call.method, call.path, err, data)
		}
		return nil
	}
	return c.refused(call, resp, data)
}

// pacedTransport lets each attempt out when the gate allows (paced) and
// tells the gate what the answer said of the calls left.
type pacedTransport struct {
	c    *Client
	base http.RoundTripper
}

func (t pacedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c := t.c
	seq, err := c.paced(r.Context(), r.Method, r.URL.Path)
	if err != nil {
		return nil, err
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		c.Gate.answered(c.account(), c.window(), seq, -1, time.Now())
		return nil, err
	}
	c.noteLimits(resp.Header)
	left, okLeft := headerInt(resp.Header, "api_calls_left")
	if !okLeft {
		left = -1
	}
	c.Gate.answered(c.account(), c.window(), seq, left, time.Now())
	return resp, nil
}

// refused classifies an error answer for the hub (see Do).
func (c *Client) refused(call apiCall, resp *http.Response, data []byte) error {
	method, path := call.method, call.path
	apiErr := parseError(resp.StatusCode, data)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests,
		resp.StatusCode == http.StatusForbidden && strings.Contains(strings.ToLower(string(data)), "rate limit"):
		wait := retryAfter(resp.Header)
		c.Gate.hold(c.account(), wait)
		return sdk.RetryAfterError(wait, "omnidesk rate limit on %s %s: %v", method, path, apiErr)
	case resp.StatusCode == http.StatusUnauthorized:
		return sdk.HTTPError(resp.StatusCode, resp.Header, "omnidesk refused the staff e-mail and API key: %w", apiErr)
	case resp.StatusCode == http.StatusForbidden:
		return sdk.HTTPError(resp.StatusCode, resp.Header, "omnidesk %s %s: the staff member may not do this: %w", method, path, apiErr)
	case resp.StatusCode >= 500:
		return sdk.HTTPError(resp.StatusCode, resp.Header, "omnidesk %s %s: %v", method, path, apiErr)
	default: // the status decides the kind (sdk.KindFromHTTPStatus)
		return sdk.HTTPError(resp.StatusCode, resp.Header, "omnidesk %s %s: %w", method, path, apiErr)
	}
}

func (c *Client) window() time.Duration {
	if c.RateWindow > 0 {
		return c.RateWindow
	}
	return DefaultRateWindow
}

// paced waits until the gate lets the call out (pacer.go) and returns its
// number for Gate.answered. A wait longer than maxPaceHold, or than the
// context allows, fails the call at once with that wait, before anything
// was sent: RetryAfter, so the hub holds the integration and the next
// attempt of a first delivery is still a first one. (Only reads are sent
// again inside a call, so no earlier try of a write can have reached
// Omnidesk.)
func (c *Client) paced(ctx context.Context, method, path string) (uint64, error) {
	for {
		seq, wait, ok := c.Gate.pace(c.account(), c.window(), time.Now())
		if ok {
			return seq, nil
		}
		dl, hasDL := ctx.Deadline()
		if wait > maxPaceHold || (hasDL && time.Until(dl) < wait+time.Second) {
			return 0, sdk.RetryAfterError(wait, "omnidesk %s %s: no calls left this minute (api_calls_left), not called", method, path)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-t.C:
		}
	}
}

func parseError(status int, data []byte) *APIError {
	e := &APIError{Status: status}
	var body struct {
		Error       json.RawMessage `json:"error"`
		Description string          `json:"description"`
		Message     string          `json:"message"`
	}
	if json.Unmarshal(data, &body) == nil {
		var s string
		if json.Unmarshal(body.Error, &s) == nil {
			e.Code = s
		} else if len(body.Error) > 0 {
			e.Code = string(body.Error)
		}
		e.Description = body.Description
		if e.Description == "" {
			e.Description = body.Message
		}
	} else if t := strings.TrimSpace(string(data)); t != "" {
		e.Description = t
		if len(e.Description) > 200 {
			e.Description = e.Description[:200]
		}
	}
	return e
}

// MaxResponseBytes bounds an answer of the Omnidesk API.
const MaxResponseBytes = 16 << 20

// retryAfter reads Omnidesk's retry_after header (seconds), else a
// standard Retry-After (seconds or an HTTP date); a minute when neither is
// readable: the limits are per minute.
func retryAfter(h http.Header) time.Duration {
	if d, ok := sdk.RetryAfterHeader(h, time.Now(), "retry_after", "Retry-After"); ok {
		return d
	}
	return sdk.DefaultRetryAfter
}

// IsNotFound reports whether err is a 404 of the API.
func IsNotFound(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// RateGate keeps, per account, until when Omnidesk said to wait (a
// rategate.Gate) and the pacing by api_calls_left (pacer.go). Safe for
// concurrent use; a nil *RateGate keeps nothing.
type RateGate struct {
	holds rategate.Gate
	mu    sync.Mutex
	paces map[string]*pace // pacing by api_calls_left (pacer.go)
}

func (g *RateGate) hold(account string, d time.Duration) {
	if g != nil {
		g.holds.Hold(account, d)
	}
}

// wait is how long account must still wait (0: call now).
func (g *RateGate) wait(account string) time.Duration {
	if g == nil {
		return 0
	}
	return g.holds.Wait(account)
}
