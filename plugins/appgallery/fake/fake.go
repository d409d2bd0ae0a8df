// Package fake is a fake of Huawei AppGallery Connect's token endpoint and
// Comments API, written from Huawei's reference pages and the documented
// examples in ../testdata/vendor (each with its source; ../README.md lists
// what is guessed, and every guess here is marked GUESS): the API client's
// token (POST /api/oauth2/v1/token, JSON, expires_in 172800), the
// client_id and Bearer headers, the HarmonyOS (v2) and Android (v1) list,
// detail and reply endpoints, the {"rtnCode", "rtnDesc"} envelope with
// Huawei's return codes, one developer reply per review (50010077), the
// 6-month window (50010034), countries required, limit ≤ 100, and faults
// (faults.Faults).
package fake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/reviewhub/reviewhub/plugins/appgallery/agc"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest/faults"
)

// The fake store's own limits, literal so the plugin's declared limits
// are checked against them (the conformance kit: a plugin may declare no
// more than the store takes), not against themselves.
const (
	// MaxPageSize is the largest limit a list call takes (a third party:
	// "最大 100"); more is refused with 50010016.
	MaxPageSize = 100
	// Window is the longest list window (Huawei: 6 months, rtnCode
	// 50010034). GUESS: 180 days.
	Window = 180 * 24 * time.Hour
	// ReplyMaxLength is the longest reply taken, in characters; more is
	// refused with 50010029. GUESS: Huawei documents no limit.
	ReplyMaxLength = 500
)

type review struct {
	id                     string
	rating                 int
	content, lang, country string
	version, phone         string
	dateline               int64 // ms
	reply                  string
	replyID                string
	replyTime              int64
	raw                    map[string]any // PutRawReview: served as is
	state                  *int           // SetReplyState: the listed devReplyState
}

// Server is the fake. Safe for concurrent use.
type Server struct {
	clientID, secret string

	mu      sync.Mutex
	apps    map[string]map[string]*review
	tokens  map[string]time.Time
	ttl     time.Duration
	auths   int
	writes  int
	replies int
	now     func() time.Time
	asc     bool
	// retForm: answer {"ret": {"rtnCode", "rtnDesc"}, "data"} with
	// hasNext as 0/1 (SetRetEnvelope).
	retForm atomic.Bool
	// detailFails: detail reads still to answer 503.
	detailFails int
	// hideReplies: detail reads still to show no developer reply (as for
	// a review in moderation; HideReplies).
	hideReplies int
	// requestIDs: the requestId headers of accepted replies.
	requestIDs map[string]bool
	// detailDelay: how long a detail read takes (SetDetailDelay);
	// detailsNow and detailsMax count detail reads in flight.
	detailDelay            time.Duration
	detailsNow, detailsMax int
	faults.Faults
}

// New returns a fake with a fresh API client (ID and key).
func New() *Server {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return &Server{clientID: "1088341234567890" + strconv.Itoa(int(b[0])%10), secret: strings.ToUpper(hex.EncodeToString(b)),
		apps: map[string]map[string]*review{}, tokens: map[string]time.Time{}, ttl: 172800 * time.Second, now: time.Now}
}

// Settings are working plugin settings against the fake at baseURL; the
// countries the fake's reviews come from must be named (the API requires
// them): CN and US.
func (s *Server) Settings(baseURL string) sdk.Settings {
	return sdk.Settings{"client_id": s.clientID, "client_secret": s.secret, "base_url": baseURL, "countries": "CN,US"}
}

// TokenBody is a token request body with the fake's API client.
func (s *Server) TokenBody() []byte {
	b, _ := json.Marshal(map[string]string{"grant_type": "client_credentials", "client_id": s.clientID, "client_secret": s.secret})
	return b
}

// ClientID is the fake's API client ID.
func (s *Server) ClientID() string { return s.clientID }

// Token is a valid token, as if obtained from the token endpoint.
func (s *Server) Token() string {
	tok := newToken()
	s.mu.Lock()
	s.tokens[tok] = s.now().Add(s.ttl)
	s.mu.Unlock()
	return tok
}

func newToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "eyJhbGciOiJIUzUxMiJ9." + hex.EncodeToString(b)
}

// SetTokenTTL sets the lifetime of issued tokens (Huawei: 172800 s).
func (s *Server) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	s.ttl = d
	s.mu.Unlock()
}

// ExpireTokens invalidates every token issued so far.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	for t := range s.tokens {
		s.tokens[t] = time.Time{}
	}
	s.mu.Unlock()
}

// SetOldestFirst makes sort 0 list the oldest review first (the plugin
// must not depend on the order Huawei leaves unsaid).
func (s *Server) SetOldestFirst(on bool) {
	s.mu.Lock()
	s.asc = on
	s.mu.Unlock()
}

// SetRetEnvelope makes the Comments API answer in the form a third-party
// client of v1 reports from the live API: {"ret": {"rtnCode", "rtnDesc"},
// "data"} with hasNext a number (1 or 0), instead of Huawei's examples'
// top-level rtnCode and boolean hasNext. GUESS: either form may occur.
func (s *Server) SetRetEnvelope(on bool) {
	s.retForm.Store(on)
}

// FailDetails makes the next n detail reads answer 503 (lists and replies
// are not affected).
func (s *Server) FailDetails(n int) {
	s.mu.Lock()
	s.detailFails = n
	s.mu.Unlock()
}

// HideReplies makes the next n detail reads show no developer reply (as
// if the reply were still in moderation).
func (s *Server) HideReplies(n int) {
	s.mu.Lock()
	s.hideReplies = n
	s.mu.Unlock()
}

// SetDetailDelay makes every detail read take d (so reads that overlap
// can be counted: MaxConcurrentDetails).
func (s *Server) SetDetailDelay(d time.Duration) {
	s.mu.Lock()
	s.detailDelay = d
	s.mu.Unlock()
}

// MaxConcurrentDetails is the most detail reads that were in flight at once.
func (s *Server) MaxConcurrentDetails() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.detailsMax
}

// SetNow replaces the clock.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// AddApp makes an app ID known with no reviews.
func (s *Server) AddApp(appID string) {
	s.mu.Lock()
	if s.apps[appID] == nil {
		s.apps[appID] = map[string]*review{}
	}
	s.mu.Unlock()
}

// PutReview adds a review or edits it. GUESS: an edited review is listed
// with the edit's time as its dateline (Huawei shows one time per review).
// The dateline is r.UpdatedAt, else r.CreatedAt, else now, in ms; an edit
// is always later than the version before. Country defaults to CN,
// language to zh.
func (s *Server) PutReview(appID string, r sdk.Review) {
	at := r.UpdatedAt
	if at.IsZero() {
		at = r.CreatedAt
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if at.IsZero() {
		at = s.now()
	}
	if s.apps[appID] == nil {
		s.apps[appID] = map[string]*review{}
	}
	country, lang := strings.ToUpper(r.Country), strings.ReplaceAll(r.Language, "-", "_")
	if country == "" {
		country = "CN"
	}
	if lang == "" {
		lang = "zh"
	}
	rv := &review{id: r.ID, rating: r.Rating, content: r.Text, lang: lang, country: country, version: r.AppVersion,
		phone: r.Device, dateline: at.UnixMilli()}
	if old := s.apps[appID][r.ID]; old != nil {
		rv.reply, rv.replyID, rv.replyTime, rv.state = old.reply, old.replyID, old.replyTime, old.state
		if rv.dateline <= old.dateline {
			rv.dateline = old.dateline + 1
		}
	}
	s.apps[appID][r.ID] = rv
}

// PutRawReview adds a listed item served exactly as given (reviews the
// plugin cannot read), dated now.
func (s *Server) PutRawReview(appID string, raw map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apps[appID] == nil {
		s.apps[appID] = map[string]*review{}
	}
	id := "raw-" + strconv.Itoa(len(s.apps[appID]))
	s.apps[appID][id] = &review{id: id, raw: raw, dateline: s.now().UnixMilli(), country: "CN"}
}

// PutReply seeds the developer's reply to a review.
func (s *Server) PutReply(appID, reviewID, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rv := s.apps[appID][reviewID]; rv != nil {
		rv.reply, rv.replyID, rv.replyTime = text, "r"+reviewID, s.now().UnixMilli()
	}
}

// SetReplyState makes a review listed with devReplyState state whatever
// its reply (1 when it has one, else 0, by default): 3 "the reply was
// answered", 6 "the user added a follow-up" (third party).
func (s *Server) SetReplyState(appID, reviewID string, state int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rv := s.apps[appID][reviewID]; rv != nil {
		rv.state = &state
	}
}

// ReplyText is the developer reply shown for a review.
func (s *Server) ReplyText(appID, reviewID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rv := s.apps[appID][reviewID]
	if rv == nil || rv.reply == "" {
		return "", false
	}
	return rv.reply, true
}

// ReplyPosts is how many replies were accepted.
func (s *Server) ReplyPosts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replies
}

// Writes is how many reply requests arrived (whatever the outcome).
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// TokenRequests is the number of token requests.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auths
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// rtn answers the Comments API's envelope (HTTP 200, as Huawei's examples;
// in the "ret" form after SetRetEnvelope).
func (s *Server) rtn(w http.ResponseWriter, code int, desc string, data any) {
	retForm := s.retForm.Load() // not s.mu: callers may hold it
	body := map[string]any{"rtnCode": code, "rtnDesc": desc}
	if retForm {
		body = map[string]any{"ret": map[string]any{"rtnCode": code, "rtnDesc": desc}}
		if m, ok := data.(map[string]any); ok {
			if hn, ok := m["hasNext"].(bool); ok {
				n := 0
				if hn {
					n = 1
				}
				m["hasNext"] = n
			}
		}
	}
	if data != nil {
		body["data"] = data
	}
	writeJSON(w, http.StatusOK, body)
}

// ServeHTTP serves the token endpoint and both platforms' Comments API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == agc.TokenPath {
		s.token(w, r)
		return
	}
	if f, ok := s.Next(); ok { // token requests are not counted
		if f.RateLimited {
			// GUESS: Huawei documents no rate limit; 429 with Retry-After in case.
			w.Header().Set("Retry-After", strconv.Itoa(int(f.RetryAfter.Seconds())))
			writeJSON(w, http.StatusTooManyRequests, map[string]any{"ret": map[string]any{"code": 429, "msg": "too many requests"}})
			return
		}
		writeJSON(w, f.Status, map[string]any{"ret": map[string]any{"code": f.Status, "msg": "internal error"}})
		return
	}
	s.mu.Lock()
	exp, ok := s.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	valid := ok && s.now().Before(exp) && r.Header.Get("client_id") == s.clientID
	s.mu.Unlock()
	if !valid {
		// GUESS: the gateway's form of a refused token (a third-party mock).
		writeJSON(w, http.StatusUnauthorized, map[string]any{"ret": map[string]any{"code": 205524993, "msg": "client token auth failed"}})
		return
	}
	var rest string
	switch {
	case strings.HasPrefix(r.URL.Path, agc.ReviewsPath(agc.PlatformHarmonyOS)):
		rest = strings.TrimPrefix(r.URL.Path, agc.ReviewsPath(agc.PlatformHarmonyOS))
	case strings.HasPrefix(r.URL.Path, agc.ReviewsPath(agc.PlatformAndroid)):
		rest = strings.TrimPrefix(r.URL.Path, agc.ReviewsPath(agc.PlatformAndroid))
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"ret": map[string]any{"code": 404, "msg": "not found"}})
		return
	}
	v2 := strings.HasPrefix(r.URL.Path, agc.ReviewsPath(agc.PlatformHarmonyOS))
	switch {
	case rest == "" && r.Method == http.MethodGet:
		s.list(w, r)
	case rest == "" && r.Method == http.MethodPost:
		s.reply(w, r, v2)
	case strings.HasPrefix(rest, "/") && len(rest) > 1 && r.Method == http.MethodGet:
		s.mu.Lock()
		s.detailsNow++
		s.detailsMax = max(s.detailsMax, s.detailsNow)
		delay := s.detailDelay
		s.mu.Unlock()
		time.Sleep(delay)
		s.detail(w, r.URL.Query().Get("appId"), rest[1:])
		s.mu.Lock()
		s.detailsNow--
		s.mu.Unlock()
	default:
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"ret": map[string]any{"code": 405, "msg": "method not allowed"}})
	}
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	var body struct {
		GrantType    string `json:"grant_type"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	s.mu.Lock()
	s.auths++
	ttl, now := s.ttl, s.now()
	s.mu.Unlock()
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&body) != nil || body.GrantType != "client_credentials" {
		// GUESS: the form of a malformed token request.
		writeJSON(w, http.StatusBadRequest, map[string]any{"ret": map[string]any{"code": 1, "msg": "grant_type, client_id and client_secret are required"}})
		return
	}
	if body.ClientID != s.clientID || body.ClientSecret != s.secret {
		// GUESS: the form of refused credentials.
		writeJSON(w, http.StatusUnauthorized, map[string]any{"ret": map[string]any{"code": 205524992, "msg": "client id or secret invalid"}})
		return
	}
	tok := newToken()
	s.mu.Lock()
	s.tokens[tok] = now.Add(ttl)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": int64(ttl.Seconds())})
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	appID := q.Get("appId")
	begin, err1 := strconv.ParseInt(q.Get("beginTime"), 10, 64)
	end, err2 := strconv.ParseInt(q.Get("endTime"), 10, 64)
	countries := map[string]bool{}
	for _, c := range strings.Split(q.Get("countries"), ",") {
		if c = strings.TrimSpace(c); c != "" {
			countries[strings.ToUpper(c)] = true
		}
	}
	page, limit := 1, 20
	var err3, err4 error
	if v := q.Get("page"); v != "" {
		page, err3 = strconv.Atoi(v)
	}
	if v := q.Get("limit"); v != "" {
		limit, err4 = strconv.Atoi(v)
	}
	switch {
	case appID == "" || err1 != nil || err2 != nil || len(countries) == 0 || err3 != nil || err4 != nil || page < 1 || limit < 1:
		s.rtn(w, agc.CodeBadParameter, "request parameter error", nil)
		return
	case limit > MaxPageSize:
		s.rtn(w, agc.CodePageTooLong, "page size too long", nil)
		return
	case begin > end:
		s.rtn(w, agc.CodeBeginAfterEnd, "begin time is later than end time", nil)
		return
	case time.Duration(end-begin)*time.Millisecond > Window:
		s.rtn(w, agc.CodeWindowTooLong, "the time window exceeds 6 months", nil)
		return
	}
	s.mu.Lock()
	app, ok := s.apps[appID]
	if !ok {
		s.mu.Unlock()
		s.rtn(w, agc.CodeNoApp, "app info does not exist", nil)
		return
	}
	var hits []*review
	for _, rv := range app {
		if rv.dateline >= begin && rv.dateline <= end && countries[rv.country] {
			hits = append(hits, rv)
		}
	}
	// GUESS: sort 0 ("by time") lists the newest first (SetOldestFirst: the other way).
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].dateline != hits[j].dateline {
			return (hits[i].dateline > hits[j].dateline) != s.asc
		}
		return hits[i].id > hits[j].id
	})
	items := []map[string]any{}
	for i := (page - 1) * limit; i < len(hits) && i < page*limit; i++ {
		items = append(items, listItem(hits[i]))
	}
	s.mu.Unlock()
	s.rtn(w, agc.CodeOK, "success", map[string]any{"reviewList": items, "hasNext": page*limit < len(hits), "total": len(hits)})
}

func listItem(rv *review) map[string]any {
	if rv.raw != nil {
		return rv.raw
	}
	state := 0
	if rv.reply != "" {
		state = 1
	}
	if rv.state != nil {
		state = *rv.state
	}
	return map[string]any{"reviewId": rv.id, "content": rv.content, "rating": rv.rating, "dateline": rv.dateline,
		"lang": rv.lang, "countryCode": rv.country, "versionName": rv.version, "phoneName": rv.phone, "devReplyState": state}
}

func (s *Server) detail(w http.ResponseWriter, appID, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.detailFails > 0 {
		s.detailFails--
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ret": map[string]any{"code": 503, "msg": "service unavailable"}})
		return
	}
	app, ok := s.apps[appID]
	if !ok {
		s.rtn(w, agc.CodeNoApp, "app info does not exist", nil)
		return
	}
	rv, ok := app[id]
	if !ok || rv.raw != nil {
		s.rtn(w, agc.CodeNoReview, "review does not exist", nil)
		return
	}
	item := listItem(rv)
	hide := s.hideReplies > 0
	if hide {
		s.hideReplies--
	}
	if rv.reply != "" && !hide { // GUESS: the detail's form of the developer's reply
		item["devReplyContent"], item["devReplyId"], item["devReplyTime"] = rv.reply, rv.replyID, rv.replyTime
	}
	s.rtn(w, agc.CodeOK, "success", item)
}

func (s *Server) reply(w http.ResponseWriter, r *http.Request, v2 bool) {
	s.mu.Lock()
	s.writes++
	s.mu.Unlock()
	var body struct {
		Lang, AppID, DevReplyContent, CountryCode, ToReplyID string
		ReviewID                                             json.RawMessage
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		s.rtn(w, agc.CodeBadParameter, "request parameter error", nil)
		return
	}
	var id string
	if json.Unmarshal(body.ReviewID, &id) != nil {
		id = string(body.ReviewID) // the reference types it Long
	}
	if body.AppID == "" || id == "" || body.CountryCode == "" || body.Lang == "" || strings.TrimSpace(body.DevReplyContent) == "" {
		s.rtn(w, agc.CodeBadParameter, "request parameter error", nil)
		return
	}
	if v2 && !map[string]bool{"zh": true, "en": true, "bo": true, "ug": true}[body.Lang] {
		s.rtn(w, agc.CodeBadParameter, "request parameter error: lang", nil)
		return
	}
	if utf8.RuneCountInString(body.DevReplyContent) > ReplyMaxLength {
		s.rtn(w, agc.CodeReplyIllegal, "reply content is illegal", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	app, ok := s.apps[body.AppID]
	if !ok {
		s.rtn(w, agc.CodeNoApp, "app info does not exist", nil)
		return
	}
	rv, ok := app[id]
	if !ok || rv.raw != nil {
		s.rtn(w, agc.CodeNoReview, "review does not exist", nil)
		return
	}
	if !strings.EqualFold(rv.country, body.CountryCode) {
		s.rtn(w, agc.CodeBadCountryCode, "country code is illegal", nil)
		return
	}
	// GUESS: a requestId seen on an accepted reply is refused as a
	// duplicate request (a third-party client sends one; 50010015 "请求重复").
	rid := r.Header.Get("requestId")
	if rid != "" && s.requestIDs[rid] {
		s.rtn(w, agc.CodeDuplicate, "duplicate request", nil)
		return
	}
	if body.ToReplyID == "" && rv.reply != "" {
		s.rtn(w, agc.CodeAlreadyReplied, "the review already has a developer reply", nil)
		return
	}
	if body.ToReplyID != "" { // replies to a user's reply are not kept
		s.rtn(w, agc.CodeOK, "success", nil)
		return
	}
	s.replies++
	if rid != "" {
		if s.requestIDs == nil {
			s.requestIDs = map[string]bool{}
		}
		s.requestIDs[rid] = true
	}
	rv.reply, rv.replyID, rv.replyTime = body.DevReplyContent, "r"+id, s.now().UnixMilli()
	s.rtn(w, agc.CodeOK, "success", nil)
}
