// Package fake is a fake of the App Store Connect API's customer-review
// endpoints and of the public customer-reviews feed, written from Apple's
// documentation and OpenAPI specification (see ../README.md): ES256 bearer
// tokens are verified (signature with the test key, kid, iss, aud, exp at
// most 20 minutes after iat), reviews are paged with links.next, responses
// are created, replaced and deleted, errors use Apple's errors[] body, and
// every answer carries X-Rate-Limit.
package fake

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/text/language"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest/faults"
)

// HourlyLimit is the fake's X-Rate-Limit user-hour-lim.
const HourlyLimit = 3600

type review struct {
	id, app, nickname, title, body, territory, version string
	rating                                             int
	created                                            time.Time
	responseID, response, responseState                string
	responded                                          time.Time
}

// Server is the fake. Safe for concurrent use.
type Server struct {
	key      *ecdsa.PrivateKey
	issuer   string
	keyID    string
	mu       sync.Mutex
	apps     map[string]map[string]*review
	byID     map[string]*review
	tokens   map[string]bool // seen tokens → expired
	nextID   int
	used     int
	now      func() time.Time
	respPost map[string]int
	faults.Faults
}

// New returns a fake with its own P-256 key, issuer id and key id.
func New() *Server {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	id := make([]byte, 6)
	_, _ = rand.Read(id)
	return &Server{key: k, issuer: fmt.Sprintf("69a6de7e-%x-47e3-e053-5b8c7c11a4d1", id[:2]), keyID: fmt.Sprintf("FAKE%X", id[2:]),
		apps: map[string]map[string]*review{}, byID: map[string]*review{}, tokens: map[string]bool{}, respPost: map[string]int{},
		now: func() time.Time { return time.Now().UTC() }}
}

// PrivateKeyPEM is the .p8 content of the fake's key.
func (s *Server) PrivateKeyPEM() string {
	der, _ := x509.MarshalPKCS8PrivateKey(s.key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// Settings are working plugin settings with an API key, pointed at baseURL
// (which also serves the feed).
func (s *Server) Settings(baseURL string) sdk.Settings {
	return sdk.Settings{"issuer_id": s.issuer, "key_id": s.keyID, "private_key": s.PrivateKeyPEM(),
		"base_url": baseURL, "feed_base_url": baseURL}
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

// ExpireTokens makes every token seen so far expired (as Apple does after
// 20 minutes); a freshly signed token is accepted.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	for t := range s.tokens {
		s.tokens[t] = true
	}
	s.mu.Unlock()
}

// TokensSeen is the number of distinct tokens used so far.
func (s *Server) TokensSeen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}

// AddApp makes an app known (with no reviews yet).
func (s *Server) AddApp(appID string) {
	s.mu.Lock()
	if s.apps[appID] == nil {
		s.apps[appID] = map[string]*review{}
	}
	s.mu.Unlock()
}

// PutReview adds a review, or edits it: an edited review keeps its id and
// its response and gets a new date.
func (s *Server) PutReview(appID string, r sdk.Review) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apps[appID] == nil {
		s.apps[appID] = map[string]*review{}
	}
	created := r.UpdatedAt
	if created.IsZero() {
		created = s.now()
	}
	territory := "USA"
	if reg, err := language.ParseRegion(r.Country); err == nil && r.Country != "" {
		territory = reg.ISO3()
	}
	rv := &review{id: r.ID, app: appID, nickname: r.Author, title: r.Title, body: r.Text, territory: territory,
		version: r.AppVersion, rating: r.Rating, created: created.UTC().Truncate(time.Second)}
	if old := s.apps[appID][r.ID]; old != nil {
		rv.responseID, rv.response, rv.responseState, rv.responded = old.responseID, old.response, old.responseState, old.responded
		if !rv.created.After(old.created) {
			rv.created = old.created.Add(time.Second)
		}
	}
	s.apps[appID][r.ID] = rv
	s.byID[r.ID] = rv
}

// ReplyText is the developer response shown for a review.
func (s *Server) ReplyText(appID, reviewID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rv, ok := s.apps[appID][reviewID]; ok && rv.response != "" {
		return rv.response, true
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

func appleError(w http.ResponseWriter, status int, code, title, detail string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]string{{
		"id": fmt.Sprintf("%x", time.Now().UnixNano()), "status": strconv.Itoa(status), "code": code, "title": title, "detail": detail}}})
}

// ServeHTTP serves the API under /v1 and the feed under /{country}/rss.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, faulty := s.Next() // feed calls count too
	if !strings.HasPrefix(r.URL.Path, "/v1/") {
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
		appleError(w, f.Status, "UNEXPECTED_ERROR", "An unexpected error occurred.", "The server encountered an unexpected error.")
		return
	}
	if !s.authorized(r) {
		appleError(w, http.StatusUnauthorized, "NOT_AUTHORIZED", "Authentication credentials are missing or invalid.",
			"Provide a properly configured and signed bearer token, and make sure that it has not expired.")
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/"), "/")
	switch {
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "apps" && parts[2] == "customerReviews":
		s.list(w, r, parts[1])
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "customerReviews":
		s.get(w, r, parts[1])
	case r.Method == http.MethodPost && len(parts) == 1 && parts[0] == "customerReviewResponses":
		s.respond(w, r)
	case r.Method == http.MethodDelete && len(parts) == 2 && parts[0] == "customerReviewResponses":
		s.deleteResponse(w, parts[1])
	default:
		appleError(w, http.StatusNotFound, "NOT_FOUND", "The specified resource does not exist", "The path provided does not match a defined resource type.")
	}
}

func (s *Server) authorized(r *http.Request) bool {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	s.mu.Lock()
	now := s.now
	expired, seen := s.tokens[raw]
	s.mu.Unlock()
	if expired {
		return false
	}
	claims := jwt.RegisteredClaims{}
	tok, err := jwt.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		if t.Header["kid"] != s.keyID {
			return nil, fmt.Errorf("unknown kid %v", t.Header["kid"])
		}
		return &s.key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithAudience("appstoreconnect-v1"), jwt.WithIssuer(s.issuer),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(now))
	if err != nil || !tok.Valid || claims.IssuedAt == nil || claims.ExpiresAt.Sub(claims.IssuedAt.Time) > 20*time.Minute {
		return false
	}
	if !seen {
		s.mu.Lock()
		s.tokens[raw] = false
		s.mu.Unlock()
	}
	return true
}

func (s *Server) resource(rv *review) (map[string]any, map[string]any) {
	res := map[string]any{"type": "customerReviews", "id": rv.id,
		"attributes": map[string]any{"rating": rv.rating, "title": rv.title, "body": rv.body, "reviewerNickname": rv.nickname,
			"createdDate": rv.created.Format("2006-01-02T15:04:05-07:00"), "territory": rv.territory},
		"links": map[string]any{"self": "/v1/customerReviews/" + rv.id}}
	var inc map[string]any
	if rv.responseID != "" {
		res["relationships"] = map[string]any{"response": map[string]any{"data": map[string]any{"type": "customerReviewResponses", "id": rv.responseID}}}
		inc = responseJSON(rv)
	} else {
		res["relationships"] = map[string]any{"response": map[string]any{"data": nil}}
	}
	return res, inc
}

func responseJSON(rv *review) map[string]any {
	return map[string]any{"type": "customerReviewResponses", "id": rv.responseID,
		"attributes": map[string]any{"responseBody": rv.response, "lastModifiedDate": rv.responded.Format(time.RFC3339), "state": rv.responseState}}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, appID string) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			appleError(w, http.StatusBadRequest, "PARAMETER_ERROR.INVALID", "A parameter has an invalid value", "'"+v+"' is not a valid value for 'limit'; it must be 1..200")
			return
		}
		limit = n
	}
	sortKey := q.Get("sort")
	switch sortKey {
	case "", "-createdDate", "createdDate", "-rating", "rating":
	default:
		appleError(w, http.StatusBadRequest, "PARAMETER_ERROR.INVALID", "A parameter has an invalid value", "'"+sortKey+"' is not a valid field name")
		return
	}
	var territories []string
	if v := q.Get("filter[territory]"); v != "" {
		territories = strings.Split(v, ",")
	}
	offset := 0
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 {
			appleError(w, http.StatusBadRequest, "PARAMETER_ERROR.INVALID", "A parameter has an invalid value", "'"+c+"' is not a valid cursor for this request")
			return
		}
		offset = n
	}
	s.mu.Lock()
	revs, ok := s.apps[appID]
	if !ok {
		s.mu.Unlock()
		appleError(w, http.StatusNotFound, "NOT_FOUND", "The specified resource does not exist", "There is no resource of type 'apps' with id '"+appID+"'")
		return
	}
	var all []*review
	for _, rv := range revs {
		if len(territories) == 0 || contains(territories, rv.territory) {
			all = append(all, rv)
		}
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		switch sortKey {
		case "createdDate":
			a, b = b, a
		case "rating":
			if a.rating != b.rating {
				return a.rating < b.rating
			}
		case "-rating":
			if a.rating != b.rating {
				return a.rating > b.rating
			}
		}
		if !a.created.Equal(b.created) {
			return a.created.After(b.created)
		}
		return a.id > b.id
	})
	data := []any{}
	included := []any{}
	for i := offset; i < len(all) && i < offset+limit; i++ {
		res, inc := s.resource(all[i])
		data = append(data, res)
		if inc != nil && q.Get("include") == "response" {
			included = append(included, inc)
		}
	}
	s.mu.Unlock()
	self := "http://" + r.Host + r.URL.Path + "?" + r.URL.RawQuery
	links := map[string]any{"self": self}
	if offset+limit < len(all) {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("cursor", base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset+limit))))
		links["next"] = "http://" + r.Host + r.URL.Path + "?" + nq.Encode()
	}
	out := map[string]any{"data": data, "links": links, "meta": map[string]any{"paging": map[string]any{"total": len(all), "limit": limit}}}
	if q.Get("include") == "response" {
		out["included"] = included
	}
	writeJSON(w, http.StatusOK, out)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(strings.TrimSpace(v), s) {
			return true
		}
	}
	return false
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rv, ok := s.byID[id]
	if !ok {
		appleError(w, http.StatusNotFound, "NOT_FOUND", "The specified resource does not exist", "There is no resource of type 'customerReviews' with id '"+id+"'")
		return
	}
	res, inc := s.resource(rv)
	out := map[string]any{"data": res, "links": map[string]any{"self": "/v1/customerReviews/" + id}}
	if inc != nil && r.URL.Query().Get("include") == "response" {
		out["included"] = []any{inc}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) respond(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Data struct {
			Type       string `json:"type"`
			Attributes struct {
				ResponseBody *string `json:"responseBody"`
			} `json:"attributes"`
			Relationships struct {
				Review struct {
					Data *struct{ Type, ID string } `json:"data"`
				} `json:"review"`
			} `json:"relationships"`
		} `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		appleError(w, http.StatusBadRequest, "PARAMETER_ERROR.INVALID", "The request entity is invalid", "The request body is not valid JSON: "+err.Error())
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
	case d.Relationships.Review.Data == nil || d.Relationships.Review.Data.Type != "customerReviews":
		appleError(w, http.StatusConflict, "ENTITY_ERROR.RELATIONSHIP.REQUIRED", "The provided entity is missing a required relationship", "You must provide a value for the relationship 'review' with this request")
		return
	case utf8.RuneCountInString(*d.Attributes.ResponseBody) > 5970:
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
	s.nextID++
	rv.responseID = fmt.Sprintf("resp-%06d", s.nextID)
	rv.response = *d.Attributes.ResponseBody
	rv.responseState = "PENDING_PUBLISH"
	rv.responded = s.now()
	s.respPost[rv.id]++
	writeJSON(w, http.StatusCreated, map[string]any{"data": responseJSON(rv), "links": map[string]any{"self": "/v1/customerReviewResponses/" + rv.responseID}})
}

func (s *Server) deleteResponse(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rv := range s.byID {
		if rv.responseID == id {
			rv.responseID, rv.response, rv.responseState = "", "", ""
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	appleError(w, http.StatusNotFound, "NOT_FOUND", "The specified resource does not exist", "There is no resource of type 'customerReviewResponses' with id '"+id+"'")
}

// feed serves /{cc}/rss/customerreviews/page={n}/id={id}/sortby=mostrecent/json.
func (s *Server) feed(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 7 || parts[1] != "rss" || parts[2] != "customerreviews" || parts[6] != "json" {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	cc := strings.ToUpper(parts[0])
	page, err1 := strconv.Atoi(strings.TrimPrefix(parts[3], "page="))
	appID := strings.TrimPrefix(parts[4], "id=")
	if err1 != nil || page < 1 || page > 10 {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	reg, err := language.ParseRegion(cc)
	if err != nil {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	var all []*review
	for _, rv := range s.apps[appID] {
		if rv.territory == reg.ISO3() {
			all = append(all, rv)
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].created.Equal(all[j].created) {
			return all[i].created.After(all[j].created)
		}
		return all[i].id > all[j].id
	})
	var entries []any
	for i := (page - 1) * 50; i < len(all) && i < page*50; i++ {
		rv := all[i]
		entries = append(entries, map[string]any{
			"author":       map[string]any{"uri": map[string]string{"label": "https://itunes.apple.com/" + strings.ToLower(cc) + "/reviews/id1"}, "name": map[string]string{"label": rv.nickname}, "label": ""},
			"updated":      map[string]string{"label": rv.created.Format("2006-01-02T15:04:05-07:00")},
			"im:rating":    map[string]string{"label": strconv.Itoa(rv.rating)},
			"im:version":   map[string]string{"label": rv.version},
			"id":           map[string]string{"label": rv.id},
			"title":        map[string]string{"label": rv.title},
			"content":      map[string]any{"label": rv.body, "attributes": map[string]string{"type": "text"}},
			"im:voteSum":   map[string]string{"label": "0"},
			"im:voteCount": map[string]string{"label": "0"},
		})
	}
	s.mu.Unlock()
	feed := map[string]any{"author": map[string]any{"name": map[string]string{"label": "iTunes Store"}},
		"updated": map[string]string{"label": time.Now().Format(time.RFC3339)}, "id": map[string]string{"label": r.URL.String()}}
	switch len(entries) {
	case 0:
	case 1:
		feed["entry"] = entries[0] // Apple sends a lone entry as an object
	default:
		feed["entry"] = entries
	}
	writeJSON(w, http.StatusOK, map[string]any{"feed": feed})
}
