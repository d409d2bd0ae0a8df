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

// AnswerMaxLength is the longest developer answer the plugin sends. GUESS:
// RuStore documents no limit; the one public reviews client that checks
// refuses more than 500 characters (see README), so 500 is the safe side.
const AnswerMaxLength = 500

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
	return sdk.NewHTTPClient(sdk.HTTPOptions{MaxResponseBytes: MaxResponseBytes})
}

// MaxResponseBytes bounds an answer of the RuStore API.
const MaxResponseBytes = 32 << 20

// token returns a cached token or asks /public/auth/ for one.
func (c *Client) token(ctx context.Context) (string, error) {
	t := c.Tokens
	t.mu.Lock()
	if tk, ok := t.cache[c.cacheID()]; ok && t.now().Before(tk.exp) {
		t.mu.Unlock()
		return tk.jwe, nil
	}
	t.mu.Unlock()
	jwe, _, err := c.newToken(ctx)
	return jwe, err
}

// TokenInfo is what a token request told about the key and the clocks.
type TokenInfo struct {
	TTL time.Duration
	// Skew is RuStore's clock minus this machine's, from the answer's
	// timestamp (or its Date header); SkewKnown says whether either came.
	Skew      time.Duration
	SkewKnown bool
}

// TimestampWindow is how far the signed timestamp may be from RuStore's
// clock ("should not exceed 60 seconds", see README).
const TimestampWindow = 60 * time.Second

// NewToken asks for a fresh token (and caches it), reporting its lifetime
// and the clock skew; CheckCredentials uses it.
func (c *Client) NewToken(ctx context.Context) (TokenInfo, error) {
	_, info, err := c.newToken(ctx)
	return info, err
}

func (c *Client) newToken(ctx context.Context) (string, TokenInfo, error) {
	t := c.Tokens
	var info TokenInfo
	sent := t.now()
	ts := sent.Format(TimestampLayout)
	sig, err := Sign(c.Key, c.KeyID, ts)
	if err != nil {
		return "", info, sdk.Errorf(sdk.ErrorKindInvalid, "rustore: sign the token request: %v", err)
	}
	raw, _ := json.Marshal(map[string]string{"keyId": c.KeyID, "timestamp": ts, "signature": sig})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+"/public/auth/", bytes.NewReader(raw))
	if err != nil {
		return "", info, sdk.Errorf(sdk.ErrorKindInvalid, "rustore: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	var body struct {
		JWE string `json:"jwe"`
		TTL int    `json:"ttl"`
	}
	status, env, h, err := c.send(req, &body)
	if err != nil {
		return "", info, err
	}
	info.Skew, info.SkewKnown = skew(env, h, sent, t.now())
	if status == http.StatusBadRequest && strings.Contains(strings.ToLower(env.message()), "timestamp") {
		// RuStore: 400 "Range timestamp not valid" when the signed time is
		// more than a minute off its own.
		msg := fmt.Sprintf("rustore refused the token request's timestamp (%s): this machine's clock must be within %d seconds of RuStore's", env.message(), int(TimestampWindow.Seconds()))
		if info.SkewKnown {
			msg += fmt.Sprintf("; it is %s off", info.Skew.Abs().Round(time.Second))
		}
		return "", info, sdk.Errorf(sdk.ErrorKindUnauthenticated, "%s; set the clock (NTP)", msg)
	}
	if status != http.StatusOK || body.JWE == "" {
		return "", info, classify(status, env, nil, "rustore refused the key id and private key when asking for a token")
	}
	info.TTL = time.Duration(body.TTL) * time.Second
	if info.TTL <= 0 {
		info.TTL = 900 * time.Second
	}
	t.mu.Lock()
	if t.cache == nil {
		t.cache = map[string]token{}
	}
	// Renew a minute early so a token never expires mid-call.
	t.cache[c.cacheID()] = token{body.JWE, t.now().Add(info.TTL - min(time.Minute, info.TTL/4))}
	t.mu.Unlock()
	return body.JWE, info, nil
}

// skew is the server's time (the envelope's timestamp, else the Date
// header) minus the local time halfway through the call.
func skew(env Envelope, h http.Header, sent, got time.Time) (time.Duration, bool) {
	local := sent.Add(got.Sub(sent) / 2)
	if ts, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(env.Timestamp)); err == nil {
		return ts.Sub(local), true
	}
	if h != nil {
		if d, err := http.ParseTime(h.Get("Date")); err == nil {
			return d.Sub(local), true
		}
	}
	return 0, false
}

func (c *Client) forget() {
	c.Tokens.mu.Lock()
	delete(c.Tokens.cache, c.cacheID())
	c.Tokens.mu.Unlock()
}

// send does req and decodes the envelope's body into out on 2xx.
func (c *Client) send(req *http.Request, out any) (int, Envelope, http.Header, error) {
	var env Envelope
	resp, err := c.hc().Do(req)
	if err != nil {
		return 0, env, nil, sdk.Errorf(sdk.ErrorKindUnavailable, "rustore %s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, env, resp.Header, sdk.Errorf(sdk.ErrorKindUnavailable, "rustore %s %s: reading the answer: %v", req.Method, req.URL.Path, err)
	}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &env); err != nil && resp.StatusCode/100 == 2 {
			return resp.StatusCode, env, resp.Header, sdk.Errorf(sdk.ErrorKindUnavailable, "rustore %s %s: unexpected answer (%v)", req.Method, req.URL.Path, err)
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return resp.StatusCode, env, resp.Header, classify(resp.StatusCode, env, resp.Header, "")
	}
	if resp.StatusCode/100 == 2 && out != nil && len(env.Body) > 0 && string(env.Body) != "null" {
		if err := json.Unmarshal(env.Body, out); err != nil {
			return resp.StatusCode, env, resp.Header, sdk.Errorf(sdk.ErrorKindUnavailable, "rustore %s %s: unexpected body (%v)", req.Method, req.URL.Path, err)
		}
	}
	return resp.StatusCode, env, resp.Header, nil
}

// classify turns an error answer into the SDK's error: the kind from the
// status (sdk.HTTPError, with the Retry-After of a 429), the message from
// RuStore's envelope.
func classify(status int, env Envelope, h http.Header, what string) error {
	msg := env.message()
	if what == "" {
		what = "rustore"
	}
	switch status {
	case 0:
		return sdk.Errorf(sdk.ErrorKindUnavailable, "%s: no answer %s", what, msg)
	case http.StatusTooManyRequests:
		return sdk.HTTPError(status, h, "RuStore rate limit: %s", msg)
	}
	return sdk.HTTPError(status, h, "%s: %d %s", what, status, msg)
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
			return sdk.Errorf(sdk.ErrorKindInvalid, "rustore: %v", err)
		}
		req.Header.Set("Public-Token", tok)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		status, env, _, err := c.send(req, out)
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

// ID is a RuStore id. The API's own specification types comment ids as
// numbers and answer ids as strings, while its help pages show answer ids
// as numbers (see README), so an ID reads either form.
type ID string

// UnmarshalJSON reads a JSON number or string; null leaves the id empty.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*id = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(strings.TrimSpace(s))
		return nil
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil {
		return fmt.Errorf("an id must be a number or a string, not %s", sdk.ShapeOf(b))
	}
	if _, err := n.Int64(); err != nil {
		return errors.New("an id must be a whole number")
	}
	*id = ID(n.String())
	return nil
}

// Comment is a user review as the API lists it (UserCommentDto).
type Comment struct {
	CommentID      ID     `json:"commentId"`
	PackageName    string `json:"packageName,omitempty"`
	UserName       string `json:"userName"`
	AppRating      int    `json:"appRating"`
	CommentStatus  string `json:"commentStatus"`
	CommentDate    string `json:"commentDate"`
	CommentDateISO string `json:"commentDateIso,omitempty"`
	UpdatedAt      string `json:"updatedAt,omitempty"`
	UpdatedAtISO   string `json:"updatedAtIso,omitempty"`
	CommentText    string `json:"commentText"`
	LikeCounter    int    `json:"likeCounter"`
	DislikeCounter int    `json:"dislikeCounter"`
	AppVersionName string `json:"appVersionName,omitempty"`
	Edited         bool   `json:"edited,omitempty"`
}

// Feedback is a developer answer (FeedbackResponseDto).
type Feedback struct {
	ID        ID     `json:"id"`
	CommentID ID     `json:"commentId"`
	Text      string `json:"text"`
	Status    string `json:"status"`
	Date      string `json:"date"`
}

// Live reports whether the answer is shown or on its way (not DELETED,
// which RuStore uses for "deleted by the developer or changed").
func (f Feedback) Live() bool { return f.Status != "DELETED" }

// Reply is the answer as the SDK's developer reply.
func (f Feedback) Reply() sdk.DeveloperReply {
	d, _ := ParseTime(f.Date)
	return sdk.DeveloperReply{ID: string(f.ID), Text: f.Text, State: f.Status, UpdatedAt: d}
}

// ParseTime reads RuStore's dates: ISO 8601 with or without offset, or
// "2006-01-02 15:04:05.000". A date without an offset is read as Moscow
// time (GUESS, see README); the *Iso fields, when given, avoid the guess.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	msk := time.FixedZone("MSK", 3*3600)
	for _, l := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.ParseInLocation(l, s, msk); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date", s)
}

// commentTime prefers the ISO field and falls back to the older one.
func commentTime(iso, plain string) (time.Time, string, error) {
	if strings.TrimSpace(iso) != "" {
		t, err := ParseTime(iso)
		return t, "Iso", err
	}
	t, err := ParseTime(plain)
	return t, "", err
}

// MapComment maps a comment and its answer (if any).
func MapComment(pkg string, c Comment, answer *Feedback) (sdk.Review, error) {
	if c.CommentID == "" {
		return sdk.Review{}, errors.New("a comment without commentId")
	}
	if c.AppRating < 1 || c.AppRating > 5 {
		return sdk.Review{}, fmt.Errorf("comment %s: appRating %d is not 1..5", c.CommentID, c.AppRating)
	}
	created, suffix, err := commentTime(c.CommentDateISO, c.CommentDate)
	if err != nil {
		return sdk.Review{}, fmt.Errorf("comment %s: commentDate%s: %w", c.CommentID, suffix, err)
	}
	updated := created
	if c.UpdatedAtISO != "" || c.UpdatedAt != "" {
		u, suffix, err := commentTime(c.UpdatedAtISO, c.UpdatedAt)
		if err != nil {
			return sdk.Review{}, fmt.Errorf("comment %s: updatedAt%s: %w", c.CommentID, suffix, err)
		}
		if u.After(created) {
			updated = u
		}
	}
	r := sdk.Review{ID: string(c.CommentID), AppID: pkg, Author: c.UserName, Rating: c.AppRating,
		Text: c.CommentText, AppVersion: c.AppVersionName, CreatedAt: created, UpdatedAt: updated,
		ThumbsUp: c.LikeCounter, ThumbsDown: c.DislikeCounter, Status: c.CommentStatus,
		URL: "https://www.rustore.ru/catalog/app/" + pkg}
	if answer != nil && answer.Live() && answer.Text != "" {
		rep := answer.Reply()
		r.Reply = &rep
	}
	return r, nil
}

// DecodeComment reads one listed comment.
func DecodeComment(raw json.RawMessage) (Comment, error) {
	var c Comment
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("the comment does not read as RuStore's UserCommentDto: %w", err)
	}
	return c, nil
}

// CommentIDOf digs the commentId out of a comment that does not decode,
// for the operator's report; empty when there is none.
func CommentIDOf(raw json.RawMessage) string {
	var probe struct {
		CommentID json.RawMessage `json:"commentId"`
	}
	if json.Unmarshal(raw, &probe) != nil {
		return ""
	}
	var id ID
	if id.UnmarshalJSON(probe.CommentID) != nil {
		return ""
	}
	return string(id)
}

func appPath(pkg string) string { return "/public/v1/application/" + url.PathEscape(pkg) }

// Comments reads one page of an app's comments (page from 0, size ≤ 100),
// each as RuStore sent it: a comment the plugin cannot read must not cost
// the others (see DecodeComment).
func (c *Client) Comments(ctx context.Context, pkg string, page, size int) ([]json.RawMessage, error) {
	var out []json.RawMessage
	q := url.Values{"page": {strconv.Itoa(page)}, "size": {strconv.Itoa(size)}}
	err := c.Do(ctx, http.MethodGet, appPath(pkg)+"/comment", q, nil, &out)
	return out, err
}

// AnswersPage reads one page of an app's developer answers.
func (c *Client) AnswersPage(ctx context.Context, pkg string, page, size int) ([]Feedback, error) {
	var list []Feedback
	q := url.Values{"page": {strconv.Itoa(page)}, "size": {strconv.Itoa(size)}}
	err := c.Do(ctx, http.MethodGet, appPath(pkg)+"/feedback", q, nil, &list)
	return list, err
}

// newer reports whether a should be kept over b as a comment's answer: a
// live answer over a deleted one, then the later date, then the larger id.
func newer(a, b Feedback) bool {
	if a.Live() != b.Live() {
		return a.Live()
	}
	da, ea := ParseTime(a.Date)
	db, eb := ParseTime(b.Date)
	if ea == nil && eb == nil && !da.Equal(db) {
		return da.After(db)
	}
	na, ea := strconv.ParseInt(string(a.ID), 10, 64)
	nb, eb := strconv.ParseInt(string(b.ID), 10, 64)
	if ea == nil && eb == nil {
		return na > nb
	}
	return a.ID > b.ID
}

// Answers reads every developer answer of an app, by comment id (a live
// answer wins over deleted ones, then the newest).
func (c *Client) Answers(ctx context.Context, pkg string) (map[string]Feedback, error) {
	out := map[string]Feedback{}
	for page := 0; page < 10000; page++ {
		list, err := c.AnswersPage(ctx, pkg, page, 100)
		if err != nil {
			return nil, err
		}
		for _, f := range list {
			if old, ok := out[string(f.CommentID)]; !ok || newer(f, old) {
				out[string(f.CommentID)] = f
			}
		}
		if len(list) < 100 {
			break
		}
	}
	return out, nil
}

// idBody is FeedbackIdDto, the body of create and edit answers.
type idBody struct {
	ID ID `json:"id"`
}

// Answer posts a developer answer to a comment: POST …/feedback?commentId=
// with {"message"}; RuStore answers with the new answer's id only.
func (c *Client) Answer(ctx context.Context, pkg, commentID, text string) (ID, error) {
	var out idBody
	err := c.Do(ctx, http.MethodPost, appPath(pkg)+"/feedback", url.Values{"commentId": {commentID}},
		map[string]string{"message": text}, &out)
	if err == nil && out.ID == "" {
		err = sdk.Errorf(sdk.ErrorKindUnavailable, "rustore POST %s/feedback: the answer carries no id", appPath(pkg))
	}
	return out.ID, err
}

// EditAnswer replaces the text of an answer: POST …/feedback/{id} with
// {"message"}; RuStore answers with the answer's id only.
func (c *Client) EditAnswer(ctx context.Context, pkg, feedbackID, text string) (ID, error) {
	var out idBody
	p := appPath(pkg) + "/feedback/" + url.PathEscape(feedbackID)
	err := c.Do(ctx, http.MethodPost, p, nil, map[string]string{"message": text}, &out)
	if err == nil && out.ID == "" {
		err = sdk.Errorf(sdk.ErrorKindUnavailable, "rustore POST %s: the answer carries no id", p)
	}
	return out.ID, err
}

// GetAnswer reads one answer: GET …/feedback/{id}.
func (c *Client) GetAnswer(ctx context.Context, pkg, feedbackID string) (Feedback, error) {
	var out Feedback
	err := c.Do(ctx, http.MethodGet, appPath(pkg)+"/feedback/"+url.PathEscape(feedbackID), nil, nil, &out)
	if err == nil && out.ID == "" {
		err = sdk.Errorf(sdk.ErrorKindUnavailable, "rustore GET %s/feedback/%s: no answer in the body", appPath(pkg), feedbackID)
	}
	return out, err
}

// DeleteAnswer deletes an answer.
func (c *Client) DeleteAnswer(ctx context.Context, pkg string, feedbackID string) error {
	return c.Do(ctx, http.MethodDelete, appPath(pkg)+"/feedback/"+url.PathEscape(feedbackID), nil, nil, nil)
}
