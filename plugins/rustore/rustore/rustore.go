// Package rustore is a client of the RuStore Public API for app reviews
// ("comments") and developer answers ("feedback"): it signs the access
// token request with the console's RSA key, caches the token for its
// lifetime and maps answers to the SDK. Facts, sources and guesses are in
// plugins/rustore/README.md.
package rustore

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// TimestampLayout is the form of the signed timestamp (ISO 8601 with milliseconds and offset).
const TimestampLayout = "2006-01-02T15:04:05.000Z07:00"

// AnswerMaxLength is the longest developer answer (GUESS, see README).
const AnswerMaxLength = 5000

// ParsePrivateKey reads the console's private key: base64 DER (as the
// console shows it) or PEM, PKCS#8 or PKCS#1.
func ParsePrivateKey(s string) (*rsa.PrivateKey, error) {
	s = strings.TrimSpace(s)
	var der []byte
	if block, _ := pem.Decode([]byte(s)); block != nil {
		der = block.Bytes
	} else {
		var err error
		der, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil, errors.New("private_key is neither PEM nor base64 DER")
		}
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("private_key is a %T key; RuStore keys are RSA", k)
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PrivateKey(der)
	if err != nil {
		return nil, errors.New("private_key is not an RSA private key (PKCS#8 or PKCS#1)")
	}
	return k, nil
}

// Sign is the request signature: base64(RSASSA-PKCS1-v1_5 SHA-512 of keyId + timestamp).
func Sign(key *rsa.PrivateKey, keyID, timestamp string) (string, error) {
	sum := sha512.Sum512([]byte(keyID + timestamp))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA512, sum[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// Envelope is RuStore's answer wrapper: {"code", "message", "timestamp", "body"}.
type Envelope struct {
	Code      string          `json:"code"`
	Message   *string         `json:"message"`
	Timestamp string          `json:"timestamp"`
	Body      json.RawMessage `json:"body"`
}

func (e Envelope) message() string {
	if e.Message != nil && *e.Message != "" {
		return *e.Message
	}
	return e.Code
}

// Tokens caches access tokens per key.
type Tokens struct {
	mu    sync.Mutex
	cache map[string]token
	Now   func() time.Time
}

type token struct {
	jwe string
	exp time.Time
}

func (t *Tokens) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Client calls the RuStore Public API with one key.
type Client struct {
	BaseURL string // https://public-api.rustore.ru
	KeyID   string
	Key     *rsa.PrivateKey
	Tokens  *Tokens
	HTTP    *http.Client
}

func (c *Client) cacheID() string { return c.KeyID + "/" + c.Key.N.Text(36)[:16] }

func (c *Client) hc() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// token returns a cached token or asks /public/auth/ for one.
func (c *Client) token(ctx context.Context) (string, error) {
	t := c.Tokens
	t.mu.Lock()
	if tk, ok := t.cache[c.cacheID()]; ok && t.now().Before(tk.exp) {
		t.mu.Unlock()
		return tk.jwe, nil
	}
	t.mu.Unlock()
	ts := t.now().Format(TimestampLayout)
	sig, err := Sign(c.Key, c.KeyID, ts)
	if err != nil {
		return "", sdk.Errorf(sdk.Invalid, "rustore: sign the token request: %v", err)
	}
	raw, _ := json.Marshal(map[string]string{"keyId": c.KeyID, "timestamp": ts, "signature": sig})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+"/public/auth/", bytes.NewReader(raw))
	if err != nil {
		return "", sdk.Errorf(sdk.Invalid, "rustore: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	var body struct {
		JWE string `json:"jwe"`
		TTL int    `json:"ttl"`
	}
	status, env, err := c.send(req, &body)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK || body.JWE == "" {
		return "", classify(status, env, nil, "rustore refused the key id and private key when asking for a token")
	}
	ttl := time.Duration(body.TTL) * time.Second
	if ttl <= 0 {
		ttl = 900 * time.Second
	}
	t.mu.Lock()
	if t.cache == nil {
		t.cache = map[string]token{}
	}
	// Renew a minute early so a token never expires mid-call.
	t.cache[c.cacheID()] = token{body.JWE, t.now().Add(ttl - min(time.Minute, ttl/4))}
	t.mu.Unlock()
	return body.JWE, nil
}

func (c *Client) forget() {
	c.Tokens.mu.Lock()
	delete(c.Tokens.cache, c.cacheID())
	c.Tokens.mu.Unlock()
}

// send does req and decodes the envelope's body into out on 2xx.
func (c *Client) send(req *http.Request, out any) (int, Envelope, error) {
	var env Envelope
	resp, err := c.hc().Do(req)
	if err != nil {
		return 0, env, sdk.Errorf(sdk.Unavailable, "rustore %s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return 0, env, sdk.Errorf(sdk.Unavailable, "rustore %s %s: reading the answer: %v", req.Method, req.URL.Path, err)
	}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &env); err != nil && resp.StatusCode/100 == 2 {
			return resp.StatusCode, env, sdk.Errorf(sdk.Unavailable, "rustore %s %s: unexpected answer (%v)", req.Method, req.URL.Path, err)
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return resp.StatusCode, env, classify(resp.StatusCode, env, resp.Header, "")
	}
	if resp.StatusCode/100 == 2 && out != nil && len(env.Body) > 0 && string(env.Body) != "null" {
		if err := json.Unmarshal(env.Body, out); err != nil {
			return resp.StatusCode, env, sdk.Errorf(sdk.Unavailable, "rustore %s %s: unexpected body (%v)", req.Method, req.URL.Path, err)
		}
	}
	return resp.StatusCode, env, nil
}

// DefaultRetryAfter is used for a 429 without Retry-After.
const DefaultRetryAfter = time.Minute

func classify(status int, env Envelope, h http.Header, what string) error {
	msg := env.message()
	if what == "" {
		what = "rustore"
	}
	switch {
	case status == http.StatusTooManyRequests:
		ra := DefaultRetryAfter
		if h != nil {
			if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 {
				ra = time.Duration(s) * time.Second
			}
		}
		return sdk.RetryAfterError(ra, "RuStore rate limit: %s", msg)
	case status == http.StatusUnauthorized:
		return sdk.Errorf(sdk.Unauthenticated, "%s: %s", what, msg)
	case status == http.StatusForbidden:
		return sdk.Errorf(sdk.PermissionDenied, "%s: the key has no access (%s)", what, msg)
	case status == http.StatusNotFound:
		return sdk.Errorf(sdk.NotFound, "%s: not found (%s)", what, msg)
	case status >= 500 || status == 0:
		return sdk.Errorf(sdk.Unavailable, "%s: %d %s", what, status, msg)
	default:
		return sdk.Errorf(sdk.Invalid, "%s: %d %s", what, status, msg)
	}
}

// Do calls the API with a token; a refused token is renewed once.
func (c *Client) Do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	for attempt := 0; ; attempt++ {
		tok, err := c.token(ctx)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(raw))
		if err != nil {
			return sdk.Errorf(sdk.Invalid, "rustore: %v", err)
		}
		req.Header.Set("Public-Token", tok)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		status, env, err := c.send(req, out)
		if err != nil {
			return err
		}
		if status/100 == 2 {
			return nil
		}
		if status == http.StatusUnauthorized && attempt == 0 {
			c.forget()
			continue
		}
		return classify(status, env, nil, "rustore "+method+" "+path)
	}
}

// Comment is a user review as the API lists it.
type Comment struct {
	CommentID      int64  `json:"commentId"`
	PackageName    string `json:"packageName,omitempty"`
	UserName       string `json:"userName"`
	AppRating      int    `json:"appRating"`
	CommentStatus  string `json:"commentStatus"`
	CommentDate    string `json:"commentDate"`
	UpdatedAt      string `json:"updatedAt,omitempty"`
	CommentText    string `json:"commentText"`
	LikeCounter    int    `json:"likeCounter"`
	DislikeCounter int    `json:"dislikeCounter"`
	AppVersionName string `json:"appVersionName,omitempty"`
	Language       string `json:"language,omitempty"`
	Edited         bool   `json:"edited,omitempty"`
}

// Feedback is a developer answer.
type Feedback struct {
	ID        int64  `json:"id"`
	CommentID int64  `json:"commentId"`
	Text      string `json:"text"`
	Status    string `json:"status"`
	Date      string `json:"date"`
}

// ParseTime reads RuStore's dates: ISO 8601 with or without offset, or
// "2006-01-02 15:04:05.000" (Moscow time, GUESS).
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	msk := time.FixedZone("MSK", 3*3600)
	for _, l := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(l, s, msk); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date", s)
}

// MapComment maps a comment and its answer (if any).
func MapComment(pkg string, c Comment, answer *Feedback) (sdk.Review, error) {
	if c.CommentID == 0 {
		return sdk.Review{}, errors.New("a comment without commentId")
	}
	if c.AppRating < 1 || c.AppRating > 5 {
		return sdk.Review{}, fmt.Errorf("comment %d: rating %d is not 1..5", c.CommentID, c.AppRating)
	}
	created, err := ParseTime(c.CommentDate)
	if err != nil {
		return sdk.Review{}, fmt.Errorf("comment %d: commentDate: %w", c.CommentID, err)
	}
	updated := created
	if c.UpdatedAt != "" {
		if u, err := ParseTime(c.UpdatedAt); err == nil && u.After(created) {
			updated = u
		}
	}
	r := sdk.Review{ID: strconv.FormatInt(c.CommentID, 10), AppID: pkg, Author: c.UserName, Rating: c.AppRating,
		Text: c.CommentText, AppVersion: c.AppVersionName, Language: c.Language, CreatedAt: created, UpdatedAt: updated,
		ThumbsUp: c.LikeCounter, ThumbsDown: c.DislikeCounter, Status: c.CommentStatus,
		URL: "https://www.rustore.ru/catalog/app/" + pkg}
	if answer != nil && answer.Status != "DELETED" && answer.Text != "" {
		d, _ := ParseTime(answer.Date)
		r.Reply = &sdk.DeveloperReply{ID: strconv.FormatInt(answer.ID, 10), Text: answer.Text, State: answer.Status, UpdatedAt: d}
	}
	return r, nil
}

// Comments reads one page of an app's comments (page from 0, size ≤ 100).
func (c *Client) Comments(ctx context.Context, pkg string, page, size int) ([]Comment, error) {
	var out []Comment
	q := url.Values{"page": {strconv.Itoa(page)}, "size": {strconv.Itoa(size)}}
	err := c.Do(ctx, http.MethodGet, "/public/v1/application/"+url.PathEscape(pkg)+"/comment", q, nil, &out)
	return out, err
}

// Answers reads every developer answer of an app, by comment id (the
// newest answer of a comment wins).
func (c *Client) Answers(ctx context.Context, pkg string) (map[int64]Feedback, error) {
	out := map[int64]Feedback{}
	for page := 0; page < 10000; page++ {
		var list []Feedback
		q := url.Values{"page": {strconv.Itoa(page)}, "size": {"100"}}
		if err := c.Do(ctx, http.MethodGet, "/public/v1/application/"+url.PathEscape(pkg)+"/feedback", q, nil, &list); err != nil {
			return nil, err
		}
		for _, f := range list {
			if old, ok := out[f.CommentID]; !ok || f.ID > old.ID {
				out[f.CommentID] = f
			}
		}
		if len(list) < 100 {
			break
		}
	}
	return out, nil
}

// Answer posts a developer answer to a comment.
func (c *Client) Answer(ctx context.Context, pkg string, commentID, text string) (Feedback, error) {
	var out Feedback
	err := c.Do(ctx, http.MethodPost, "/public/v1/application/"+url.PathEscape(pkg)+"/comment/"+url.PathEscape(commentID)+"/feedback", nil,
		map[string]string{"message": text}, &out)
	return out, err
}

// EditAnswer replaces the text of an answer.
func (c *Client) EditAnswer(ctx context.Context, pkg string, feedbackID, text string) (Feedback, error) {
	var out Feedback
	err := c.Do(ctx, http.MethodPut, "/public/v1/application/"+url.PathEscape(pkg)+"/feedback/"+url.PathEscape(feedbackID), nil,
		map[string]string{"message": text}, &out)
	return out, err
}

// DeleteAnswer deletes an answer.
func (c *Client) DeleteAnswer(ctx context.Context, pkg string, feedbackID string) error {
	return c.Do(ctx, http.MethodDelete, "/public/v1/application/"+url.PathEscape(pkg)+"/feedback/"+url.PathEscape(feedbackID), nil, nil, nil)
}
