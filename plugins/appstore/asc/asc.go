// Package asc is a client of Apple's App Store Connect API for customer
// reviews and their responses (ES256 JWT auth with golang-jwt), and a
// reader of the public customer-reviews feed of the iTunes Store. Facts
// and sources are in plugins/appstore/README.md.
package asc

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/reviewhub/reviewhub/sdk"
)

// Audience of App Store Connect API tokens.
const Audience = "appstoreconnect-v1"

// TokenLifetime of the tokens the client signs (Apple allows at most 20 minutes).
const TokenLifetime = 20 * time.Minute

// ReplyMaxLength is the longest developer response (GUESS, see README).
const ReplyMaxLength = 5970

// Key is an App Store Connect API key: a team key (with its team's issuer
// id) or an individual key (a user's own, no issuer id).
type Key struct {
	IssuerID string // empty for an individual key
	KeyID    string
	Private  *ecdsa.PrivateKey
}

// IndividualSubject is the JWT sub claim of an individual key's tokens:
// Apple's "Generating Tokens for API Requests", "Create the JWT Payload for
// Individual Keys": sub "user" ("always the same for individual keys"),
// iat, exp, aud; individual keys don't use the issuer id.
const IndividualSubject = "user"

// Individual reports whether k is an individual key (no issuer id).
func (k Key) Individual() bool { return k.IssuerID == "" }

// ParseKey reads the .p8 private key (PKCS#8 PEM, P-256). An empty
// issuerID makes an individual key.
func ParseKey(issuerID, keyID, pemText string) (Key, error) {
	k := Key{IssuerID: strings.TrimSpace(issuerID), KeyID: strings.TrimSpace(keyID)}
	pk, err := jwt.ParseECPrivateKeyFromPEM([]byte(strings.TrimSpace(pemText)))
	if err != nil {
		return k, fmt.Errorf("private_key is not an App Store Connect .p8 key (PEM, EC P-256): %w", err)
	}
	if pk.Curve.Params().Name != "P-256" {
		return k, fmt.Errorf("private_key uses curve %s; App Store Connect keys are P-256", pk.Curve.Params().Name)
	}
	k.Private = pk
	return k, nil
}

// cacheID names the key: issuer, key id and the public key itself, so a
// replaced .p8 under the same ids never reuses the old key's token.
func (k Key) cacheID() string {
	return k.IssuerID + "/" + k.KeyID + "/" + k.Private.X.Text(16)
}

// Tokens signs and caches tokens, one per key, reused until shortly before
// they expire.
type Tokens struct {
	mu    sync.Mutex
	cache map[string]cachedToken
	Now   func() time.Time
}

type cachedToken struct {
	token string
	exp   time.Time
}

func (t *Tokens) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Token returns a valid token for k.
func (t *Tokens) Token(k Key) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	id := k.cacheID()
	now := t.now()
	if c, ok := t.cache[id]; ok && now.Before(c.exp.Add(-2*time.Minute)) {
		return c.token, nil
	}
	exp := now.Add(TokenLifetime)
	claims := jwt.RegisteredClaims{IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp), Audience: jwt.ClaimStrings{Audience}}
	if k.Individual() {
		claims.Subject = IndividualSubject // and no iss
	} else {
		claims.Issuer = k.IssuerID
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["kid"] = k.KeyID
	signed, err := tok.SignedString(k.Private)
	if err != nil {
		return "", fmt.Errorf("sign the App Store Connect token: %w", err)
	}
	if t.cache == nil {
		t.cache = map[string]cachedToken{}
	}
	t.cache[id] = cachedToken{signed, exp}
	return signed, nil
}

// Forget drops k's cached token (Apple refused it).
func (t *Tokens) Forget(k Key) {
	t.mu.Lock()
	delete(t.cache, k.cacheID())
	t.mu.Unlock()
}

// Client calls the App Store Connect API.
type Client struct {
	BaseURL string // https://api.appstoreconnect.apple.com
	Key     Key
	Tokens  *Tokens
	HTTP    *http.Client

	mu       sync.Mutex
	lastRL   RateLimit
	lastRLOK bool
	lastDate time.Time
}

// LastRateLimit is the X-Rate-Limit of the latest answer; ok is false when
// no answer carried a readable one.
func (c *Client) LastRateLimit() (RateLimit, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastRL, c.lastRLOK
}

// LastDate is the Date header of the latest answer (Apple's clock), zero if none.
func (c *Client) LastDate() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastDate
}

func (c *Client) record(h http.Header) {
	rl, ok := ParseRateLimit(h.Get("X-Rate-Limit"))
	d, derr := http.ParseTime(h.Get("Date"))
	c.mu.Lock()
	defer c.mu.Unlock()
	if ok {
		c.lastRL, c.lastRLOK = rl, true
	}
	if derr == nil {
		c.lastDate = d
	}
}

// APIError is one of Apple's errors[] entries.
type APIError struct {
	ID     string `json:"id,omitempty"`
	Status string `json:"status"`
	Code   string `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

// ErrorResponse is Apple's error body.
type ErrorResponse struct {
	Errors []APIError `json:"errors"`
}

func (e ErrorResponse) message(status int) string {
	if len(e.Errors) == 0 {
		return fmt.Sprintf("HTTP %d", status)
	}
	var parts []string
	for i, x := range e.Errors {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Errors)-i))
			break
		}
		s := x.Code
		if s == "" {
			s = "HTTP " + strconv.Itoa(status)
		}
		if x.Title != "" {
			s += ": " + x.Title
		}
		if x.Detail != "" {
			s += " (" + x.Detail + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// RateLimit is Apple's X-Rate-Limit header: "user-hour-lim:3600;user-hour-rem:3599;".
type RateLimit struct{ Limit, Remaining int }

// ParseRateLimit reads an X-Rate-Limit header; ok is false when absent or unreadable.
func ParseRateLimit(h string) (RateLimit, bool) {
	var rl RateLimit
	found := 0
	for _, part := range strings.Split(h, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			continue
		}
		switch strings.TrimSpace(k) {
		case "user-hour-lim":
			rl.Limit = n
			found++
		case "user-hour-rem":
			rl.Remaining = n
			found++
		}
	}
	return rl, found == 2
}

// DefaultRetryAfter is the wait after a 429 that carries neither
// Retry-After nor a readable X-Rate-Limit, or whose X-Rate-Limit still shows
// requests left (the hourly allowance is not what was hit).
const DefaultRetryAfter = sdk.DefaultRetryAfter

// MaxResponseBytes bounds an answer of the App Store Connect API.
const MaxResponseBytes = 32 << 20

// RateLimitWait is how long to wait after a 429 without Retry-After, from
// Apple's X-Rate-Limit. Apple counts a "rolling hour": the requests left are
// the hourly limit minus the requests made in the previous 60 minutes, so a
// spent allowance comes back only as those requests age out, and the header
// does not say when they were made. A key with nothing left therefore waits
// the whole rolling hour (the worst case, every request made just now; a
// minute's wait would most likely meet another 429 and spend nothing but
// time). A 429 while requests are left is not the hourly limit: it waits
// DefaultRetryAfter.
func RateLimitWait(rl RateLimit) time.Duration {
	if rl.Limit <= 0 || rl.Remaining > 0 {
		return DefaultRetryAfter
	}
	return time.Hour
}

// Do calls method url (absolute, or a path under BaseURL) with a JSON body.
func (c *Client) Do(ctx context.Context, method, url string, body, out any) error {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		url = strings.TrimRight(c.BaseURL, "/") + url
	} else if !strings.HasPrefix(url, strings.TrimRight(c.BaseURL, "/")+"/") {
		return sdk.Errorf(sdk.ErrorKindInvalid, "app store: refusing to follow a link outside %s: %s", c.BaseURL, url)
	}
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return sdk.Errorf(sdk.ErrorKindInvalid, "app store: encode request: %v", err)
		}
	}
	hc := c.HTTP
	if hc == nil {
		hc = sdk.NewHTTPClient(sdk.HTTPOptions{MaxResponseBytes: MaxResponseBytes})
	}
	for attempt := 0; ; attempt++ {
		tok, err := c.Tokens.Token(c.Key)
		if err != nil {
			return sdk.Errorf(sdk.ErrorKindInvalid, "%v", err)
		}
		req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(raw))
		if err != nil {
			return sdk.Errorf(sdk.ErrorKindInvalid, "app store: %v", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			return sdk.Errorf(sdk.ErrorKindUnavailable, "app store %s %s: %v", method, req.URL.Path, err)
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		c.record(resp.Header)
		if err != nil {
			return sdk.Errorf(sdk.ErrorKindUnavailable, "app store %s %s: reading the answer: %v", method, req.URL.Path, err)
		}
		if resp.StatusCode/100 == 2 {
			if out == nil || len(bytes.TrimSpace(data)) == 0 {
				return nil
			}
			if err := json.Unmarshal(data, out); err != nil {
				return sdk.Errorf(sdk.ErrorKindUnavailable, "app store %s %s: unexpected answer (%v)", method, req.URL.Path, err)
			}
			return nil
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			c.Tokens.Forget(c.Key)
			continue // a fresh token once
		}
		if resp.StatusCode == http.StatusUnauthorized {
			c.Tokens.Forget(c.Key)
		}
		return c.classify(method+" "+req.URL.Path, resp.StatusCode, resp.Header, data)
	}
}

// ReplyRoles are the roles whose keys may answer customer reviews: Apple's
// role permissions give Customer Support "analyzes and responds to customer
// reviews", App Manager "manages all aspects of an app", and Admin and the
// Account Holder (individual keys carry their user's role) everything.
const ReplyRoles = "Account Holder, Admin, App Manager or Customer Support"

// HasCode reports whether one of Apple's errors has code, or a code below it
// (Apple: "examine the error code using prefix matching").
func (e ErrorResponse) HasCode(code string) bool {
	for _, x := range e.Errors {
		if x.Code == code || strings.HasPrefix(x.Code, code+".") {
			return true
		}
	}
	return false
}

// classify turns an answer that is not 2xx into a classified error whose
// message quotes Apple's errors[] (code, title, detail). The wording is
// chosen by Apple's error code, the status only when the code says nothing.
func (c *Client) classify(op string, status int, h http.Header, body []byte) error {
	var er ErrorResponse
	if json.Unmarshal(body, &er) != nil {
		er = ErrorResponse{}
	}
	msg := er.message(status)
	key := fmt.Sprintf("API key %s of issuer %s", c.Key.KeyID, c.Key.IssuerID)
	causes := "wrong issuer id, key id or private key, an individual key given with an issuer id (leave issuer_id empty for one), a key that was revoked, or a clock more than a few minutes off"
	if c.Key.Individual() {
		key = "individual API key " + c.Key.KeyID
		causes = "wrong key id or private key, a team key given without its issuer id (issuer_id), a key that was revoked, or a clock more than a few minutes off"
	}
	switch {
	case status == http.StatusUnauthorized:
		return sdk.Errorf(sdk.ErrorKindUnauthenticated, "App Store Connect refused the %s (%s): %s", key, causes, msg)
	case status == http.StatusForbidden && er.HasCode("FORBIDDEN_ERROR"):
		return sdk.Errorf(sdk.ErrorKindPermissionDenied, "app store %s: the %s may not do this: its role lacks the right (answering reviews needs %s): %s", op, key, ReplyRoles, msg)
	case status == http.StatusForbidden:
		return sdk.Errorf(sdk.ErrorKindUnauthenticated, "app store %s: App Store Connect refused the %s: the key may be revoked or the token malformed (Apple answers 403 for both), or the account may be missing an agreement: %s", op, key, msg)
	case status >= 500: // whatever the body's code says, a 5xx is the server's trouble
		return sdk.HTTPError(status, h, "app store %s: %s", op, msg)
	case status == http.StatusConflict || er.HasCode("ENTITY_ERROR"):
		return sdk.Errorf(sdk.ErrorKindRefused, "App Store Connect refused the data: %s", msg)
	case status == http.StatusUnprocessableEntity || er.HasCode("ENTITY_UNPROCESSABLE") || er.HasCode("ENTITY_INVALID"):
		return sdk.Errorf(sdk.ErrorKindInvalid, "app store %s: App Store Connect could not read the request body the plugin sent (a bug in the plugin, or an API change): %s", op, msg)
	case status == http.StatusTooManyRequests:
		rl, ok := ParseRateLimit(h.Get("X-Rate-Limit"))
		ra := DefaultRetryAfter
		if ok {
			ra = RateLimitWait(rl)
		}
		if d, ok := sdk.RetryAfterHeader(h, time.Now()); ok {
			ra = d
		}
		if ok {
			return sdk.RetryAfterError(ra, "App Store Connect rate limit (%d requests an hour, %d left in the rolling hour): %s", rl.Limit, rl.Remaining, msg)
		}
		return sdk.RetryAfterError(ra, "App Store Connect rate limit: %s", msg)
	case er.HasCode("PARAMETER_ERROR"):
		return sdk.Errorf(sdk.ErrorKindInvalid, "app store %s: App Store Connect refused a parameter the plugin sent (a bug in the plugin, or an API change): %s", op, msg)
	}
	// Apple's code says nothing more: the status decides (404 NotFound,
	// 5xx Unavailable, other 4xx Invalid).
	return sdk.HTTPError(status, h, "app store %s: %s", op, msg)
}

// ParseError reads Apple's error body ({"errors":[{"status","code","title",
// "detail"}]}) into a message for people; a body that is not one gives
// "HTTP <status>".
func ParseError(status int, body []byte) string {
	var er ErrorResponse
	if json.Unmarshal(body, &er) != nil {
		er = ErrorResponse{}
	}
	return er.message(status)
}
