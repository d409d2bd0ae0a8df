// Package fake is a fake of Google's OAuth token endpoint and the Android
// Publisher API's reviews methods, written from Google's reference (see
// ../README.md): the service-account JWT-bearer grant is verified (RS256
// signature with the key, iss, aud, scope, exp), API calls need the issued
// Bearer token, reviews.list pages with tokenPagination and lists only the
// last seven days, reviews.get and reviews:reply behave as documented, and
// errors use Google's error body (code, message, status, errors[].reason).
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
	"sort"
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
	id, author, text, lang, device, versionName string
	rating, osVersion, versionCode, up, down    int64
	modified                                    time.Time
	reply                                       string
	replied                                     time.Time
}

// Server is the fake. Safe for concurrent use.
type Server struct {
	key *rsa.PrivateKey

	mu         sync.Mutex
	apps       map[string]map[string]*review
	tokens     map[string]time.Time
	tokenTTL   time.Duration
	tokenURL   string
	replies    map[string]int // pkg/review → reviews:reply calls
	quotaN     int
	tokenCalls int
	now        func() time.Time
	faults.Faults
}

// New returns a fake with a fresh RSA key for its service account.
func New() *Server {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return &Server{key: key, apps: map[string]map[string]*review{}, tokens: map[string]time.Time{}, replies: map[string]int{},
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

// AddApp makes a package known (with no reviews yet).
func (s *Server) AddApp(pkg string) {
	s.mu.Lock()
	if s.apps[pkg] == nil {
		s.apps[pkg] = map[string]*review{}
	}
	s.mu.Unlock()
}

// PutReview adds a review or edits it (a newer lastModified; the developer
// reply is kept).
func (s *Server) PutReview(pkg string, r sdk.Review) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apps[pkg] == nil {
		s.apps[pkg] = map[string]*review{}
	}
	mod := r.UpdatedAt
	if mod.IsZero() {
		mod = s.now()
	}
	old := s.apps[pkg][r.ID]
	rv := &review{id: r.ID, author: r.Author, text: r.Text, lang: r.Language, device: r.Device, versionName: r.AppVersion,
		rating: int64(r.Rating), up: int64(r.ThumbsUp), down: int64(r.ThumbsDown), modified: mod.UTC()}
	if v, err := strconv.ParseInt(strings.TrimPrefix(r.OSVersion, "API "), 10, 64); err == nil {
		rv.osVersion = v
	}
	if v, err := strconv.ParseInt(r.Extra["app_version_code"], 10, 64); err == nil {
		rv.versionCode = v
	}
	if old != nil {
		rv.reply, rv.replied = old.reply, old.replied
		if !rv.modified.After(old.modified) {
			rv.modified = old.modified.Add(time.Millisecond)
		}
	}
	if r.Reply != nil {
		rv.reply, rv.replied = r.Reply.Text, rv.modified
	}
	s.apps[pkg][r.ID] = rv
}

// ReplyText is the developer reply shown for a review.
func (s *Server) ReplyText(pkg, reviewID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rv, ok := s.apps[pkg][reviewID]; ok && rv.reply != "" {
		return rv.reply, true
	}
	return "", false
}

// ReplyCalls is how many reviews:reply calls a review received.
func (s *Server) ReplyCalls(pkg, reviewID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replies[pkg+"/"+reviewID]
}

// Quota makes the next n API calls answer 403 quotaExceeded (the daily quota).
func (s *Server) Quota(n int) {
	s.mu.Lock()
	s.quotaN = n
	s.mu.Unlock()
}

// TokenCalls is the number of access tokens requested.
func (s *Server) TokenCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenCalls
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

// ServeHTTP serves the token endpoint and the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		s.token(w, r)
		return
	}
	if f, ok := s.Next(); ok { // API calls only: the token endpoint is not counted
		if f.RateLimited {
			w.Header().Set("Retry-After", strconv.Itoa(int(f.RetryAfter.Seconds())))
			googleError(w, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", "rateLimitExceeded", "usageLimits", "Rate limit exceeded.")
			return
		}
		googleError(w, f.Status, "UNAVAILABLE", "backendError", "global", "The service is currently unavailable.")
		return
	}
	s.mu.Lock()
	switch {
	case s.quotaN > 0:
		s.quotaN--
		s.mu.Unlock()
		googleError(w, http.StatusForbidden, "PERMISSION_DENIED", "quotaExceeded", "usageLimits",
			"Quota exceeded for quota metric 'Reply to reviews GET requests' of service 'androidpublisher.googleapis.com'.")
		return
	}
	auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	exp, ok := s.tokens[auth]
	valid := ok && s.now().Before(exp)
	s.mu.Unlock()
	if !valid {
		googleError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "authError", "global",
			"Request had invalid authentication credentials. Expected OAuth 2 access token.")
		return
	}
	const prefix = "/androidpublisher/v3/applications/"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	parts := strings.Split(rest, "/")
	if !ok || len(parts) < 2 || parts[1] != "reviews" {
		googleError(w, http.StatusNotFound, "NOT_FOUND", "notFound", "global", "Method not found: "+r.URL.Path)
		return
	}
	pkg := parts[0]
	switch {
	case len(parts) == 2 && r.Method == http.MethodGet:
		s.list(w, r, pkg)
	case len(parts) == 3 && r.Method == http.MethodGet:
		s.get(w, r, pkg, parts[2])
	case len(parts) == 3 && r.Method == http.MethodPost && strings.HasSuffix(parts[2], ":reply"):
		s.reply(w, r, pkg, strings.TrimSuffix(parts[2], ":reply"))
	default:
		googleError(w, http.StatusNotFound, "NOT_FOUND", "notFound", "global", "Method not found: "+r.Method+" "+r.URL.Path)
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
	if sc, _ := claims["scope"].(string); !strings.Contains(sc, scope) {
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
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(ttl.Seconds())})
}

func ts(t time.Time) map[string]any {
	return map[string]any{"seconds": strconv.FormatInt(t.Unix(), 10), "nanos": t.Nanosecond()}
}

func (s *Server) reviewJSON(rv *review, translate string) map[string]any {
	text := rv.text
	user := map[string]any{"text": text, "lastModified": ts(rv.modified), "starRating": rv.rating, "reviewerLanguage": rv.lang,
		"device": rv.device, "androidOsVersion": rv.osVersion, "appVersionCode": rv.versionCode, "appVersionName": rv.versionName,
		"thumbsUpCount": rv.up, "thumbsDownCount": rv.down,
		"deviceMetadata": map[string]any{"productName": rv.device, "manufacturer": "Fake", "ramMb": 4096}}
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

func (s *Server) list(w http.ResponseWriter, r *http.Request, pkg string) {
	q := r.URL.Query()
	max := int64(0)
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			googleError(w, 400, "INVALID_ARGUMENT", "invalid", "global", "Invalid value for maxResults: "+v)
			return
		}
		max = n
	}
	if max == 0 || max > 100 {
		max = 100 // GUESS: the API's page size cap
	}
	offset := 0
	if tok := q.Get("token"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
		if err != nil || err2 != nil || n < 0 {
			googleError(w, 400, "INVALID_ARGUMENT", "invalid", "global", "Invalid pagination token.")
			return
		}
		offset = n
	}
	s.mu.Lock()
	revs, ok := s.apps[pkg]
	if !ok {
		s.mu.Unlock()
		googleError(w, http.StatusNotFound, "NOT_FOUND", "notFound", "global", "Package not found: "+pkg+".")
		return
	}
	since := s.now().Add(-7 * 24 * time.Hour)
	var recent []*review
	for _, rv := range revs {
		if rv.modified.After(since) {
			recent = append(recent, rv)
		}
	}
	sort.Slice(recent, func(i, j int) bool {
		if !recent[i].modified.Equal(recent[j].modified) {
			return recent[i].modified.After(recent[j].modified)
		}
		return recent[i].id < recent[j].id
	})
	out := map[string]any{}
	var items []any
	for i := offset; i < len(recent) && i < offset+int(max); i++ {
		items = append(items, s.reviewJSON(recent[i], q.Get("translationLanguage")))
	}
	s.mu.Unlock()
	if items != nil {
		out["reviews"] = items
	}
	out["pageInfo"] = map[string]any{"totalResults": len(recent), "resultPerPage": max, "startIndex": offset}
	if next := offset + int(max); next < len(recent) {
		out["tokenPagination"] = map[string]any{"nextPageToken": base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(next)))}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) find(w http.ResponseWriter, pkg, id string) (*review, bool) {
	revs, ok := s.apps[pkg]
	if !ok {
		googleError(w, http.StatusNotFound, "NOT_FOUND", "notFound", "global", "Package not found: "+pkg+".")
		return nil, false
	}
	rv, ok := revs[id]
	if !ok {
		googleError(w, http.StatusNotFound, "NOT_FOUND", "notFound", "global", "Review not found: "+id+".")
		return nil, false
	}
	return rv, true
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, pkg, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rv, ok := s.find(w, pkg, id); ok {
		writeJSON(w, http.StatusOK, s.reviewJSON(rv, r.URL.Query().Get("translationLanguage")))
	}
}

func (s *Server) reply(w http.ResponseWriter, r *http.Request, pkg, id string) {
	var body struct {
		ReplyText string `json:"replyText"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		googleError(w, 400, "INVALID_ARGUMENT", "parseError", "global", "Invalid JSON payload received. "+err.Error())
		return
	}
	if strings.TrimSpace(body.ReplyText) == "" {
		googleError(w, 400, "INVALID_ARGUMENT", "required", "global", "Reply text is required.")
		return
	}
	if n := utf8.RuneCountInString(body.ReplyText); n > 350 {
		googleError(w, 400, "INVALID_ARGUMENT", "invalid", "global", fmt.Sprintf("Reply text is too long (%d characters; maximum 350).", n))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rv, ok := s.find(w, pkg, id)
	if !ok {
		return
	}
	s.replies[pkg+"/"+id]++
	rv.reply, rv.replied = body.ReplyText, s.now()
	writeJSON(w, http.StatusOK, map[string]any{"result": map[string]any{"replyText": rv.reply, "lastEdited": ts(rv.replied)}})
}
