// Package fake is a fake of Google's OAuth token endpoint and the Android
// Publisher API's reviews methods, written from Google's reference (see
// ../README.md): the service-account JWT-bearer grant is verified (RS256
// signature with the key, iss, aud, scope, exp), API calls need the issued
// Bearer token, reviews.list pages with tokenPagination and lists only the
// last seven days and only reviews with text, reviews.get and reviews:reply
// behave as documented, and errors use Google's error body (code, message,
// status, errors[].reason). Where Google's behaviour is only reported, the
// fake is stricter, never kinder: it answers 500 to replies to reviews last
// changed more than seven days ago, and can refuse single reviews (403).
//
// Each app keeps its reviews in a slice sorted newest-modified first,
// maintained on every change (binary search, one copy), and pages carry a
// keyset token (the last review's lastModified and id), so a page of a
// 10,000-review app costs O(log n + page size) and reviews edited while a
// client pages move to the front without shifting the pages it has not read.
package fake

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest/faults"
)

// ClientEmail of the fake service account.
const ClientEmail = "reviewhub@fake-project.iam.gserviceaccount.com"

const scope = "https://www.googleapis.com/auth/androidpublisher"

type review struct {
	id, author, text, lang, device, versionName string // text: "title\tbody" when titled
	rating, osVersion, versionCode, up, down    int64
	modified, created                           time.Time // created: the first version's time (the reports' submit time)
	reply                                       string
	replied                                     time.Time
	refuseReply                                 bool // 403 on reviews:reply
}

// newer orders reviews newest-modified first (ties by id, ascending), the
// order of reviews.list.
func newer(a, b *review) int {
	if c := b.modified.Compare(a.modified); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

type app struct {
	reviews map[string]*review
	order   []*review // newer-first, always sorted
	denied  bool      // the service account has no access (403)
}

func (a *app) remove(rv *review) {
	if i, ok := slices.BinarySearchFunc(a.order, rv, newer); ok {
		a.order = slices.Delete(a.order, i, i+1)
	}
}

func (a *app) insert(rv *review) {
	i, _ := slices.BinarySearchFunc(a.order, rv, newer)
	a.order = slices.Insert(a.order, i, rv)
}

// Server is the fake. Safe for concurrent use.
type Server struct {
	key *rsa.PrivateKey

	mu         sync.Mutex
	apps       map[string]*app
	tokens     map[string]time.Time
	tokenTTL   time.Duration
	tokenURL   string
	replies    map[string]int // pkg/review → reviews:reply calls
	gets       map[string]int // pkg → GET calls (list and get), the quota Google counts per app
	quotaN     int
	quotaLimit string
	shortPage  int
	tokenCalls int
	acceptOld  bool // replies to reviews older than Window accepted (AcceptOldReplies)
	now        func() time.Time
	scopes     map[string]string // access token → its scopes
	changes    int               // reviews or replies changed (the generated reports' cache)
	storage    storage
	faults.Faults
}

// New returns a fake with a fresh RSA key for its service account.
func New() *Server {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return &Server{key: key, apps: map[string]*app{}, tokens: map[string]time.Time{}, scopes: map[string]string{}, replies: map[string]int{}, gets: map[string]int{},
		tokenTTL: time.Hour, now: func() time.Time { return time.Now().UTC() }}
}

// KeyJSON is a service-account key for this fake whose token_uri is tokenURL.
func (s *Server) KeyJSON(tokenURL string) string {
	der, _ := x509.MarshalPKCS8PrivateKey(s.key)
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "fake-project", "private_key_id": "fake-key-1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": ClientEmail, "client_id": "1234567890",
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": tokenURL,
	})
	return string(b)
}

// Settings are working plugin settings against the fake at baseURL.
func (s *Server) Settings(baseURL string) sdk.Settings {
	s.mu.Lock()
	s.tokenURL = baseURL + "/token"
	s.mu.Unlock()
	return sdk.Settings{"service_account_json": s.KeyJSON(baseURL + "/token"), "base_url": baseURL}
}

// SetTokenTTL sets the lifetime of issued access tokens.
func (s *Server) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	s.tokenTTL = d
	s.mu.Unlock()
}

func (s *Server) appLocked(pkg string) *app {
	a := s.apps[pkg]
	if a == nil {
		a = &app{reviews: map[string]*review{}}
		s.apps[pkg] = a
	}
	return a
}

// AddApp makes a package known (with no reviews yet).
func (s *Server) AddApp(pkg string) {
	s.mu.Lock()
	s.appLocked(pkg)
	s.mu.Unlock()
}

// Deny makes the package answer 403 PERMISSION_DENIED, as for a service
// account that was not invited to the app in Play Console.
func (s *Server) Deny(pkg string) {
	s.mu.Lock()
	s.appLocked(pkg).denied = true
	s.mu.Unlock()
}

// PutReview adds a review or edits it: the edit gets a newer lastModified
// (r.UpdatedAt when later, else the clock, at least a millisecond after the
// previous one) and keeps the developer reply unless r carries one. A review
// with a Title is served as Google serves titled reviews, "title\tbody" in
// userComment.text. A review without text is kept but never served: "the API
// shows only the reviews that include comments".
func (s *Server) PutReview(pkg string, r sdk.Review) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.appLocked(pkg)
	mod := r.UpdatedAt
	if mod.IsZero() {
		mod = s.now()
	}
	old := a.reviews[r.ID]
	text := r.Text
	if r.Title != "" {
		text = r.Title + "\t" + r.Text
	}
	rv := &review{id: r.ID, author: r.Author, text: text, lang: r.Language, device: r.Device, versionName: r.AppVersion,
		rating: int64(r.Rating), up: int64(r.ThumbsUp), down: int64(r.ThumbsDown), modified: mod.UTC()}
	if v, err := strconv.ParseInt(strings.TrimPrefix(r.OSVersion, "API "), 10, 64); err == nil {
		rv.osVersion = v
	}
	if v, err := strconv.ParseInt(r.Extra["app_version_code"], 10, 64); err == nil {
		rv.versionCode = v
	}
	rv.created = rv.modified
	if !r.CreatedAt.IsZero() && !r.CreatedAt.After(rv.modified) {
		rv.created = r.CreatedAt.UTC()
	}
	s.changes++
	if old != nil {
		rv.created = old.created
		rv.reply, rv.replied, rv.refuseReply = old.reply, old.replied, old.refuseReply
		if !rv.modified.After(old.modified) {
			rv.modified = old.modified.Add(time.Millisecond)
		}
		a.remove(old)
	}
	if r.Reply != nil {
		rv.reply, rv.replied = r.Reply.Text, rv.modified
		if !r.Reply.UpdatedAt.IsZero() {
			rv.replied = r.Reply.UpdatedAt.UTC()
		}
	}
	a.reviews[r.ID] = rv
	a.insert(rv)
}

// ReplyText is the developer reply shown for a review.
func (s *Server) ReplyText(pkg, reviewID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.apps[pkg]; a != nil {
		if rv := a.reviews[reviewID]; rv != nil && rv.reply != "" {
			return rv.reply, true
		}
	}
	return "", false
}

// ReplyCalls is how many reviews:reply calls a review received.
func (s *Server) ReplyCalls(pkg, reviewID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replies[pkg+"/"+reviewID]
}

// Quota makes the next n API calls answer as Google does when a Google
// Cloud project's quota of androidpublisher.googleapis.com is spent: 403
// PERMISSION_DENIED, reason rateLimitExceeded in domain usageLimits, "Quota
// exceeded for quota metric 'Queries' and limit 'Queries per minute'…"
// (no Retry-After). Rate limits (429) are RateLimit's.
func (s *Server) Quota(n int) { s.QuotaLimit(n, "Queries per minute") }

// QuotaLimit is Quota naming another limit, e.g. "Queries per day" (the
// answer quoted in github.com/aporat/store-receipt-validator issue 136).
func (s *Server) QuotaLimit(n int, limit string) {
	s.mu.Lock()
	s.quotaN, s.quotaLimit = n, limit
	s.mu.Unlock()
}

// RefuseReply makes reviews:reply answer 403 for this one review while the
// package stays readable and other reviews accept replies, as reported for a
// share of reviews (github.com/googleapis/google-api-python-client issue 748).
func (s *Server) RefuseReply(pkg, reviewID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rv := s.appLocked(pkg).reviews[reviewID]; rv != nil {
		rv.refuseReply = true
	}
}

// ShortPages makes reviews.list return at most n reviews a page whatever
// maxResults asks (still with a nextPageToken while more follow), as
// integrators report of the real API; 0 restores maxResults.
func (s *Server) ShortPages(n int) {
	s.mu.Lock()
	s.shortPage = n
	s.mu.Unlock()
}

// GetCalls is how many GET calls (reviews.list and reviews.get) the package
// received: Google's per-app quota allows 200 an hour.
func (s *Server) GetCalls(pkg string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets[pkg]
}

// TokenCalls is the number of access tokens requested.
func (s *Server) TokenCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenCalls
}

// AcceptOldReplies makes reviews.reply accept replies to reviews last
// changed more than Window ago, as Google's reference documents it (no
// age limit is published); by default the fake answers them 500, as a
// third-party report has it (testdata/vendor/reply-old-review-500.json).
func (s *Server) AcceptOldReplies() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acceptOld = true
}

// SetNow replaces the clock.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// googleError writes Google's JSON error body.
func googleError(w http.ResponseWriter, code int, status, reason, domain, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{
		"code": code, "message": msg, "status": status,
		"errors": []map[string]string{{"message": msg, "domain": domain, "reason": reason}},
	}})
}

func notFound(w http.ResponseWriter, msg string) {
	googleError(w, http.StatusNotFound, "NOT_FOUND", "notFound", "global", msg)
}

func badRequest(w http.ResponseWriter, reason, msg string) {
	googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", reason, "global", msg)
}

const apiPrefix = "/androidpublisher/v3/applications/"

// ServeHTTP serves the token endpoint and the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		s.token(w, r)
		return
	}
	if f, ok := s.Next(); ok { // API calls only: the token endpoint is not counted
		if f.RateLimited {
			if f.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(f.RetryAfter.Round(time.Second).Seconds())))
			}
			googleError(w, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", "rateLimitExceeded", "usageLimits", "Rate limit exceeded.")
			return
		}
		googleError(w, f.Status, http.StatusText(f.Status), "backendError", "global", "The service is currently unavailable.")
		return
	}
	s.mu.Lock()
	auth, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	exp, known := s.tokens[auth]
	valid := bearer && known && s.now().Before(exp)
	scopes := s.scopes[auth]
	quota := valid && s.quotaN > 0 && !strings.HasPrefix(r.URL.Path, storagePrefix)
	if quota {
		s.quotaN--
	}
	limit := s.quotaLimit
	s.mu.Unlock()
	if !valid {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
		googleError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "authError", "global",
			"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	}
	if quota {
		googleError(w, http.StatusForbidden, "PERMISSION_DENIED", "rateLimitExceeded", "usageLimits",
			"Quota exceeded for quota metric 'Queries' and limit '"+limit+"' of service 'androidpublisher.googleapis.com' for consumer 'project_number:1234567890'.")
		return
	}
	if strings.HasPrefix(r.URL.Path, storagePrefix) {
		if !strings.Contains(scopes, StorageScope) {
			googleError(w, http.StatusForbidden, "PERMISSION_DENIED", "insufficientPermissions", "global",
				"Provided scope(s) are not authorized")
			return
		}
		s.serveStorage(w, r)
		return
	}
	if !strings.Contains(scopes, scope) {
		googleError(w, http.StatusForbidden, "PERMISSION_DENIED", "insufficientPermissions", "global",
			"Request had insufficient authentication scopes.")
		return
	}
	// Segments are split on the escaped path and unescaped one by one: a
	// review id may hold ':' (gp:AOqpTO…) or even an escaped '/'.
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), apiPrefix)
	parts := strings.Split(rest, "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			ok = false
			break
		}
		parts[i] = u
	}
	if !ok || len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] != "reviews" {
		notFound(w, "Method not found.")
		return
	}
	pkg := parts[0]
	if r.Method == http.MethodGet {
		s.mu.Lock()
		s.gets[pkg]++
		s.mu.Unlock()
	}
	switch {
	case len(parts) == 2 && r.Method == http.MethodGet:
		s.list(w, r, pkg)
	case len(parts) == 3 && r.Method == http.MethodGet && parts[2] != "":
		s.get(w, r, pkg, parts[2]) // any id, ':' included
	case len(parts) == 3 && r.Method == http.MethodPost && strings.HasSuffix(parts[2], ":reply") && len(parts[2]) > len(":reply"):
		s.reply(w, r, pkg, strings.TrimSuffix(parts[2], ":reply")) // the custom verb is the last ':'
	default:
		notFound(w, "Method not found.")
	}
}
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	oauthErr := func(code, desc string) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
	}
	if err := r.ParseForm(); err != nil {
		oauthErr("invalid_request", err.Error())
		return
	}
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		oauthErr("unsupported_grant_type", "Invalid grant_type: "+r.PostForm.Get("grant_type"))
		return
	}
	s.mu.Lock()
	now, tokenURL := s.now, s.tokenURL
	s.mu.Unlock()
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(r.PostForm.Get("assertion"), claims, func(t *jwt.Token) (any, error) {
		return &s.key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(now), jwt.WithIssuer(ClientEmail), jwt.WithExpirationRequired())
	if err != nil {
		oauthErr("invalid_grant", "Invalid JWT Signature.")
		return
	}
	if aud, _ := claims.GetAudience(); len(aud) != 1 || (tokenURL != "" && aud[0] != tokenURL) || !strings.HasSuffix(aud[0], "/token") {
		oauthErr("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your aud claim.")
		return
	}
	sc, _ := claims["scope"].(string)
	if !strings.Contains(sc, scope) && !strings.Contains(sc, StorageScope) {
		oauthErr("invalid_scope", "The service account may not use scope "+sc)
		return
	}
	exp, _ := claims.GetExpirationTime()
	iat, _ := claims.GetIssuedAt()
	if iat == nil || exp.Sub(iat.Time) > time.Hour {
		oauthErr("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes).")
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "ya29.fake-" + base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.tokenCalls++
	ttl := s.tokenTTL
	s.tokens[tok] = s.now().Add(ttl)
	s.scopes[tok] = sc
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(ttl.Seconds())})
}

func ts(t time.Time) map[string]any {
	return map[string]any{"seconds": strconv.FormatInt(t.Unix(), 10), "nanos": t.Nanosecond()}
}

// reviewJSON is the review as Google serves it. Fields the review lacks are
// left out, as in Google's examples ("the first review shows metadata that
// appears in all results": text, lastModified, starRating).
func reviewJSON(rv *review, translate string) map[string]any {
	text := rv.text
	user := map[string]any{"text": text, "lastModified": ts(rv.modified), "starRating": rv.rating}
	for k, v := range map[string]string{"reviewerLanguage": rv.lang, "device": rv.device, "appVersionName": rv.versionName} {
		if v != "" {
			user[k] = v
		}
	}
	for k, v := range map[string]int64{"androidOsVersion": rv.osVersion, "appVersionCode": rv.versionCode, "thumbsUpCount": rv.up, "thumbsDownCount": rv.down} {
		if v != 0 {
			user[k] = v
		}
	}
	if rv.device != "" {
		user["deviceMetadata"] = map[string]any{"productName": rv.device, "manufacturer": "Fake", "ramMb": 4096}
	}
	if translate != "" && !strings.HasPrefix(rv.lang, translate) {
		user["originalText"] = text
		user["text"] = "[" + translate + "] " + text
	}
	comments := []any{map[string]any{"userComment": user}}
	if rv.reply != "" {
		comments = append(comments, map[string]any{"developerComment": map[string]any{"text": rv.reply, "lastModified": ts(rv.replied)}})
	}
	return map[string]any{"reviewId": rv.id, "authorName": rv.author, "comments": comments}
}

// pageToken is the keyset position after the last review of a page.
type pageToken struct {
	modified time.Time
	id       string
}

func (t pageToken) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.modified.UnixNano(), 10) + ":" + t.id))
}

func parsePageToken(s string) (pageToken, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return pageToken{}, false
	}
	ns, id, ok := strings.Cut(string(raw), ":")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || id == "" {
		return pageToken{}, false
	}
	return pageToken{time.Unix(0, n).UTC(), id}, true
}

// DefaultPageSize and MaxPageSize of reviews.list (maxResults).
const (
	DefaultPageSize = 10
	MaxPageSize     = 100
)

// Window is how far back reviews.list reaches.
const Window = 7 * 24 * time.Hour

// access answers for a package the caller may not read; it reports whether
// the call may go on. The caller holds s.mu.
func (s *Server) access(w http.ResponseWriter, pkg string) (*app, bool) {
	a := s.apps[pkg]
	switch {
	case a == nil:
		notFound(w, "Package not found: "+pkg+".")
		return nil, false
	case a.denied: // Google's answer quoted in github.com/Triple-T/gradle-play-publisher issue 805
		googleError(w, http.StatusForbidden, "PERMISSION_DENIED", "forbidden", "global",
			"The caller does not have permission")
		return nil, false
	}
	return a, true
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, pkg string) {
	q := r.URL.Query()
	size := DefaultPageSize
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			badRequest(w, "invalid", "Invalid value for maxResults: "+v)
			return
		}
		size = min(n, MaxPageSize)
	}
	var after *pageToken
	if v := q.Get("token"); v != "" {
		t, ok := parsePageToken(v)
		if !ok {
			badRequest(w, "invalid", "Invalid pagination token.")
			return
		}
		after = &t
	}
	translate := q.Get("translationLanguage")
	s.mu.Lock()
	a, ok := s.access(w, pkg)
	if !ok {
		s.mu.Unlock()
		return
	}
	// The window ends at the first review modified before now-7d.
	since := &review{modified: s.now().Add(-Window)}
	end, _ := slices.BinarySearchFunc(a.order, since, func(rv, target *review) int {
		if rv.modified.Before(target.modified) {
			return 1
		}
		return -1
	})
	begin := 0
	if after != nil {
		// Resume after the last review sent; if it was edited since, it moved
		// to the front and the position is where it was.
		var found bool
		begin, found = slices.BinarySearchFunc(a.order, &review{modified: after.modified, id: after.id}, newer)
		if found {
			begin++
		}
	}
	if s.shortPage > 0 {
		size = min(size, s.shortPage)
	}
	var items []any
	var last *review
	i := begin
	for ; i < end && len(items) < size; i++ {
		if a.order[i].text == "" { // only reviews with text are listed
			continue
		}
		last = a.order[i]
		items = append(items, reviewJSON(last, translate))
	}
	more := false
	for j := i; j < end && !more; j++ {
		more = a.order[j].text != ""
	}
	s.mu.Unlock()
	// No pageInfo: Google's examples have none and integrators report it
	// missing; tokenPagination only while more reviews follow.
	out := map[string]any{}
	if items != nil {
		out["reviews"] = items
	}
	if more {
		out["tokenPagination"] = map[string]any{"nextPageToken": pageToken{last.modified, last.id}.String()}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) find(w http.ResponseWriter, pkg, id string) (*review, bool) {
	a, ok := s.access(w, pkg)
	if !ok {
		return nil, false
	}
	rv, ok := a.reviews[id]
	if !ok || rv.text == "" { // a rating without text is not in the API
		notFound(w, "Review not found: "+id+".")
		return nil, false
	}
	return rv, true
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, pkg, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rv, ok := s.find(w, pkg, id); ok {
		writeJSON(w, http.StatusOK, reviewJSON(rv, r.URL.Query().Get("translationLanguage")))
	}
}

// htmlTag is a well-formed HTML tag: "well-formed HTML tags are removed and
// are not included in the character count … The content that you place
// inside well-formed HTML tags is preserved" (reply-to-reviews).
var htmlTag = regexp.MustCompile(`</?[a-zA-Z][a-zA-Z0-9-]*(\s[^<>]*)?/?>`)

// ReplyMaxLength is the longest replyText the fake accepts.
const ReplyMaxLength = 350

func (s *Server) reply(w http.ResponseWriter, r *http.Request, pkg, id string) {
	var body struct {
		ReplyText string `json:"replyText"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		badRequest(w, "parseError", "Invalid JSON payload received. "+err.Error())
		return
	}
	text := strings.TrimSpace(htmlTag.ReplaceAllString(body.ReplyText, "")) // "HTML tags will be stripped"
	if text == "" {
		badRequest(w, "required", "Reply text is required.")
		return
	}
	if n := utf8.RuneCountInString(text); n > ReplyMaxLength {
		badRequest(w, "invalid", fmt.Sprintf("Reply text is too long (%d characters; maximum %d).", n, ReplyMaxLength))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rv, ok := s.find(w, pkg, id)
	if !ok {
		return
	}
	if rv.refuseReply {
		googleError(w, http.StatusForbidden, "PERMISSION_DENIED", "forbidden", "global", "The caller does not have permission")
		return
	}
	if s.now().Sub(rv.modified) > Window && !s.acceptOld {
		// Reported (second-hand) for replies to reviews older than a week;
		// the body is the one quoted for a failed reply in
		// github.com/googleapis/google-api-java-client issue 1134.
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": map[string]any{"code": 500, "message": nil}})
		return
	}
	s.replies[pkg+"/"+id]++
	rv.reply, rv.replied = text, s.now()
	s.changes++
	writeJSON(w, http.StatusOK, map[string]any{"result": map[string]any{"replyText": rv.reply, "lastEdited": ts(rv.replied)}})
}
