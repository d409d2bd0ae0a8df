// Package fake is a fake of the RuStore Public API's token endpoint and
// review ("comment") and answer ("feedback") methods, written from RuStore's
// help pages and its OpenAPI specification (see ../README.md, which marks
// what is guessed, and ../testdata/vendor for the documented examples the
// tests replay against it): the token request's RSA SHA-512 signature is
// verified against the test public key, a timestamp more than 60 s off is
// refused with 400 "Range timestamp not valid", tokens expire, comments
// and answers are paged with page/size, answers are created (POST
// …/feedback?commentId=), read, edited (POST …/feedback/{id}; PUT is 405)
// and deleted, create and edit answer with the id only, answer ids are
// strings in listings (as the specification types them; numbers with
// SetNumericAnswerIDs, as the help pages show them), and errors use
// RuStore's {"code", "message", "timestamp", "body"} envelope, 429 with
// Retry-After (GUESS: RuStore documents no rate limit).
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
	status               string
	rating, like, unlike int
	created, updated     time.Time
	raw                  map[string]any // PutRawComment: served as is
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
	writes  int
	window  time.Duration
	numeric bool
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
		window: Window, now: func() time.Time { return time.Now() }}
}

// Window is how far a token request's timestamp may be from the fake's
// clock: RuStore's help pages say 60 seconds.
const Window = 60 * time.Second

// AnswerMaxLength is the fake's answer limit: GUESS, as the plugin's (RuStore documents none).
const AnswerMaxLength = 500

// SetNumericAnswerIDs makes the answer listing and GET …/feedback/{id} give
// ids as JSON numbers, as RuStore's help pages show them, instead of the
// strings of its OpenAPI specification.
func (s *Server) SetNumericAnswerIDs(on bool) {
	s.mu.Lock()
	s.numeric = on
	s.mu.Unlock()
}

// KeyID is the key id the fake accepts.
func (s *Server) KeyID() string { return s.keyID }

// SignedAuthBody is a token request body signed with the fake's key at
// time at, as RuStore's help pages describe it.
func (s *Server) SignedAuthBody(at time.Time) []byte {
	ts := at.Format(tsLayout)
	sum := sha512.Sum512([]byte(s.keyID + ts))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA512, sum[:])
	b, _ := json.Marshal(map[string]string{"keyId": s.keyID, "timestamp": ts, "signature": base64.StdEncoding.EncodeToString(sig)})
	return b
}

// Token is a valid token, as if obtained from /public/auth/.
func (s *Server) Token() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := "eyJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAtMjU2In0." + base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = s.now().Add(s.ttl)
	s.mu.Unlock()
	return tok
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
	c := &comment{id: id, pkg: pkg, user: r.Author, text: r.Text, ver: r.AppVersion, status: "PUBLISHED",
		rating: r.Rating, like: r.ThumbsUp, unlike: r.ThumbsDown, created: at, updated: at}
	if old := s.apps[pkg][id]; old != nil {
		c.created = old.created
		if !c.updated.After(old.updated) {
			c.updated = old.updated.Add(time.Millisecond)
		}
	}
	s.apps[pkg][id] = c
}

// PutRawComment adds a comment served exactly as given (to test comments
// the plugin cannot read); it is listed after the others.
func (s *Server) PutRawComment(pkg string, raw map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apps[pkg] == nil {
		s.apps[pkg] = map[int64]*comment{}
		s.answers[pkg] = map[int64]*answer{}
	}
	s.nextID++
	s.apps[pkg][s.nextID] = &comment{id: s.nextID, pkg: pkg, raw: raw}
}

// PutAnswer seeds an answer with a given id (as the vendor's examples
// show) to the review put as reviewID.
func (s *Server) PutAnswer(pkg, reviewID string, answerID int64, text, status string) {
	cid, _ := strconv.ParseInt(s.CommentID(reviewID), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.answers[pkg] == nil {
		s.answers[pkg] = map[int64]*answer{}
	}
	s.answers[pkg][answerID] = &answer{id: answerID, comment: cid, text: text, status: status, date: s.now()}
	if answerID > s.nextID {
		s.nextID = answerID
	}
}

// AnswerStatus is the status of a review's newest answer ("" if none).
func (s *Server) AnswerStatus(pkg, reviewID string) string {
	cid, _ := strconv.ParseInt(s.CommentID(reviewID), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *answer
	for _, a := range s.answers[pkg] {
		if a.comment == cid && (best == nil || a.id > best.id) {
			best = a
		}
	}
	if best == nil {
		return ""
	}
	return best.status
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

// Writes is how many requests asked to create, edit or delete an answer
// (whatever the outcome).
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

func (s *Server) envelope(w http.ResponseWriter, status int, code, msg string, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var m *string
	if msg != "" {
		m = &msg
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": m, "timestamp": s.now().Format(time.RFC3339Nano), "body": body})
}

// fail answers an error in RuStore's envelope; the help pages show the
// code as "error".
func (s *Server) fail(w http.ResponseWriter, status int, msg string) {
	s.envelope(w, status, "error", msg, nil)
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
	if r.Method != http.MethodGet {
		s.mu.Lock()
		s.writes++
		s.mu.Unlock()
	}
	switch {
	case r.Method == http.MethodGet && len(parts) == 2 && parts[1] == "comment":
		s.listComments(w, r, pkg)
	case r.Method == http.MethodGet && len(parts) == 2 && parts[1] == "feedback":
		s.listAnswers(w, r, pkg)
	case r.Method == http.MethodPost && len(parts) == 2 && parts[1] == "feedback":
		s.postAnswer(w, r, pkg, r.URL.Query().Get("commentId"))
	case len(parts) == 3 && parts[1] == "feedback":
		switch r.Method {
		case http.MethodGet:
			s.getAnswer(w, pkg, parts[2])
		case http.MethodPost:
			s.editAnswer(w, r, pkg, parts[2])
		case http.MethodDelete:
			s.deleteAnswer(w, pkg, parts[2])
		default: // the specification lists 405 (DefaultResponseDtoObject)
			w.Header().Set("Allow", "GET, POST, DELETE")
			s.envelope(w, http.StatusMethodNotAllowed, "error", "Request method '"+r.Method+"' is not supported", map[string]any{})
		}
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
		s.fail(w, http.StatusBadRequest, "Range timestamp not valid")
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
		if (all[i].raw == nil) != (all[j].raw == nil) {
			return all[i].raw == nil
		}
		if !all[i].created.Equal(all[j].created) {
			return all[i].created.After(all[j].created)
		}
		return all[i].id > all[j].id
	})
	out := []map[string]any{}
	for i := page * size; i < len(all) && i < (page+1)*size; i++ {
		c := all[i]
		if c.raw != nil {
			out = append(out, c.raw)
			continue
		}
		// UserCommentDto: commentDate/updatedAt in the console's form
		// (GUESS), the *Iso twins in ISO 8601 with offset.
		out = append(out, map[string]any{"packageName": pkg, "appId": 1000, "commentId": c.id, "userName": c.user, "appRating": c.rating,
			"commentStatus": c.status, "commentDate": mskPlain(c.created), "updatedAt": mskPlain(c.updated),
			"commentDateIso": c.created.In(msk).Format(tsLayout), "updatedAtIso": c.updated.In(msk).Format(tsLayout),
			"commentText": c.text, "likeCounter": c.like, "dislikeCounter": c.unlike, "appVersionName": c.ver,
			"edited": c.updated.After(c.created)})
	}
	s.mu.Unlock()
	s.envelope(w, http.StatusOK, "OK", "", out)
}

var msk = time.FixedZone("MSK", 3*3600)

func mskPlain(t time.Time) string { return t.In(msk).Format("2006-01-02 15:04:05.000") }

// answerJSON is FeedbackResponseDto: ids as strings (the specification) or
// numbers (the help pages), the date as the help pages show it.
func answerJSON(a *answer, numeric bool) map[string]any {
	var id, cid any = strconv.FormatInt(a.id, 10), strconv.FormatInt(a.comment, 10)
	if numeric {
		id, cid = a.id, a.comment
	}
	return map[string]any{"id": id, "commentId": cid, "text": a.text, "status": a.status, "date": mskPlain(a.date)}
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
		out = append(out, answerJSON(all[i], s.numeric))
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
	if n := utf8.RuneCountInString(*body.Message); n > AnswerMaxLength {
		return "", fmt.Errorf("message is longer than %d characters (%d)", AnswerMaxLength, n)
	}
	return *body.Message, nil
}

func (s *Server) postAnswer(w http.ResponseWriter, r *http.Request, pkg, commentID string) {
	text, err := readMessage(r)
	if err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	cid, err := strconv.ParseInt(commentID, 10, 64)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "Required request parameter 'commentId' is not present or not a number")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.apps[pkg][cid]; !ok || c.raw != nil {
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
	// FeedbackIdDto: the id only, a number.
	s.envelope(w, http.StatusOK, "OK", "", map[string]any{"id": a.id})
}

func (s *Server) getAnswer(w http.ResponseWriter, pkg, id string) {
	aid, _ := strconv.ParseInt(id, 10, 64)
	s.mu.Lock()
	a, ok := s.answers[pkg][aid]
	var body map[string]any
	if ok {
		body = answerJSON(a, s.numeric)
	}
	s.mu.Unlock()
	if !ok {
		s.fail(w, http.StatusNotFound, "Feedback "+id+" not found")
		return
	}
	s.envelope(w, http.StatusOK, "OK", "", body)
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
	s.envelope(w, http.StatusOK, "OK", "", map[string]any{"id": a.id})
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
