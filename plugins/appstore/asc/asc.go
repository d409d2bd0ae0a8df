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

// Key is an App Store Connect API key.
type Key struct {
	IssuerID string
	KeyID    string
	Private  *ecdsa.PrivateKey
}

// ParseKey reads the .p8 private key (PKCS#8 PEM, P-256).
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
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.RegisteredClaims{
		Issuer: k.IssuerID, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
		Audience: jwt.ClaimStrings{Audience},
	})
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

// DefaultRetryAfter is used for a 429 without Retry-After.
const DefaultRetryAfter = time.Minute

// Do calls method url (absolute, or a path under BaseURL) with a JSON body.
func (c *Client) Do(ctx context.Context, method, url string, body, out any) error {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		url = strings.TrimRight(c.BaseURL, "/") + url
	} else if !strings.HasPrefix(url, strings.TrimRight(c.BaseURL, "/")+"/") {
		return sdk.Errorf(sdk.Invalid, "app store: refusing to follow a link outside %s: %s", c.BaseURL, url)
	}
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return sdk.Errorf(sdk.Invalid, "app store: encode request: %v", err)
		}
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	for attempt := 0; ; attempt++ {
		tok, err := c.Tokens.Token(c.Key)
		if err != nil {
			return sdk.Errorf(sdk.Invalid, "%v", err)
		}
		req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(raw))
		if err != nil {
			return sdk.Errorf(sdk.Invalid, "app store: %v", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			return sdk.Errorf(sdk.Unavailable, "app store %s %s: %v", method, req.URL.Path, err)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
		resp.Body.Close()
		if err != nil {
			return sdk.Errorf(sdk.Unavailable, "app store %s %s: reading the answer: %v", method, req.URL.Path, err)
		}
		if resp.StatusCode/100 == 2 {
			if out == nil || len(bytes.TrimSpace(data)) == 0 {
				return nil
			}
			if err := json.Unmarshal(data, out); err != nil {
				return sdk.Errorf(sdk.Unavailable, "app store %s %s: unexpected answer (%v)", method, req.URL.Path, err)
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

// classify turns an answer that is not 2xx into a classified error whose
// message quotes Apple's errors[] (code, title, detail).
func (c *Client) classify(op string, status int, h http.Header, body []byte) error {
	msg := ParseError(status, body)
	switch status {
	case http.StatusUnauthorized:
		return sdk.Errorf(sdk.Unauthenticated, "App Store Connect refused the API key %s of issuer %s: %s", c.Key.KeyID, c.Key.IssuerID, msg)
	case http.StatusForbidden:
		return sdk.Errorf(sdk.PermissionDenied, "app store %s: the API key's role may not do this (answering reviews needs Admin, App Manager or Customer Support): %s", op, msg)
	case http.StatusNotFound:
		return sdk.Errorf(sdk.NotFound, "app store %s: %s", op, msg)
	case http.StatusConflict:
		return sdk.Errorf(sdk.Refused, "App Store Connect refused it: %s", msg)
	case http.StatusTooManyRequests:
		ra := DefaultRetryAfter
		if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s > 0 {
			ra = time.Duration(s) * time.Second
		}
		if rl, ok := ParseRateLimit(h.Get("X-Rate-Limit")); ok {
			return sdk.RetryAfterError(ra, "App Store Connect rate limit (%d requests an hour, %d left): %s", rl.Limit, rl.Remaining, msg)
		}
		return sdk.RetryAfterError(ra, "App Store Connect rate limit: %s", msg)
	}
	if status >= 500 {
		return sdk.Errorf(sdk.Unavailable, "app store %s: %s", op, msg)
	}
	return sdk.Errorf(sdk.Invalid, "app store %s: %s", op, msg)
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
