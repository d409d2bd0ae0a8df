// Package fake is a fake of the App Store Connect API's customer-review
// endpoints and of the public customer-reviews feed, written from Apple's
// documentation and OpenAPI specification (see ../README.md): ES256 bearer
// tokens are verified (signature with the test key, kid, iss, aud, exp at
// most 20 minutes after iat), reviews are paged with links.next, responses
// are created, replaced and deleted, errors use Apple's errors[] body, and
// every API answer carries X-Rate-Limit.
//
// Each app keeps its reviews in an index sorted newest first, rebuilt only
// after a change, and pages carry a keyset cursor, so a listing of 10,000
// reviews costs O(n) per page at worst and reviews added while a client
// pages do not shift the pages it has not read yet.
package fake

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/reviewhub/reviewhub/plugins/appstore/asc"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest/faults"
)

// HourlyLimit is the fake's X-Rate-Limit user-hour-lim.
const HourlyLimit = 3600

// ResponseMaxLength is the longest responseBody the fake accepts.
const ResponseMaxLength = asc.ReplyMaxLength

// FeedPageSize is how many entries a page of the public feed holds.
const FeedPageSize = 50

type review struct {
	id, app, nickname, title, body, territory, version string
	rating                                             int
	created                                            time.Time
	responseID, response, responseState                string
	responded                                          time.Time
}

// newer orders reviews newest first (ties by id, descending).
func newer(a, b *review) int {
	if c := b.created.Compare(a.created); c != 0 {
		return c
	}
	return strings.Compare(b.id, a.id)
}

type app struct {
	reviews map[string]*review
	order   []*review // newest first; nil when stale
}

func (a *app) sorted() []*review {
	if a.order == nil {
		a.order = make([]*review, 0, len(a.reviews))
		for _, rv := range a.reviews {
			a.order = append(a.order, rv)
		}
		slices.SortFunc(a.order, newer)
	}
	return a.order
}

// Server is the fake. Safe for concurrent use.
type Server struct {
	faults.Faults

	key    *ecdsa.PrivateKey
	issuer string
	keyID  string
	// individual: the key is an individual key (tokens carry sub "user"
	// and no iss), not a team key of issuer.
	individual bool

	mu        sync.Mutex
	apps      map[string]*app
	byID      map[string]*review
	responses map[string]*review // response id → its review
	tokens    map[string]bool    // tokens seen → expired
	nextID    int
	used      int
	readOnly  bool
	noDates   bool
	now       func() time.Time
	respPost  map[string]int
	versions  map[string]appVersion // appStoreVersions id → app and version string
}

type appVersion struct{ app, version string }

// New returns a fake with its own P-256 key, issuer id and key id.
func New() *Server {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("fake: generate the test key: %v", err)) // only if the system's randomness fails
	}
	id := make([]byte, 6)
	_, _ = rand.Read(id)
	return &Server{key: k, issuer: fmt.Sprintf("69a6de7e-%x-47e3-e053-5b8c7c11a4d1", id[:2]), keyID: fmt.Sprintf("FAKE%X", id[2:]),
		apps: map[string]*app{}, byID: map[string]*review{}, responses: map[string]*review{}, tokens: map[string]bool{},
		respPost: map[string]int{}, versions: map[string]appVersion{}, now: func() time.Time { return time.Now().UTC() }}
}

// PrivateKeyPEM is the .p8 content of the fake's key.
func (s *Server) PrivateKeyPEM() string {
	der, _ := x509.MarshalPKCS8PrivateKey(s.key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// IssuerID and KeyID name the fake's key.
func (s *Server) IssuerID() string { return s.issuer }

// KeyID is the fake key's id (the JWT header's kid).
func (s *Server) KeyID() string { return s.keyID }

// Settings are working plugin settings with an API key, pointed at baseURL
// (which also serves the feed).
func (s *Server) Settings(baseURL string) sdk.Settings {
	return sdk.Settings{"issuer_id": s.issuer, "key_id": s.keyID, "private_key": s.PrivateKeyPEM(),
		"base_url": baseURL, "feed_base_url": baseURL}
}

// SetIndividual makes the fake's key an individual key (true) or a team
// key of IssuerID (false, the default). Apple's "Generating Tokens for API
// Requests": an individual key's token has sub "user" and no iss; the fake
// refuses a token of the other form (GUESS: Apple does not say how it
// answers one; the fake answers 401 NOT_AUTHORIZED as for any bad token).
func (s *Server) SetIndividual(on bool) {
	s.mu.Lock()
	s.individual = on
	s.mu.Unlock()
}

// IndividualSettings are working settings for the fake's key as an
// individual key (no issuer_id); see SetIndividual.
func (s *Server) IndividualSettings(baseURL string) sdk.Settings {
	st := s.Settings(baseURL)
	delete(st, "issuer_id")
	return st
}

// PublicSettings are settings without a key: the plugin reads the feed.
func (s *Server) PublicSettings(baseURL string) sdk.Settings {
	return sdk.Settings{"feed_base_url": baseURL, "countries": "us,gb,jp,ru,de"}
}

// SetNow replaces the clock used to check tokens and date reviews.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// ReadOnly makes the key a read-only one (a role that may not answer
// reviews): creating or deleting responses then gets Apple's 403.
func (s *Server) ReadOnly(on bool) {
	s.mu.Lock()
	s.readOnly = on
	s.mu.Unlock()
}

// FeedWithoutEntryDates makes the public feed serve entries without their
// own "updated", as it did for years (app-store-scraper#13, 2016, until
// #164, 2021; a captured 2020 page in testdata/vendor): only the feed has a
// date then.
func (s *Server) FeedWithoutEntryDates(on bool) {
	s.mu.Lock()
	s.noDates = on
	s.mu.Unlock()
}

// AddVersion makes an App Store version known: GET
// /v1/appStoreVersions/{versionID}/customerReviews lists the app's reviews
// whose version (sdk.Review.AppVersion) is versionString.
func (s *Server) AddVersion(appID, versionID, versionString string) {
	s.mu.Lock()
	s.appLocked(appID)
	s.versions[versionID] = appVersion{appID, versionString}
	s.mu.Unlock()
}

// PutResponse gives a review a published developer response with this id
// (for replaying Apple's documented examples, which name their ids).
func (s *Server) PutResponse(appID, reviewID, responseID, text string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appID]
	if a == nil || a.reviews[reviewID] == nil {
		return false
	}
	rv := a.reviews[reviewID]
	if rv.responseID != "" {
		delete(s.responses, rv.responseID)
	}
	rv.responseID, rv.response, rv.responseState, rv.responded = responseID, text, "PUBLISHED", s.now()
	s.responses[responseID] = rv
	return true
}

// ExpireTokens makes every token seen so far expired (as Apple does after
// 20 minutes); a freshly signed token is accepted.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	for t := range s.tokens {
		s.tokens[t] = true
	}
	s.mu.Unlock()
}

// TokensSeen is the number of distinct tokens accepted so far.
func (s *Server) TokensSeen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}

func (s *Server) appLocked(appID string) *app {
	a := s.apps[appID]
	if a == nil {
		a = &app{reviews: map[string]*review{}}
		s.apps[appID] = a
	}
	return a
}

// AddApp makes an app known (with no reviews yet).
func (s *Server) AddApp(appID string) {
	s.mu.Lock()
	s.appLocked(appID)
	s.mu.Unlock()
}

// PutReview adds a review, or edits it: an edited review keeps its id and
// its response and gets a new createdDate (Apple shows only a customer's
// latest review; see the README). Country is ISO alpha-2 (default US);
// UpdatedAt, when set, is the review's date (default: now).
func (s *Server) PutReview(appID string, r sdk.Review) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.appLocked(appID)
	created := r.UpdatedAt
	if created.IsZero() {
		created = r.CreatedAt
	}
	if created.IsZero() {
		created = s.now()
	}
	territory := asc.Alpha3(r.Country)
	if territory == "" {
		territory = "USA"
	}
	rv := &review{id: r.ID, app: appID, nickname: r.Author, title: r.Title, body: r.Text, territory: territory,
		version: r.AppVersion, rating: r.Rating, created: created.UTC().Truncate(time.Second)}
	if old := a.reviews[r.ID]; old != nil {
		rv.responseID, rv.response, rv.responseState, rv.responded = old.responseID, old.response, old.responseState, old.responded
		if !rv.created.After(old.created) {
			rv.created = old.created.Add(time.Second)
		}
		if rv.responseID != "" {
			s.responses[rv.responseID] = rv
		}
	}
	a.reviews[r.ID] = rv
	a.order = nil
	s.byID[r.ID] = rv
}

// ReplyText is the developer response shown for a review.
func (s *Server) ReplyText(appID, reviewID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.apps[appID]; a != nil {
		if rv := a.reviews[reviewID]; rv != nil && rv.responseID != "" {
			return rv.response, true
		}
	}
	return "", false
}

// ResponsePosts is how many responses were posted for a review.
func (s *Server) ResponsePosts(reviewID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.respPost[reviewID]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// appleError answers in Apple's ErrorResponse form.
func appleError(w http.ResponseWriter, status int, code, title, detail string) {
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	writeJSON(w, status, map[string]any{"errors": []map[string]string{{
		"id": fmt.Sprintf("%x", id), "status": strconv.Itoa(status), "code": code, "title": title, "detail": detail}}})
}

// faultError answers an injected fault with the body Apple gives for that status.
func faultError(w http.ResponseWriter, status int) {
	switch status {
	case http.StatusUnauthorized:
		appleError(w, status, "NOT_AUTHORIZED", "Authentication credentials are missing or invalid.",
			"Provide a properly configured and signed bearer token, and make sure that it has not expired.")
	case http.StatusForbidden:
		appleError(w, status, "FORBIDDEN_ERROR", "This request is forbidden for security reasons", "The API key in use does not allow this request")
	case http.StatusNotFound:
		appleError(w, status, "NOT_FOUND", "The specified resource does not exist", "The path provided does not match a defined resource type.")
	case http.StatusConflict:
		appleError(w, status, "ENTITY_ERROR", "The request entity is not valid", "The request cannot be fulfilled because of the state of another resource.")
	default:
		appleError(w, status, "UNEXPECTED_ERROR", "An unexpected error occurred.", "The server encountered an unexpected error.")
	}
}

// ServeHTTP serves the API under /v1 and the feed under /{country}/rss.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, faulty := s.Next() // feed calls count too
	if !strings.HasPrefix(r.URL.Path, "/v1/") {
		if faulty && f.RateLimited {
			http.Error(w, "Forbidden", http.StatusForbidden) // the feed throttles with a bare 403
			return
		}
		if faulty {
			http.Error(w, http.StatusText(f.Status), f.Status)
			return
		}
		s.feed(w, r)
		return
	}
	s.mu.Lock()
	s.used++
	w.Header().Set("X-Rate-Limit", fmt.Sprintf("user-hour-lim:%d;user-hour-rem:%d;", HourlyLimit, max(0, HourlyLimit-s.used)))
	s.mu.Unlock()
	if faulty && f.RateLimited {
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(f.RetryAfter.Seconds())))
		}
		w.Header().Set("X-Rate-Limit", fmt.Sprintf("user-hour-lim:%d;user-hour-rem:0;", HourlyLimit))
		appleError(w, http.StatusTooManyRequests, "RATE_LIMIT_EXCEEDED", "The request rate limit has been reached.",
			"We've received too many requests for this API. Please wait and try again or slow down your request rate.")
		return
	}
	if faulty {
		faultError(w, f.Status)
		return
	}
	if why := s.authorize(r); why != "" {
		appleError(w, http.StatusUnauthorized, "NOT_AUTHORIZED", "Authentication credentials are missing or invalid.",
			"Provide a properly configured and signed bearer token, and make sure that it has not expired. ("+why+")")
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/"), "/")
	switch {
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "apps" && parts[2] == "customerReviews":
		if checkParams(w, r, listParams, listUnsupported) {
			s.list(w, r, parts[1], nil)
		}
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "appStoreVersions" && parts[2] == "customerReviews":
		if checkParams(w, r, listParams, listUnsupported) {
			s.mu.Lock()
			v, ok := s.versions[parts[1]]
			s.mu.Unlock()
			if !ok {
				appleError(w, http.StatusNotFound, "NOT_FOUND", "The specified resource does not exist", "There is no resource of type 'appStoreVersions' with id '"+parts[1]+"'")
				return
			}
			s.list(w, r, v.app, &v.version)
		}
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "customerReviews":
		if checkParams(w, r, []string{"include"}, fieldsParams) {
			s.get(w, r, parts[1])
		}
	case r.Method == http.MethodPost && len(parts) == 1 && parts[0] == "customerReviewResponses":
		if checkParams(w, r, nil, nil) {
			s.respond(w, r)
		}
	case r.Method == http.MethodDelete && len(parts) == 2 && parts[0] == "customerReviewResponses":
		if checkParams(w, r, nil, nil) {
			s.deleteResponse(w, parts[1])
		}
	default:
		appleError(w, http.StatusNotFound, "NOT_FOUND", "The specified resource does not exist", "The path provided does not match a defined resource type.")
	}
}

// authorize checks the bearer token as Apple documents; "" when valid,
// else why not (Apple's own detail does not say; the fake adds it for tests).
func (s *Server) authorize(r *http.Request) string {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "no bearer token"
	}
	s.mu.Lock()
	now, individual := s.now, s.individual
	expired, seen := s.tokens[raw]
	s.mu.Unlock()
	if expired {
		return "token expired"
	}
	claims := jwt.RegisteredClaims{}
	tok, err := jwt.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		if t.Header["kid"] != s.keyID {
			return nil, fmt.Errorf("unknown kid %v", t.Header["kid"])
		}
		return &s.key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithAudience(asc.Audience),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(now))
	switch {
	case err != nil || !tok.Valid:
		return fmt.Sprintf("invalid token: %v", err)
	case individual && claims.Issuer != "":
		return "an individual key's token has an iss claim"
	case individual && claims.Subject != asc.IndividualSubject:
		return fmt.Sprintf("an individual key's token has sub %q, want %q", claims.Subject, asc.IndividualSubject)
	case !individual && claims.Issuer != s.issuer:
		return fmt.Sprintf("the team key's token has iss %q, want the issuer id", claims.Issuer)
	case claims.IssuedAt == nil:
		return "no iat"
	case claims.ExpiresAt.Sub(claims.IssuedAt.Time) > 20*time.Minute:
		return "exp is more than 20 minutes after iat"
	}
	if !seen {
		s.mu.Lock()
		s.tokens[raw] = false
		s.mu.Unlock()
	}
	return ""
}

// resource is a customerReviews resource; inc its response when asked
// for and present.
func resource(base string, rv *review, withResponse bool) (res, inc map[string]any) {
	self := base + "/v1/customerReviews/" + rv.id
	rel := map[string]any{"links": map[string]any{"self": self + "/relationships/response", "related": self + "/response"}}
	if withResponse {
		rel["data"] = nil
		if rv.responseID != "" {
			rel["data"] = map[string]any{"type": "customerReviewResponses", "id": rv.responseID}
			inc = responseJSON(base, rv)
		}
	}
	res = map[string]any{"type": "customerReviews", "id": rv.id,
		"attributes": map[string]any{"rating": rv.rating, "title": rv.title, "body": rv.body, "reviewerNickname": rv.nickname,
			"createdDate": rv.created.Format("2006-01-02T15:04:05-07:00"), "territory": rv.territory},
		"relationships": map[string]any{"response": rel},
		"links":         map[string]any{"self": self}}
	return res, inc
}

func responseJSON(base string, rv *review) map[string]any {
	return map[string]any{"type": "customerReviewResponses", "id": rv.responseID,
		"attributes": map[string]any{"responseBody": rv.response, "lastModifiedDate": rv.responded.Format(time.RFC3339), "state": rv.responseState},
		"links":      map[string]any{"self": base + "/v1/customerReviewResponses/" + rv.responseID}}
}

// The query parameters of each endpoint: those the fake implements, and
// those Apple documents (OpenAPI spec 4.4.1) that the fake does not: it
// refuses them rather than ignore them, so a client cannot come to rely on
// a filter the fake would silently skip. Anything else is Apple's 400
// PARAMETER_ERROR.ILLEGAL ("the parameter is not valid in this API").
var (
	fieldsParams    = []string{"fields[customerReviews]", "fields[customerReviewResponses]", "fields[territories]"}
	listParams      = []string{"limit", "sort", "include", "filter[territory]", "cursor"}
	listUnsupported = append([]string{"filter[rating]", "filter[reviewTerritory]", "exists[publishedResponse]"}, fieldsParams...)
)

// checkParams answers 400 and returns false when the query holds a
// parameter the endpoint does not take, one the fake does not implement, or
// one given twice.
func checkParams(w http.ResponseWriter, r *http.Request, supported, unsupported []string) bool {
	q := r.URL.Query()
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		switch {
		case slices.Contains(unsupported, k):
			appleError(w, http.StatusBadRequest, "PARAMETER_ERROR.ILLEGAL", "A parameter is not allowed for this request",
				fmt.Sprintf("The parameter '%s' is documented by Apple but not implemented by this fake; it refuses it rather than ignore it", k))
			return false
		case !slices.Contains(supported, k):
			appleError(w, http.StatusBadRequest, "PARAMETER_ERROR.ILLEGAL", "A parameter is not allowed for this request",
				fmt.Sprintf("The parameter '%s' can not be used with this request", k))
			return false
		case len(q[k]) > 1:
			paramError(w, k, strings.Join(q[k], "&"), "; give it once")
			return false
		}
	}
	return true
}

func paramError(w http.ResponseWriter, param, value, why string) {
	appleError(w, http.StatusBadRequest, "PARAMETER_ERROR.INVALID", "A parameter has an invalid value",
		fmt.Sprintf("'%s' is not a valid value for '%s'%s", value, param, why))
}

// pageCursor is the fake's opaque cursor: where the next page starts.
type pageCursor struct {
	T  int64  `json:"t,omitempty"` // keyset (createdDate sorts): the last review's date…
	ID string `json:"i,omitempty"` // …and id
	O  int    `json:"o,omitempty"` // offset (rating sorts)
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// DefaultLimit is the page size when a listing gives no limit. Apple's
// specification states only the maximum (200), no default; 50 is the
// fake's choice (GUESS), and the plugin always sends its limit.
const DefaultLimit = 50

// list serves an app's reviews, or (version non-nil) those of one version.
func (s *Server) list(w http.ResponseWriter, r *http.Request, appID string, version *string) {
	q := r.URL.Query()
	lq, ok := parseListQuery(w, q)
	if !ok {
		return
	}
	keep := func(rv *review) bool {
		return (lq.territories == nil || lq.territories[rv.territory]) && (version == nil || rv.version == *version)
	}
	base := baseURL(r)
	s.mu.Lock()
	a, ok := s.apps[appID]
	if !ok {
		s.mu.Unlock()
		appleError(w, http.StatusNotFound, "NOT_FOUND", "The specified resource does not exist", "There is no resource of type 'apps' with id '"+appID+"'")
		return
	}
	all, start := a.ordered(lq.sort, lq.cursor)
	total := len(all)
	if lq.territories != nil || version != nil {
		total = countKept(all, keep)
	}
	p := pageOf(base, all, start, lq, keep)
	s.mu.Unlock()

	links := map[string]any{"self": base + r.URL.Path + "?" + r.URL.RawQuery}
	if p.more && p.last != nil {
		links["next"] = base + r.URL.Path + "?" + nextQuery(q, lq, p).Encode()
	}
	out := map[string]any{"data": p.data, "links": links, "meta": map[string]any{"paging": map[string]any{"total": total, "limit": lq.limit}}}
	if lq.withResponse {
		out["included"] = p.included
	}
	writeJSON(w, http.StatusOK, out)
}

// listQuery is a listing's query, checked.
type listQuery struct {
	limit        int
	sort         string // "", "-createdDate", "createdDate", "-rating" or "rating"
	withResponse bool
	territories  map[string]bool // upper case; nil: every territory
	cursor       pageCursor
}

// keyset reports whether the listing pages by keyset (the createdDate-
// descending sorts) rather than by offset.
func (lq listQuery) keyset() bool { return lq.sort == "" || lq.sort == "-createdDate" }

// parseListQuery reads a listing's query. On a bad value it answers 400
// and returns false.
func parseListQuery(w http.ResponseWriter, q url.Values) (listQuery, bool) {
	lq := listQuery{limit: DefaultLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			paramError(w, "limit", v, "; it must be between 1 and 200")
			return lq, false
		}
		lq.limit = n
	}
	lq.sort = q.Get("sort")
	switch lq.sort {
	case "", "-createdDate", "createdDate", "-rating", "rating":
	default:
		paramError(w, "sort", lq.sort, "")
		return lq, false
	}
	var ok bool
	if lq.withResponse, ok = includeResponse(w, q); !ok {
		return lq, false
	}
	if v := q.Get("filter[territory]"); v != "" {
		lq.territories = map[string]bool{}
		for _, t := range strings.Split(v, ",") {
			if asc.Alpha2(t) == "" || len(t) != 3 {
				paramError(w, "filter[territory]", t, "")
				return lq, false
			}
			lq.territories[strings.ToUpper(t)] = true
		}
	}
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || json.Unmarshal(b, &lq.cursor) != nil || lq.cursor.O < 0 {
			paramError(w, "cursor", c, "")
			return lq, false
		}
	}
	return lq, true
}

// ordered is the app's reviews in the order of sortKey, and where the page
// after cur starts in it.
func (a *app) ordered(sortKey string, cur pageCursor) (all []*review, start int) {
	switch sortKey {
	case "", "-createdDate":
		all = a.sorted()
		if cur.ID != "" { // keyset: just after the last review of the previous page
			last := &review{created: time.Unix(0, cur.T), id: cur.ID}
			start, _ = slices.BinarySearchFunc(all, last, newer)
			if start < len(all) && all[start].id == cur.ID {
				start++
			}
		}
	case "createdDate":
		all = slices.Clone(a.sorted())
		slices.Reverse(all)
		start = cur.O
	default:
		all = slices.Clone(a.sorted())
		desc := sortKey == "-rating"
		slices.SortStableFunc(all, func(x, y *review) int {
			if desc {
				return y.rating - x.rating
			}
			return x.rating - y.rating
		})
		start = cur.O
	}
	return all, start
}

func countKept(all []*review, keep func(*review) bool) int {
	n := 0
	for _, rv := range all {
		if keep(rv) {
			n++
		}
	}
	return n
}

// listPage is one page of a listing.
type listPage struct {
	data, included []any
	last           *review // the page's last review
	end            int     // where the page ended in the listing's order
	more           bool    // a kept review follows the page
}

// pageOf takes up to lq.limit kept reviews of all from start.
func pageOf(base string, all []*review, start int, lq listQuery, keep func(*review) bool) listPage {
	p := listPage{data: []any{}, included: []any{}}
	i := start
	for ; i < len(all) && len(p.data) < lq.limit; i++ {
		if !keep(all[i]) {
			continue
		}
		res, inc := resource(base, all[i], lq.withResponse)
		p.data = append(p.data, res)
		if inc != nil {
			p.included = append(p.included, inc)
		}
		p.last = all[i]
	}
	p.end = i
	p.more = i < len(all) && slices.ContainsFunc(all[i:], keep)
	return p
}

// nextQuery is the query of the page after p: q with its cursor.
func nextQuery(q url.Values, lq listQuery, p listPage) url.Values {
	next := pageCursor{O: p.end}
	if lq.keyset() {
		next = pageCursor{T: p.last.created.UnixNano(), ID: p.last.id}
	}
	b, _ := json.Marshal(next)
	nq := url.Values{}
	for k, v := range q {
		nq[k] = v
	}
	nq.Set("cursor", base64.RawURLEncoding.EncodeToString(b))
	return nq
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, id string) {
	withResponse, ok := includeResponse(w, r.URL.Query())
	if !ok {
		return
	}
	base := baseURL(r)
	s.mu.Lock()
	rv, ok := s.byID[id]
	var res, inc map[string]any
	if ok {
		res, inc = resource(base, rv, withResponse)
	}
	s.mu.Unlock()
	if !ok {
		appleError(w, http.StatusNotFound, "NOT_FOUND", "The specified resource does not exist", "There is no resource of type 'customerReviews' with id '"+id+"'")
		return
	}
	out := map[string]any{"data": res, "links": map[string]any{"self": base + "/v1/customerReviews/" + id}}
	if withResponse {
		out["included"] = []any{}
		if inc != nil {
			out["included"] = []any{inc}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) forbidden(w http.ResponseWriter) bool {
	s.mu.Lock()
	ro := s.readOnly
	s.mu.Unlock()
	if ro {
		appleError(w, http.StatusForbidden, "FORBIDDEN_ERROR", "This request is forbidden for security reasons", "The API key in use does not allow this request")
	}
	return ro
}

// respond is POST /v1/customerReviewResponses: Apple's "create or update a
// response to a customer review" (a review has at most one response; a
// new one replaces it).
func (s *Server) respond(w http.ResponseWriter, r *http.Request) {
	if s.forbidden(w) {
		return
	}
	// Apple's entity errors: not JSON → 400 ENTITY_INVALID; JSON of the
	// wrong form (misspelled or unknown keys, wrong types, no data,
	// attributes or relationships) → 422 ENTITY_UNPROCESSABLE; the right
	// form with unacceptable data → 409 ENTITY_ERROR.*.
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil || !json.Valid(raw) {
		appleError(w, http.StatusBadRequest, "ENTITY_INVALID", "The request entity is invalid", "The request entity is the wrong type and is not valid JSON")
		return
	}
	type linkage struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	var body struct {
		Data *struct {
			Type       string `json:"type"`
			Attributes *struct {
				ResponseBody *string `json:"responseBody"`
			} `json:"attributes"`
			Relationships *struct {
				Review *struct {
					Data *linkage `json:"data"`
				} `json:"review"`
			} `json:"relationships"`
		} `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err = dec.Decode(&body)
	switch {
	case err != nil:
		appleError(w, http.StatusUnprocessableEntity, "ENTITY_UNPROCESSABLE", "The request entity is not processable", "The request entity is JSON but not of the expected form: "+err.Error())
		return
	case body.Data == nil || body.Data.Attributes == nil || body.Data.Relationships == nil:
		appleError(w, http.StatusUnprocessableEntity, "ENTITY_UNPROCESSABLE", "The request entity is not processable", "The request entity needs 'data' with 'type', 'attributes' and 'relationships'")
		return
	}
	d := body.Data
	switch {
	case d.Type != "customerReviewResponses":
		appleError(w, http.StatusConflict, "ENTITY_ERROR.INCORRECT_TYPE", "The provided entity has an incorrect type", "expected 'customerReviewResponses', got '"+d.Type+"'")
		return
	case d.Attributes.ResponseBody == nil || strings.TrimSpace(*d.Attributes.ResponseBody) == "":
		appleError(w, http.StatusConflict, "ENTITY_ERROR.ATTRIBUTE.REQUIRED", "The provided entity is missing a required attribute", "You must provide a value for the attribute 'responseBody' with this request")
		return
	case d.Relationships.Review == nil || d.Relationships.Review.Data == nil || d.Relationships.Review.Data.Type != "customerReviews":
		appleError(w, http.StatusConflict, "ENTITY_ERROR.RELATIONSHIP.REQUIRED", "The provided entity is missing a required relationship", "You must provide a value for the relationship 'review' with this request")
		return
	case utf8.RuneCountInString(*d.Attributes.ResponseBody) > ResponseMaxLength:
		appleError(w, http.StatusConflict, "ENTITY_ERROR.ATTRIBUTE.INVALID", "An attribute value is invalid", "'responseBody' is too long")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rv, ok := s.byID[d.Relationships.Review.Data.ID]
	if !ok {
		appleError(w, http.StatusConflict, "ENTITY_ERROR.RELATIONSHIP.INVALID", "The provided entity includes a relationship with an invalid value",
			"'"+d.Relationships.Review.Data.ID+"' is not a valid id for this relationship")
		return
	}
	// "If a response already exists, this endpoint updates the response by
	// overwriting it": the response keeps its id.
	if rv.responseID == "" {
		s.nextID++
		rv.responseID = fmt.Sprintf("resp-%06d", s.nextID)
	}
	rv.response = *d.Attributes.ResponseBody
	rv.responseState = "PENDING_PUBLISH"
	rv.responded = s.now()
	s.responses[rv.responseID] = rv
	s.respPost[rv.id]++
	self := baseURL(r) + "/v1/customerReviewResponses/" + rv.responseID
	w.Header().Set("Location", self) // "the location header contains the created resource's URI"
	writeJSON(w, http.StatusCreated, map[string]any{"data": responseJSON(baseURL(r), rv), "links": map[string]any{"self": self}})
}

func (s *Server) deleteResponse(w http.ResponseWriter, id string) {
	if s.forbidden(w) {
		return
	}
	s.mu.Lock()
	rv, ok := s.responses[id]
	if ok {
		delete(s.responses, id)
		rv.responseID, rv.response, rv.responseState = "", "", ""
	}
	s.mu.Unlock()
	if !ok {
		appleError(w, http.StatusNotFound, "NOT_FOUND", "The specified resource does not exist", "There is no resource of type 'customerReviewResponses' with id '"+id+"'")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// feed serves /{cc}/rss/customerreviews/page={n}/id={id}/sortby=mostrecent/json:
// 50 entries a page, pages 1..10, newest first, one storefront's reviews.
func (s *Server) feed(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 7 || parts[1] != "rss" || parts[2] != "customerreviews" || parts[5] != "sortby=mostrecent" || parts[6] != "json" {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	cc := strings.ToLower(parts[0])
	page, err := strconv.Atoi(strings.TrimPrefix(parts[3], "page="))
	appID, okID := strings.CutPrefix(parts[4], "id=")
	territory := asc.Alpha3(cc)
	if err != nil || page < 1 || page > 10 || !okID || territory == "" || len(cc) != 2 {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	var entries []any
	s.mu.Lock()
	if a := s.apps[appID]; a != nil {
		skip := (page - 1) * FeedPageSize
		for _, rv := range a.sorted() {
			if rv.territory != territory {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			e := map[string]any{
				"author": map[string]any{"uri": map[string]string{"label": "https://itunes.apple.com/" + cc + "/reviews/id1"},
					"name": map[string]string{"label": rv.nickname}, "label": ""},
				"im:rating":  map[string]string{"label": strconv.Itoa(rv.rating)},
				"im:version": map[string]string{"label": rv.version},
				"id":         map[string]string{"label": rv.id},
				"title":      map[string]string{"label": rv.title},
				"content":    map[string]any{"label": rv.body, "attributes": map[string]string{"type": "text"}},
				"link": map[string]any{"attributes": map[string]string{"rel": "related",
					"href": "https://itunes.apple.com/" + cc + "/review?id=" + appID + "&type=Purple%20Software"}},
				"im:voteSum":     map[string]string{"label": "0"},
				"im:contentType": map[string]any{"attributes": map[string]string{"term": "Application", "label": "Application"}},
				"im:voteCount":   map[string]string{"label": "0"},
			}
			if !s.noDates {
				e["updated"] = map[string]string{"label": rv.created.Format("2006-01-02T15:04:05-07:00")}
			}
			entries = append(entries, e)
			if len(entries) == FeedPageSize {
				break
			}
		}
	}
	now := s.now()
	s.mu.Unlock()
	self := "https://itunes.apple.com/" + cc + "/rss/customerreviews/id=" + appID + "/sortBy=mostRecent/page=" + strconv.Itoa(page) + "/json"
	pageURL := func(n int) string {
		return fmt.Sprintf("https://itunes.apple.com/%s/rss/customerreviews/page=%d/id=%s/sortby=mostrecent/xml", cc, n, appID)
	}
	links := []any{
		map[string]any{"attributes": map[string]string{"rel": "alternate", "type": "text/html", "href": "https://music.apple.com/WebObjects/MZStore.woa/wa/viewGrouping?cc=" + cc + "&id=1000"}},
		map[string]any{"attributes": map[string]string{"rel": "self", "href": self}},
		map[string]any{"attributes": map[string]string{"rel": "first", "href": pageURL(1)}},
		map[string]any{"attributes": map[string]string{"rel": "last", "href": pageURL(10)}},
		map[string]any{"attributes": map[string]string{"rel": "previous", "href": pageURL(max(1, page-1))}},
		map[string]any{"attributes": map[string]string{"rel": "next", "href": pageURL(min(10, page+1))}},
	}
	feed := map[string]any{"author": map[string]any{"name": map[string]string{"label": "iTunes Store"}, "uri": map[string]string{"label": "http://www.apple.com/" + cc + "/itunes/"}},
		"updated": map[string]string{"label": now.Format("2006-01-02T15:04:05-07:00")},
		"rights":  map[string]string{"label": "Copyright 2008 Apple Inc."},
		"title":   map[string]string{"label": "iTunes Store: Customer Reviews"},
		"icon":    map[string]string{"label": "http://itunes.apple.com/favicon.ico"},
		"link":    links,
		"id":      map[string]string{"label": self}}
	switch len(entries) {
	case 0: // no "entry" at all
	case 1:
		feed["entry"] = entries[0] // a lone entry comes as an object
	default:
		feed["entry"] = entries
	}
	writeJSON(w, http.StatusOK, map[string]any{"feed": feed})
}

// includeResponse reads the include parameter: "response" is served,
// "reviewTerritory" (documented) and anything else are refused as Apple
// refuses unknown values; false when it answered the refusal.
func includeResponse(w http.ResponseWriter, q url.Values) (withResponse, ok bool) {
	v := q.Get("include")
	if v == "" {
		return false, true
	}
	for _, inc := range strings.Split(v, ",") {
		switch inc {
		case "response":
			withResponse = true
		case "reviewTerritory":
			paramError(w, "include", inc, "; Apple documents it, this fake does not implement it")
			return false, false
		default:
			paramError(w, "include", inc, "")
			return false, false
		}
	}
	return withResponse, true
}
