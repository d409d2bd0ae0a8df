// Package zendesk is a client of the Zendesk Support API
// (https://SUBDOMAIN.zendesk.com/api/v2/...) for what Reviewhub needs:
// tickets found by external_id, their comments, the current user, ticket
// fields; and the reading of Zendesk's signed webhooks. Requests
// authenticate with an API token (HTTP basic auth "EMAIL/token:TOKEN").
// Facts and sources are in plugins/zendesk/README.md.
package zendesk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/plugins/internal/rategate"
	"github.com/reviewhub/reviewhub/sdk"
)

// CallTimeout bounds every request (the hub's own deadline, when shorter,
// wins).
const CallTimeout = 30 * time.Second

// DefaultRetryAfter is the wait assumed for a 429 without a readable
// Retry-After: Zendesk's limits are per minute.
const DefaultRetryAfter = time.Minute

// Client talks to one Zendesk account.
type Client struct {
	BaseURL string // https://SUBDOMAIN.zendesk.com
	Email   string // the agent the API token acts as
	Token   string
	// HTTP sends the requests (nil: sdk.NewHTTPClient without retries).
	// The plugin's retries a read (GET) after a 5xx or a connection error
	// inside the call (sdk.HTTPOptions.Retry); writes are never retried
	// inside a call: their outcome is unknown, and the hub's next attempt
	// looks the ticket up.
	HTTP *http.Client
	// Gate remembers, across calls, an account Zendesk answered 429: until
	// its Retry-After is over, calls fail at once with the rest of the wait
	// and reach no API (nil: every call goes out).
	Gate *rategate.Gate
}

// APIError is an error answer of the API: {"error": …, "description": …,
// "details": …}, or a plain-text body (a 429 answers text/plain).
type APIError struct {
	Status      int
	Code        string // "error"
	Description string
	Details     string // "details", flattened
}

func (e *APIError) Error() string {
	var parts []string
	for _, p := range []string{e.Code, e.Description, e.Details} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	msg := strings.Join(parts, ": ")
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("zendesk answered %d: %s", e.Status, msg)
}

// IsConflict reports whether err is a 409 of the API (a safe update whose
// ticket changed meanwhile).
func IsConflict(err error) bool { return statusOf(err) == http.StatusConflict }

// IsNotFound reports whether err is a 404 of the API.
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

func statusOf(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func (c *Client) account() string { return strings.TrimRight(c.BaseURL, "/") + "|" + c.Email }

// Do sends method path (with query) and body (JSON-encoded when not nil)
// and decodes the answer into out. Errors are classified for the hub by
// sdk.KindFromHTTPStatus, refined: 429 is RateLimited with Zendesk's
// Retry-After; 5xx and connection errors are Unavailable (after the HTTP
// client's retries of a read); 401 names the credentials.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return sdk.Errorf(sdk.ErrorKindInvalid, "zendesk: encode request: %v", err)
		}
	}
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	hc := c.HTTP
	if hc == nil {
		hc = sdk.NewHTTPClient(sdk.HTTPOptions{Timeout: CallTimeout})
	}
	if d := c.Gate.Wait(c.account()); d > 0 {
		return sdk.RetryAfterError(d, "zendesk rate limit on %s %s: over the limit, not called", method, path)
	}
	return c.once(ctx, hc, method, path, u, raw, out)
}

func (c *Client) once(ctx context.Context, hc *http.Client, method, path, u string, raw []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	var rd io.Reader
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return sdk.Errorf(sdk.ErrorKindInvalid, "zendesk: %v", err)
	}
	req.SetBasicAuth(c.Email+"/token", c.Token)
	req.Header.Set("Accept", "application/json")
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		if pe := ctx.Err(); pe != nil && !errors.Is(pe, context.DeadlineExceeded) {
			return pe
		}
		return sdk.Errorf(sdk.ErrorKindUnavailable, "zendesk %s %s: %v", method, path, err)
	}
	data, err := io.ReadAll(resp.Body) // bounded by the HTTP client (sdk.NewHTTPClient: an error past the limit, never a cut)
	resp.Body.Close()
	if err != nil {
		return sdk.Errorf(sdk.ErrorKindUnavailable, "zendesk %s %s: reading the answer: %v", method, path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil || len(bytes.TrimSpace(data)) == 0 {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return sdk.Errorf(sdk.ErrorKindUnavailable, "zendesk %s %s: unexpected answer (%v): %.200s", method, path, err, data)
		}
		return nil
	}
	apiErr := parseError(resp.StatusCode, data)
	switch kind := sdk.KindFromHTTPStatus(resp.StatusCode); kind {
	case sdk.ErrorKindRateLimited:
		wait, ok := sdk.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if !ok {
			wait = DefaultRetryAfter
		}
		c.Gate.Hold(c.account(), wait)
		return sdk.RetryAfterError(wait, "zendesk rate limit on %s %s: %v", method, path, apiErr)
	case sdk.ErrorKindUnauthenticated:
		return sdk.Errorf(sdk.ErrorKindUnauthenticated, "zendesk refused the e-mail and API token (%s/token): %w", c.Email, apiErr)
	case sdk.ErrorKindPermissionDenied:
		return sdk.Errorf(sdk.ErrorKindPermissionDenied, "zendesk %s %s: %s may not do this: %w", method, path, c.Email, apiErr)
	case sdk.ErrorKindUnavailable, sdk.ErrorKindUnknown:
		return sdk.Errorf(sdk.ErrorKindUnavailable, "zendesk %s %s: %w", method, path, apiErr)
	default:
		return sdk.Errorf(kind, "zendesk %s %s: %w", method, path, apiErr)
	}
}

// parseError reads Zendesk's error envelope. "error" is a string, or (in
// some answers) an object with "title" and "message"; "details" maps field
// names to lists of {"description": …}. Anything else is kept as text.
func parseError(status int, data []byte) *APIError {
	e := &APIError{Status: status}
	var body struct {
		Error       json.RawMessage `json:"error"`
		Description string          `json:"description"`
		Details     json.RawMessage `json:"details"`
	}
	if json.Unmarshal(data, &body) == nil {
		var s string
		var obj struct{ Title, Message string }
		switch {
		case json.Unmarshal(body.Error, &s) == nil:
			e.Code = s
		case json.Unmarshal(body.Error, &obj) == nil:
			e.Code, e.Description = obj.Title, obj.Message
		}
		if body.Description != "" {
			e.Description = body.Description
		}
		e.Details = flattenDetails(body.Details)
		return e
	}
	if t := strings.TrimSpace(string(data)); t != "" {
		e.Description = truncate(t, 200)
	}
	return e
}

func flattenDetails(raw json.RawMessage) string {
	var m map[string][]struct {
		Description string `json:"description"`
		Error       string `json:"error"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return ""
	}
	var out []string
	for field, list := range m {
		for _, d := range list {
			msg := d.Description
			if msg == "" {
				msg = d.Error
			}
			out = append(out, field+": "+msg)
		}
	}
	sortStrings(out)
	return truncate(strings.Join(out, "; "), 300)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
