// Package fake is a fake of the RuStore Public API's token endpoint and
// review ("comment") and answer ("feedback") methods, written from RuStore's
// documentation (see ../README.md, which marks what is guessed): the token
// request's RSA SHA-512 signature is verified against the test public key
// within a timestamp window, tokens expire, comments and answers are paged
// with page/size, answers are created, edited and deleted, and errors use
// RuStore's {"code", "message", "timestamp"} envelope, 429 with Retry-After.
package fake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest/faults"
)

const tsLayout = "2006-01-02T15:04:05.000Z07:00"

type comment struct {
	id                   int64
	pkg, user, text, ver string
	lang, status         string
	rating, like, unlike int
	created, updated     time.Time
}

type answer struct {
	id, comment int64
	text        string
	status      string
	date        time.Time
}

// Server is the fake. Safe for concurrent use.
type Server struct {
	key   *rsa.PrivateKey
	keyID string

	mu      sync.Mutex
	apps    map[string]map[int64]*comment
	answers map[string]map[int64]*answer // pkg → answer id → answer
	ids     map[string]int64             // review id as given → comment id
	tokens  map[string]time.Time
	ttl     time.Duration
	nextID  int64
	auths   int
	posts   int
	window  time.Duration
	now     func() time.Time
	faults.Faults
}

// New returns a fake with a fresh RSA key and key id.
func New() *Server {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return &Server{key: k, keyID: "4242", apps: map[string]map[int64]*comment{}, answers: map[string]map[int64]*answer{},
		ids: map[string]int64{}, tokens: map[string]time.Time{}, ttl: 900 * time.Second, nextID: 2177559000,
		window: 5 * time.Minute, now: func() time.Time { return time.Now() }}
}

// PrivateKeyBase64 is the private key as RuStore Console shows it (base64 PKCS#8 DER).
func (s *Server) PrivateKeyBase64() string {
	der, _ := x509.MarshalPKCS8PrivateKey(s.key)
	return base64.StdEncoding.EncodeToString(der)
}

// Settings are working plugin settings against the fake at baseURL.
func (s *Server) Settings(baseURL string) sdk.Settings {
	return sdk.Settings{"key_id": s.keyID, "private_key": s.PrivateKeyBase64(), "base_url": baseURL}
}

// SetTokenTTL sets the lifetime of issued tokens.
func (s *Server) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	s.ttl = d
	s.mu.Unlock()
}

// ExpireTokens invalidates every token issued so far (RuStore refuses them with 401).
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	for t := range s.tokens {
		s.tokens[t] = time.Time{}
	}
	s.mu.Unlock()
}

// SetNow replaces the clock.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// AddApp makes a package known with no reviews.
func (s *Server) AddApp(pkg string) {
	s.mu.Lock()
	if s.apps[pkg] == nil {
		s.apps[pkg] = map[int64]*comment{}
		s.answers[pkg] = map[int64]*answer{}
	}
	s.mu.Unlock()
}

// CommentID is the numeric id the fake gave the review put as id.
func (s *Server) CommentID(reviewID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.ids[reviewID]; ok {
		return strconv.FormatInt(id, 10)
	}
	return reviewID
}

// PutReview adds a review or edits it (a newer updatedAt). RuStore comment
// ids are numbers: a numeric r.ID is used as is, any other id gets a number
// (see CommentID).
func (s *Server) PutReview(pkg string, r sdk.Review) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apps[pkg] == nil {
		s.apps[pkg] = map[int64]*comment{}
		s.answers[pkg] = map[int64]*answer{}
	}
	id, err := strconv.ParseInt(r.ID, 10, 64)
	if err != nil {
		if known, ok := s.ids[r.ID]; ok {
			id = known
		} else {
			s.nextID++
			id = s.nextID
			s.ids[r.ID] = id
		}
	}
	at := r.UpdatedAt
	if at.IsZero() {
		at = s.now()
	}
	at = at.UTC().Truncate(time.Millisecond)
	c := &comment{id: id, pkg: pkg, user: r.Author, text: r.Text, ver: r.AppVersion, lang: r.Language, status: "PUBLISHED",
		rating: r.Rating, like: r.ThumbsUp, unlike: r.ThumbsDown, created: at, updated: at}
	if old := s.apps[pkg][id]; old != nil {
		c.created = old.created
		if !c.updated.After(old.updated) {
			c.updated = old.updated.Add(time.Millisecond)
		}
	}
	s.apps[pkg][id] = c
}

// ReplyText is the developer answer shown for a review (by the id it was put with).
func (s *Server) ReplyText(pkg, reviewID string) (string, bool) {
	cid, _ := strconv.ParseInt(s.CommentID(reviewID), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *answer
	for _, a := range s.answers[pkg] {
		if a.comment == cid && a.status != "DELETED" && (best == nil || a.id > best.id) {
			best = a
		}
	}
	if best == nil {
		return "", false
	}
	return best.text, true
}

// AnswerPosts is how many answers were created (edits excluded).
func (s *Server) AnswerPosts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.posts
}

// TokenRequests is the number of token requests.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auths
}

func (s *Server) envelope(w http.ResponseWriter, status int, code, msg string, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var m *string
	if msg != "" {
		m = &msg
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": m, "timestamp": s.now().Format(time.RFC3339Nano), "body": body})
}

func (s *Server) fail(w http.ResponseWriter, status int, msg string) {
	s.envelope(w, status, "ERROR", msg, nil)
}

// ServeHTTP serves /public/auth/ and /public/v1/application/….
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.TrimSuffix(r.URL.Path, "/") == "/public/auth" && r.Method == http.MethodPost {
		s.auth(w, r)
		return
	}
	if f, ok := s.Next(); ok { // token requests are not counted
		if f.RateLimited {
			w.Header().Set("Retry-After", strconv.Itoa(int(f.RetryAfter.Seconds())))
			s.fail(w, http.StatusTooManyRequests, "Too many requests")
			return
		}
		s.fail(w, f.Status, "Internal server error")
		return
	}
	s.mu.Lock()
	exp, ok := s.tokens[r.Header.Get("Public-Token")]
	valid := ok && s.now().Before(exp)
	s.mu.Unlock()
	if !valid {
		s.fail(w, http.StatusUnauthorized, "Token is invalid or expired")
		return
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/public/v1/application/"), "/"), "/")
	if !strings.HasPrefix(r.URL.Path, "/public/v1/application/") || len(parts) < 2 {
		s.fail(w, http.StatusNotFound, "Not found")
		return
	}
	pkg := parts[0]
	s.mu.Lock()
	_, known := s.apps[pkg]
	s.mu.Unlock()
	if !known {
		s.fail(w, http.StatusNotFound, "Application "+pkg+" not found")
		return
	}
	switch {
	case r.Method == http.MethodGet && len(parts) == 2 && parts[1] == "comment":
		s.listComments(w, r, pkg)
	case r.Method == http.MethodGet && len(parts) == 2 && parts[1] == "feedback":
		s.listAnswers(w, r, pkg)
	case r.Method == http.MethodPost && len(parts) == 4 && parts[1] == "comment" && parts[3] == "feedback":
		s.postAnswer(w, r, pkg, parts[2])
	case r.Method == http.MethodPut && len(parts) == 3 && parts[1] == "feedback":
		s.editAnswer(w, r, pkg, parts[2])
	case r.Method == http.MethodDelete && len(parts) == 3 && parts[1] == "feedback":
		s.deleteAnswer(w, pkg, parts[2])
	default:
		s.fail(w, http.StatusNotFound, "Not found")
	}
}

func (s *Server) auth(w http.ResponseWriter, r *http.Request) {
	var body struct{ KeyID, Timestamp, Signature string }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		s.fail(w, http.StatusBadRequest, "Request body is not valid JSON")
		return
	}
	s.mu.Lock()
	s.auths++
	now, window, ttl := s.now(), s.window, s.ttl
	s.mu.Unlock()
	if body.KeyID != s.keyID {
		s.fail(w, http.StatusUnauthorized, "Key "+body.KeyID+" not found")
		return
	}
	ts, err := time.Parse(tsLayout, body.Timestamp)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "timestamp must be ISO 8601 with milliseconds and offset")
		return
	}
	if d := now.Sub(ts); d > window || d < -window {
		s.fail(w, http.StatusUnauthorized, "Timestamp is outside the allowed window")
		return
	}
	sig, err := base64.StdEncoding.DecodeString(body.Signature)
	sum := sha512.Sum512([]byte(body.KeyID + body.Timestamp))
	if err != nil || rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA512, sum[:], sig) != nil {
		s.fail(w, http.StatusUnauthorized, "Signature is invalid")
		return
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := "eyJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAtMjU2In0." + base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = now.Add(ttl)
	s.mu.Unlock()
	s.envelope(w, http.StatusOK, "OK", "", map[string]any{"jwe": tok, "ttl": int(ttl.Seconds())})
}

func paging(r *http.Request) (page, size int, err error) {
	page, size = 0, 20
	if v := r.URL.Query().Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 0 {
			return 0, 0, fmt.Errorf("page must be a number from 0")
		}
	}
	if v := r.URL.Query().Get("size"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > 100 {
			return 0, 0, fmt.Errorf("size must be 1..100")
		}
	}
	return page, size, nil
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request, pkg string) {
	page, size, err := paging(r)
	if err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	all := make([]*comment, 0, len(s.apps[pkg]))
	for _, c := range s.apps[pkg] {
		all = append(all, c)
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].created.Equal(all[j].created) {
			return all[i].created.After(all[j].created)
		}
		return all[i].id > all[j].id
	})
	out := []map[string]any{}
	for i := page * size; i < len(all) && i < (page+1)*size; i++ {
		c := all[i]
		out = append(out, map[string]any{"packageName": pkg, "appId": 1000, "commentId": c.id, "userName": c.user, "appRating": c.rating,
			"commentStatus": c.status, "commentDate": c.created.Format(tsLayout), "updatedAt": c.updated.Format(tsLayout),
			"commentText": c.text, "likeCounter": c.like, "dislikeCounter": c.unlike, "appVersionName": c.ver, "language": c.lang,
			"edited": c.updated.After(c.created)})
	}
	s.mu.Unlock()
	s.envelope(w, http.StatusOK, "OK", "", out)
}

func answerJSON(a *answer) map[string]any {
	return map[string]any{"id": a.id, "commentId": a.comment, "text": a.text, "status": a.status,
		"date": a.date.In(time.FixedZone("MSK", 3*3600)).Format("2006-01-02 15:04:05.000")}
}

func (s *Server) listAnswers(w http.ResponseWriter, r *http.Request, pkg string) {
	page, size, err := paging(r)
	if err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	all := make([]*answer, 0, len(s.answers[pkg]))
	for _, a := range s.answers[pkg] {
		all = append(all, a)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].id > all[j].id })
	out := []map[string]any{}
	for i := page * size; i < len(all) && i < (page+1)*size; i++ {
		out = append(out, answerJSON(all[i]))
	}
	s.mu.Unlock()
	s.envelope(w, http.StatusOK, "OK", "", out)
}

func readMessage(r *http.Request) (string, error) {
	var body struct {
		Message *string `json:"message"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Message == nil || strings.TrimSpace(*body.Message) == "" {
		return "", fmt.Errorf("message is required")
	}
	if n := utf8.RuneCountInString(*body.Message); n > 5000 {
		return "", fmt.Errorf("message is longer than 5000 characters (%d)", n)
	}
	return *body.Message, nil
}

func (s *Server) postAnswer(w http.ResponseWriter, r *http.Request, pkg, commentID string) {
	text, err := readMessage(r)
	if err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	cid, _ := strconv.ParseInt(commentID, 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.apps[pkg][cid]; !ok {
		s.fail(w, http.StatusNotFound, "Comment "+commentID+" not found")
		return
	}
	for _, a := range s.answers[pkg] {
		if a.comment == cid && a.status != "DELETED" {
			s.fail(w, http.StatusBadRequest, "The comment already has an answer; edit it instead")
			return
		}
	}
	s.nextID++
	s.posts++
	a := &answer{id: s.nextID, comment: cid, text: text, status: "PUBLISHED", date: s.now()}
	s.answers[pkg][a.id] = a
	s.envelope(w, http.StatusOK, "OK", "", answerJSON(a))
}

func (s *Server) editAnswer(w http.ResponseWriter, r *http.Request, pkg, id string) {
	text, err := readMessage(r)
	if err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	aid, _ := strconv.ParseInt(id, 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.answers[pkg][aid]
	if !ok || a.status == "DELETED" {
		s.fail(w, http.StatusNotFound, "Feedback "+id+" not found")
		return
	}
	a.text, a.date = text, s.now()
	s.envelope(w, http.StatusOK, "OK", "", answerJSON(a))
}

func (s *Server) deleteAnswer(w http.ResponseWriter, pkg, id string) {
	aid, _ := strconv.ParseInt(id, 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.answers[pkg][aid]
	if !ok || a.status == "DELETED" {
		s.fail(w, http.StatusNotFound, "Feedback "+id+" not found")
		return
	}
	a.status = "DELETED"
	s.envelope(w, http.StatusOK, "OK", "", nil)
}
