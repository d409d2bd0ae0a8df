// Package fake is a fake Omnidesk written from its public API documentation
// and the public clients named in ../README.md: the same paths under /api,
// HTTP basic auth with a staff e-mail and API key, JSON bodies wrapped in
// "case" / "message" / "label", paged lists with "total_count", list filters
// that match substrings unless wrapped in ^…^, error bodies {"error":"code"},
// the rate-limit headers rate_limit_per_minute / api_calls_left /
// retry_after, and custom-channel webhooks {"type":"message_new",
// "object":{…}} sent when a test "answers" a case.
package fake

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reviewhub/reviewhub/plugins/internal/fakehook"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest/faults"
)

// Options of the fake account.
type Options struct{ Subdomain, StaffEmail, APIKey string }

// Message of a case as the fake stores it (notes included).
type Message struct {
	ID      int64
	Content string
	Staff   string // the staff member's name for staff messages
	// StaffID and UserID are the author as the API was told: a message
	// posted with user_id is the user's, one with staff_id is staff's.
	StaffID   int64
	UserID    int64
	Note      bool
	CreatedAt time.Time
}

// Case as the fake stores it.
type Case struct {
	ID           string
	Number       string
	Subject      string
	UserCustomID string
	UserID       int64
	UserName     string
	Channel      string
	Labels       []string
	CustomFields map[string]any
	Messages     []Message // customer messages and staff answers, oldest first
	Notes        []Message
}

type caseRec struct {
	id           int64
	subject      string
	userCustomID string
	userID       int64
	userName     string
	channel      string
	labels       []int64
	fields       map[string]any
	msgs         []Message
	created      time.Time
	updated      time.Time
}

// The fake account's channel, case field and staff member.
const (
	ChannelID   = 101
	ChannelCode = "cch101"
	FieldID     = 6001
	FieldKey    = "cf_6001"
	StaffID     = 1
	StaffName   = "Sam Support"
	// RatePerMinute is the account's API limit the fake reports.
	RatePerMinute = 750
)

// Error codes the fake answers with. The first group is Omnidesk's own
// vocabulary as public clients show it (README); the second has no public
// source and is the fake's own naming.
const (
	ErrCaseNotFound      = "case_not_found"       // GoEdgar/omnidesk_bot
	ErrStaffNotActive    = "staff_not_active"     // vragovR/omnidesk-bundle MessageResponse
	ErrStaffHasNotAccess = "staff_has_not_access" // vragovR CasesResponse

	ErrWrongCredentials = "wrong_credentials"
	ErrIncorrectData    = "incorrect_data"
	ErrAuthorMissing    = "user_id_or_staff_id_required"
	ErrLabelNotFound    = "label_not_found"
	ErrFieldNotFound    = "custom_field_not_found"
	ErrChannelNotFound  = "channel_not_found"
	ErrLabelExists      = "label_already_exist"
	ErrUnknownMethod    = "unknown_method"
	ErrRateLimit        = "rate_limit_exceeded"
	ErrServer           = "server_error"
)

// Server is the fake. Safe for concurrent use.
type Server struct {
	opts Options

	mu          sync.Mutex
	cases       map[int64]*caseRec
	order       []int64
	users       map[string]int64 // user_custom_id → user id
	labels      []labelRec
	fields      []fieldRec
	nextID      int64
	nextUser    int64
	webhookURL  string
	webhookJSON bool
	empty404    bool
	staffOff    bool
	channelOff  bool
	window      int64 // the minute of the counted calls
	inWindow    int
	perMinute   int // the limit reported without a Load (0: RatePerMinute)
	writes      int
	load        Load
	recent      []time.Time    // calls in the last load.Window (Load.PerWindow set)
	refused     int            // calls answered 429 by the enforced limit
	routes      map[string]int // answered calls per route ("POST /api/cases.json")
	faults.Faults
}

type labelRec struct {
	id    int64
	title string
}

type fieldRec struct {
	id           int64
	title, level string
}

// New returns an empty fake account with one custom channel (and a second,
// chat one), one case field and one user field.
func New(opts Options) *Server {
	return &Server{opts: opts, cases: map[int64]*caseRec{}, users: map[string]int64{},
		fields: []fieldRec{{FieldID, "App reviews", "case"}, {6002, "Customer tier", "user"}},
		nextID: 1000, nextUser: 500000}
}

// Settings are working plugin settings for this fake served at baseURL.
func (s *Server) Settings(baseURL, webhookSecret string) sdk.Settings {
	return sdk.Settings{"subdomain": s.opts.Subdomain, "staff_email": s.opts.StaffEmail, "api_key": s.opts.APIKey,
		"channel": ChannelCode, "case_field": FieldKey, "webhook_secret": webhookSecret, "base_url": baseURL}
}

// SetWebhookURL sets the custom channel's webhook URL (listed as its webhook_url).
func (s *Server) SetWebhookURL(u string) {
	s.mu.Lock()
	s.webhookURL = u
	s.mu.Unlock()
}

// SetWebhookJSON makes the webhook post JSON; by default it posts a form
// (object[content]=…), as the one production consumer found reads it.
func (s *Server) SetWebhookJSON(on bool) {
	s.mu.Lock()
	s.webhookJSON = on
	s.mu.Unlock()
}

// SetEmptyListNotFound makes a filtered case list that matches nothing
// answer 404 {"error":"case_not_found"} instead of 200 {"total_count":0}
// (Omnidesk's answer is not documented; the plugin accepts both).
func (s *Server) SetEmptyListNotFound(on bool) {
	s.mu.Lock()
	s.empty404 = on
	s.mu.Unlock()
}

// SetStaffActive switches the API's staff member on or off (off: listed as
// inactive, and writes answer 403 staff_not_active).
func (s *Server) SetStaffActive(on bool) {
	s.mu.Lock()
	s.staffOff = !on
	s.mu.Unlock()
}

// SetChannelActive switches the custom channel on or off (off: listed as
// inactive, and cases in it answer 400 channel_not_found, as the channel
// of a mistyped code does).
func (s *Server) SetChannelActive(on bool) {
	s.mu.Lock()
	s.channelOff = !on
	s.mu.Unlock()
}

// DeleteLabels deletes every label (as an administrator may).
func (s *Server) DeleteLabels() {
	s.mu.Lock()
	s.labels = nil
	s.mu.Unlock()
}

// AddLabel creates a label with a given id (to match a documented example).
func (s *Server) AddLabel(id int64, title string) {
	s.mu.Lock()
	s.labels = append(s.labels, labelRec{id, title})
	s.mu.Unlock()
}

// LabelCase puts the label titled title on case caseID as staff would in
// Omnidesk, creating the label when there is none of that title.
func (s *Server) LabelCase(caseID, title string) error {
	id, _ := strconv.ParseInt(caseID, 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cases[id]
	if !ok {
		return fmt.Errorf("fake omnidesk: no case %s", caseID)
	}
	var label int64
	for _, l := range s.labels {
		if strings.EqualFold(l.title, title) {
			label = l.id
		}
	}
	if label == 0 {
		s.nextID++
		label = s.nextID
		s.labels = append(s.labels, labelRec{label, title})
	}
	if !slices.Contains(c.labels, label) {
		c.labels = append(c.labels, label)
	}
	return nil
}

// AddCaseField creates a case-level custom field with a given id.
func (s *Server) AddCaseField(id int64, title string) {
	s.mu.Lock()
	s.fields = append(s.fields, fieldRec{id, title, "case"})
	s.mu.Unlock()
}

// Writes is the number of authenticated API calls other than GET.
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// CaseCount is the number of cases.
func (s *Server) CaseCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.order)
}

// Cases returns a snapshot of every case, oldest first.
func (s *Server) Cases() []Case {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Case, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.snapshot(s.cases[id]))
	}
	return out
}

// CaseByReviewID finds the case whose case field holds reviewID.
func (s *Server) CaseByReviewID(reviewID string) (Case, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.order {
		c := s.cases[id]
		if v, ok := c.fields[FieldKey]; ok && fmt.Sprint(v) == reviewID {
			return s.snapshot(c), true
		}
	}
	return Case{}, false
}

func (s *Server) snapshot(c *caseRec) Case {
	out := Case{ID: strconv.FormatInt(c.id, 10), Number: caseNumber(c.id), Subject: c.subject, UserCustomID: c.userCustomID,
		UserID: c.userID, UserName: c.userName, Channel: c.channel, CustomFields: map[string]any{}}
	for k, v := range c.fields {
		out.CustomFields[k] = v
	}
	for _, l := range c.labels {
		out.Labels = append(out.Labels, s.labelTitle(l))
	}
	for _, m := range c.msgs {
		if m.Note {
			out.Notes = append(out.Notes, m)
		} else {
			out.Messages = append(out.Messages, m)
		}
	}
	return out
}

func (s *Server) labelTitle(id int64) string {
	for _, l := range s.labels {
		if l.id == id {
			return l.title
		}
	}
	return ""
}

func caseNumber(id int64) string { return fmt.Sprintf("%03d-%06d", id%1000, id) }

// Answer is a staff member answering case caseID in Omnidesk: the answer is
// recorded and the custom channel's webhook is called. It returns the
// message id once the webhook call returned 2xx.
func (s *Server) Answer(ctx context.Context, caseID, text string) (string, error) {
	return s.Post(ctx, caseID, text, Event{})
}

// Event says what kind of message Post writes: a staff answer by default.
type Event struct {
	Note        bool // a note
	SentViaRule bool // sent by an automation rule
	FromUser    bool // written by the case's user (no staff_id)
}

// Post records a message of the kind ev in case caseID and calls the custom
// channel's webhook with it, in the form palachX laravel-omnidesk documents
// ({"type":"message_new","object":{…}}), as a form unless SetWebhookJSON.
func (s *Server) Post(ctx context.Context, caseID, text string, ev Event) (string, error) {
	id, _ := strconv.ParseInt(caseID, 10, 64)
	s.mu.Lock()
	c, ok := s.cases[id]
	if !ok {
		s.mu.Unlock()
		return "", fmt.Errorf("fake omnidesk: no case %s", caseID)
	}
	s.nextID++
	m := Message{ID: s.nextID, Content: text, Note: ev.Note, UserID: c.userID, CreatedAt: time.Now().UTC()}
	if !ev.FromUser {
		m.Staff, m.StaffID = StaffName, StaffID
	}
	c.msgs = append(c.msgs, m)
	c.updated = m.CreatedAt
	hook, asJSON := s.webhookURL, s.webhookJSON
	s.mu.Unlock()
	if hook == "" {
		return "", fmt.Errorf("fake omnidesk: the custom channel has no webhook URL")
	}
	obj := map[string]any{"message_id": m.ID, "case_id": c.id, "staff_id": m.StaffID, "user_id": c.userID,
		"custom_user_id": c.userCustomID, "content": text, "note": ev.Note, "sent_via_rule": ev.SentViaRule}
	var body []byte
	ctype := "application/json"
	if asJSON {
		body, _ = json.Marshal(map[string]any{"type": "message_new", "object": obj})
	} else {
		form := url.Values{"type": {"message_new"}}
		for k, v := range obj {
			switch x := v.(type) {
			case bool:
				v = map[bool]string{false: "0", true: "1"}[x]
			}
			form.Set("object["+k+"]", fmt.Sprint(v))
		}
		body, ctype = []byte(form.Encode()), "application/x-www-form-urlencoded"
	}
	return strconv.FormatInt(m.ID, 10), s.postWebhook(ctx, hook, ctype, body)
}

// PostWebhook posts a JSON body to url as the custom channel does.
func (s *Server) PostWebhook(ctx context.Context, url string, body []byte) error {
	return s.postWebhook(ctx, url, "application/json", body)
}

func (s *Server) postWebhook(ctx context.Context, url, ctype string, body []byte) error {
	return fakehook.Post(ctx, "fake omnidesk", url, http.Header{"Content-Type": {ctype}}, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError answers Omnidesk's error form: {"error": "code"}.
func apiError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code})
}

// setHeader sets a header under Omnidesk's exact (non-canonical) name.
func setHeader(w http.ResponseWriter, k, v string) { w.Header()[k] = []string{v} }

// Load makes the fake answer like a real account under load: every
// answer after Latency ± Jitter (uniform), and at most PerWindow calls in
// any Window (a sliding window, default one minute; stricter than a
// calendar minute, which lets twice the limit through around its turn).
// Calls over it are answered 429 with rate_limit_per_minute,
// api_calls_left 0 and retry_after (whole seconds, rounded up, until the
// window has room), and are counted in the window too: whether Omnidesk
// counts refused calls is not documented, counting them is the stricter
// choice. Omnidesk's limits are per minute (README); a shorter Window only
// shrinks a test's time scale.
type Load struct {
	Latency, Jitter time.Duration
	PerWindow       int
	Window          time.Duration
}

// SetLoad sets (or, with the zero Load, removes) the load model.
func (s *Server) SetLoad(l Load) {
	if l.Window <= 0 {
		l.Window = time.Minute
	}
	s.mu.Lock()
	s.load, s.recent = l, nil
	s.mu.Unlock()
}

// SetRatePerMinute sets the per-minute limit the rate-limit headers report
// when no Load is set (default RatePerMinute; a Load reports its own). The
// zero-latency benchmark gives a limit the run never reaches, as it
// measures the hub, not the account: the plugin paces by api_calls_left.
func (s *Server) SetRatePerMinute(n int) {
	s.mu.Lock()
	s.perMinute = n
	s.mu.Unlock()
}

// Refused is how many calls the enforced limit answered 429.
func (s *Server) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// Routes is how many calls each route answered (not refused ones), by
// "METHOD pattern", e.g. "POST /api/cases.json", "GET /api/cases.json".
func (s *Server) Routes() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.routes)
}

// delay waits the load model's latency (false: the caller went away).
func (s *Server) delay(r *http.Request) bool {
	s.mu.Lock()
	l := s.load
	s.mu.Unlock()
	d := l.Latency
	if l.Jitter > 0 {
		d += time.Duration(rand.Int64N(int64(2*l.Jitter)+1)) - l.Jitter
	}
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// overLimit counts the call in the sliding window and answers 429 when it
// is over the enforced limit (true: answered).
func (s *Server) overLimit(w http.ResponseWriter) bool {
	s.mu.Lock()
	l := s.load
	if l.PerWindow <= 0 {
		s.mu.Unlock()
		return false
	}
	now := time.Now()
	keep := s.recent[:0]
	for _, t := range s.recent {
		if now.Sub(t) < l.Window {
			keep = append(keep, t)
		}
	}
	s.recent = append(keep, now)
	n := len(s.recent)
	if n <= l.PerWindow {
		s.mu.Unlock()
		return false
	}
	s.refused++
	// Room comes when the (n-PerWindow)-th oldest call leaves the window.
	wait := s.recent[n-l.PerWindow-1].Add(l.Window).Sub(now)
	s.mu.Unlock()
	secs := max(1, int((wait+time.Second-1)/time.Second))
	setHeader(w, "rate_limit_per_minute", strconv.Itoa(l.PerWindow))
	setHeader(w, "api_calls_left", "0")
	setHeader(w, "retry_after", strconv.Itoa(secs))
	apiError(w, http.StatusTooManyRequests, ErrRateLimit)
	return true
}

// limits counts the call and sets the rate-limit headers every answer carries.
func (s *Server) limits(w http.ResponseWriter) {
	s.mu.Lock()
	if l := s.load; l.PerWindow > 0 {
		left := max(0, l.PerWindow-len(s.recent))
		s.mu.Unlock()
		setHeader(w, "rate_limit_per_minute", strconv.Itoa(l.PerWindow))
		setHeader(w, "api_calls_left", strconv.Itoa(left))
		return
	}
	now := time.Now().Unix() / 60
	if now != s.window {
		s.window, s.inWindow = now, 0
	}
	s.inWindow++
	per := RatePerMinute
	if s.perMinute > 0 {
		per = s.perMinute
	}
	left := max(0, per-s.inWindow)
	s.mu.Unlock()
	setHeader(w, "rate_limit_per_minute", strconv.Itoa(per))
	setHeader(w, "api_calls_left", strconv.Itoa(left))
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.Next(); ok {
		if f.RateLimited {
			setHeader(w, "rate_limit_per_minute", strconv.Itoa(RatePerMinute))
			setHeader(w, "api_calls_left", "0")
			setHeader(w, "retry_after", strconv.Itoa(int(f.RetryAfter.Seconds())))
			apiError(w, http.StatusTooManyRequests, ErrRateLimit)
			return
		}
		apiError(w, f.Status, ErrServer)
		return
	}
	user, key, ok := r.BasicAuth()
	if !ok || !strings.EqualFold(user, s.opts.StaffEmail) || key != s.opts.APIKey {
		apiError(w, http.StatusUnauthorized, ErrWrongCredentials)
		return
	}
	if !s.delay(r) || s.overLimit(w) {
		return
	}
	s.limits(w)
	s.mu.Lock()
	off := s.staffOff
	if r.Method != http.MethodGet {
		s.writes++
	}
	s.mu.Unlock()
	if off && r.Method != http.MethodGet {
		apiError(w, http.StatusForbidden, ErrStaffNotActive)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/staff.json", s.staff)
	mux.HandleFunc("GET /api/custom_channels.json", s.channels)
	mux.HandleFunc("GET /api/custom_fields.json", s.customFields)
	mux.HandleFunc("GET /api/labels.json", s.listLabels)
	mux.HandleFunc("POST /api/labels.json", s.createLabel)
	mux.HandleFunc("GET /api/cases.json", s.listCases)
	mux.HandleFunc("POST /api/cases.json", s.createCase)
	mux.HandleFunc("GET /api/cases/{id}", s.getCase)
	mux.HandleFunc("PUT /api/cases/{id}", s.updateCase)
	mux.HandleFunc("GET /api/cases/{id}/messages.json", s.listMessages)
	mux.HandleFunc("POST /api/cases/{id}/messages.json", s.addMessage)
	mux.HandleFunc("POST /api/cases/{id}/note.json", s.addNote)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, ErrUnknownMethod)
	})
	_, pattern := mux.Handler(r)
	s.mu.Lock()
	if s.routes == nil {
		s.routes = map[string]int{}
	}
	s.routes[pattern]++
	s.mu.Unlock()
	mux.ServeHTTP(w, r)
}

// page reads page/limit as Omnidesk does (page 1–500, limit 1–100).
func page(w http.ResponseWriter, r *http.Request) (from, limit int, ok bool) {
	p, limit := 1, 100
	if v := r.URL.Query().Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			apiError(w, http.StatusBadRequest, ErrIncorrectData)
			return 0, 0, false
		}
		p = n
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			apiError(w, http.StatusBadRequest, ErrIncorrectData)
			return 0, 0, false
		}
		limit = n
	}
	return (p - 1) * limit, limit, true
}

func writeList(w http.ResponseWriter, key string, items []any, total int) {
	out := map[string]any{"total_count": total}
	for i, it := range items {
		out[strconv.Itoa(i)] = map[string]any{key: it}
	}
	writeJSON(w, http.StatusOK, out)
}

func pageOf[T any](all []T, from, limit int) []any {
	var out []any
	for i := from; i < len(all) && i < from+limit; i++ {
		out = append(out, all[i])
	}
	return out
}

const stamp = "Mon, 05 May 2014 00:15:17 +0300"

func (s *Server) staff(w http.ResponseWriter, r *http.Request) {
	from, limit, ok := page(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	active := !s.staffOff
	s.mu.Unlock()
	// The fields of the official staff list (omnidesk.ru/api/staff).
	member := func(id int, email string, active bool) map[string]any {
		return map[string]any{"staff_id": id, "staff_email": email, "staff_signature": "", "staff_signature_chat": "",
			"thumbnail": "", "active": active, "status": "online", "status_id": 1, "created_at": stamp, "updated_at": stamp}
	}
	all := []map[string]any{member(StaffID, s.opts.StaffEmail, active), member(2, "former@"+s.opts.Subdomain+".example", false)}
	writeList(w, "staff", pageOf(all, from, limit), len(all))
}

func (s *Server) channels(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	hook, active := s.webhookURL, !s.channelOff
	s.mu.Unlock()
	// The fields of palachX laravel-omnidesk's CustomChannelData.
	all := []map[string]any{
		{"channel_id": ChannelID, "channel_api_key": ChannelCode, "title": "App reviews", "channel_type": "async",
			"icon": "fa-star", "webhook_url": hook, "active": active},
		{"channel_id": 102, "channel_api_key": "cch102", "title": "Chat", "channel_type": "sync",
			"icon": "fa-comments", "webhook_url": "", "active": false},
	}
	writeList(w, "custom_channel", pageOf(all, 0, 100), len(all))
}

func (s *Server) customFields(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	all := make([]map[string]any, 0, len(s.fields))
	for _, f := range s.fields {
		all = append(all, map[string]any{"field_id": f.id, "title": f.title, "field_type": "text", "field_level": f.level, "active": true, "field_data": ""})
	}
	s.mu.Unlock()
	writeList(w, "custom_field", pageOf(all, 0, 100), len(all))
}

func (s *Server) listLabels(w http.ResponseWriter, r *http.Request) {
	from, limit, ok := page(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	all := make([]map[string]any, 0, len(s.labels))
	for _, l := range s.labels {
		all = append(all, map[string]any{"label_id": l.id, "label_title": l.title})
	}
	s.mu.Unlock()
	writeList(w, "label", pageOf(all, from, limit), len(all))
}

func decodeBody(w http.ResponseWriter, r *http.Request, key string) (map[string]any, bool) {
	var body map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		apiError(w, http.StatusBadRequest, ErrIncorrectData)
		return nil, false
	}
	var inner map[string]any
	if err := json.Unmarshal(body[key], &inner); err != nil || inner == nil {
		apiError(w, http.StatusBadRequest, ErrIncorrectData)
		return nil, false
	}
	return inner, true
}

func (s *Server) createLabel(w http.ResponseWriter, r *http.Request) {
	in, ok := decodeBody(w, r, "label")
	if !ok {
		return
	}
	title, _ := in["label_title"].(string)
	if strings.TrimSpace(title) == "" {
		apiError(w, http.StatusBadRequest, ErrIncorrectData)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.labels {
		if strings.EqualFold(l.title, title) {
			apiError(w, http.StatusBadRequest, ErrLabelExists)
			return
		}
	}
	s.nextID++
	s.labels = append(s.labels, labelRec{s.nextID, title})
	writeJSON(w, http.StatusOK, map[string]any{"label": map[string]any{"label_id": s.nextID, "label_title": title}})
}

// caseJSON has the fields of the official "Создание обращения" answer
// (omnidesk.ru/api/cases).
func (s *Server) caseJSON(c *caseRec) map[string]any {
	labels := c.labels
	if labels == nil {
		labels = []int64{}
	}
	fields := map[string]any{}
	for k, v := range c.fields {
		fields[k] = v
	}
	return map[string]any{"case_id": c.id, "case_number": caseNumber(c.id), "subject": c.subject, "user_id": c.userID,
		"staff_id": 0, "group_id": 0, "status": "open", "priority": "normal", "channel": c.channel,
		"recipient": "", "cc_emails": "", "bcc_emails": "", "deleted": false, "spam": false,
		"created_at": c.created.Format(time.RFC1123Z), "updated_at": c.updated.Format(time.RFC1123Z),
		"language_id": 1, "custom_fields": fields, "labels": labels}
}

func queryList(r *http.Request, key string) []string {
	q := r.URL.Query()
	return append(q[key], q[key+"[]"]...)
}

// Match is how Omnidesk's list filters compare (omnidesk.ru/api/
// introduction/intro): by substring, unless the value is wrapped in ^…^
// (the whole string), starts with ^ (a prefix) or ends with ^ (a suffix).
func Match(filter, value string) bool {
	switch {
	case len(filter) >= 2 && strings.HasPrefix(filter, "^") && strings.HasSuffix(filter, "^"):
		return value == filter[1:len(filter)-1]
	case strings.HasPrefix(filter, "^"):
		return strings.HasPrefix(value, filter[1:])
	case strings.HasSuffix(filter, "^"):
		return strings.HasSuffix(value, filter[:len(filter)-1])
	}
	return strings.Contains(value, filter)
}

func matchAny(filters []string, value string) bool {
	if len(filters) == 0 {
		return true
	}
	for _, f := range filters {
		if Match(f, value) {
			return true
		}
	}
	return false
}

func (s *Server) listCases(w http.ResponseWriter, r *http.Request) {
	from, limit, ok := page(w, r)
	if !ok {
		return
	}
	users, channels := queryList(r, "user_custom_id"), queryList(r, "channel")
	s.mu.Lock()
	var all []map[string]any
	for _, id := range s.order {
		c := s.cases[id]
		if matchAny(users, c.userCustomID) && matchAny(channels, c.channel) {
			all = append(all, s.caseJSON(c))
		}
	}
	empty404 := s.empty404
	s.mu.Unlock()
	if len(all) == 0 && empty404 && len(users)+len(channels) > 0 {
		apiError(w, http.StatusNotFound, ErrCaseNotFound)
		return
	}
	writeList(w, "case", pageOf(all, from, limit), len(all))
}

func int64s(v any) ([]int64, bool) {
	if v == nil {
		return nil, true
	}
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]int64, 0, len(list))
	for _, x := range list {
		f, ok := x.(float64)
		if !ok {
			return nil, false
		}
		out = append(out, int64(f))
	}
	return out, true
}

// knownLabels reports whether every id is a label (s.mu held).
func (s *Server) knownLabels(ids []int64) bool {
	for _, l := range ids {
		if s.labelTitle(l) == "" {
			return false
		}
	}
	return true
}

func (s *Server) createCase(w http.ResponseWriter, r *http.Request) {
	in, ok := decodeBody(w, r, "case")
	if !ok {
		return
	}
	str := func(k string) string { v, _ := in[k].(string); return v }
	for _, k := range []string{"subject", "content"} {
		if strings.TrimSpace(str(k)) == "" {
			apiError(w, http.StatusBadRequest, ErrIncorrectData)
			return
		}
	}
	if str("user_custom_id") == "" && str("user_email") == "" && str("user_phone") == "" {
		apiError(w, http.StatusBadRequest, ErrIncorrectData)
		return
	}
	s.mu.Lock()
	channelOff := s.channelOff
	s.mu.Unlock()
	if str("user_custom_id") != "" && (str("channel") != ChannelCode || channelOff) {
		apiError(w, http.StatusBadRequest, ErrChannelNotFound)
		return
	}
	labels, ok := int64s(in["labels"])
	if !ok {
		apiError(w, http.StatusBadRequest, ErrIncorrectData)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fields := map[string]any{}
	if cf, ok := in["custom_fields"].(map[string]any); ok {
		for k, v := range cf {
			if !s.caseField(k) {
				apiError(w, http.StatusBadRequest, ErrFieldNotFound)
				return
			}
			fields[k] = v
		}
	}
	if !s.knownLabels(labels) {
		apiError(w, http.StatusBadRequest, ErrLabelNotFound)
		return
	}
	userKey := str("user_custom_id")
	if userKey == "" {
		userKey = "email:" + str("user_email") + str("user_phone")
	}
	uid, ok := s.users[userKey]
	if !ok {
		s.nextUser++
		uid = s.nextUser
		s.users[userKey] = uid
	}
	channel := str("channel")
	if channel == "" {
		channel = "web"
	}
	s.nextID++
	now := time.Now().UTC()
	c := &caseRec{id: s.nextID, subject: str("subject"), userCustomID: str("user_custom_id"), userID: uid,
		userName: str("user_full_name"), channel: channel, labels: labels, fields: fields, created: now, updated: now}
	s.nextID++
	c.msgs = []Message{{ID: s.nextID, Content: str("content"), UserID: uid, CreatedAt: now}}
	s.cases[c.id] = c
	s.order = append(s.order, c.id)
	writeJSON(w, http.StatusOK, map[string]any{"case": s.caseJSON(c)})
}

// caseField reports whether key ("cf_ID") is a case-level field (s.mu held).
func (s *Server) caseField(key string) bool {
	for _, f := range s.fields {
		if f.level == "case" && key == "cf_"+strconv.FormatInt(f.id, 10) {
			return true
		}
	}
	return false
}

// caseFor reads {id} (as "123.json") and returns the case, answering 404 itself.
func (s *Server) caseFor(w http.ResponseWriter, r *http.Request) (*caseRec, bool) {
	raw := strings.TrimSuffix(r.PathValue("id"), ".json")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err == nil {
		if c, ok := s.cases[id]; ok {
			return c, true
		}
	}
	apiError(w, http.StatusNotFound, ErrCaseNotFound)
	return nil, false
}

func (s *Server) getCase(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.caseFor(w, r); ok {
		writeJSON(w, http.StatusOK, map[string]any{"case": s.caseJSON(c)})
	}
}

// updateCase edits a case. Labels change with add_labels / delete_labels
// (vragovR/omnidesk-bundle); "labels" is not a documented edit field and is
// ignored, like any other unknown field (README: GUESS).
func (s *Server) updateCase(w http.ResponseWriter, r *http.Request) {
	in, ok := decodeBody(w, r, "case")
	if !ok {
		return
	}
	add, ok1 := int64s(in["add_labels"])
	del, ok2 := int64s(in["delete_labels"])
	if !ok1 || !ok2 {
		apiError(w, http.StatusBadRequest, ErrIncorrectData)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.caseFor(w, r)
	if !ok {
		return
	}
	if !s.knownLabels(add) {
		apiError(w, http.StatusBadRequest, ErrLabelNotFound)
		return
	}
	var kept []int64
	for _, l := range c.labels {
		drop := false
		for _, d := range del {
			drop = drop || d == l
		}
		if !drop {
			kept = append(kept, l)
		}
	}
	for _, a := range add {
		dup := false
		for _, l := range kept {
			dup = dup || l == a
		}
		if !dup {
			kept = append(kept, a)
		}
	}
	c.labels = kept
	if subj, ok := in["subject"].(string); ok && subj != "" {
		c.subject = subj
	}
	c.updated = time.Now().UTC()
	writeJSON(w, http.StatusOK, map[string]any{"case": s.caseJSON(c)})
}

// messageJSON has the fields of a message as palachX laravel-omnidesk's
// StoreMessage and StoreNote tests show them.
func messageJSON(m Message) map[string]any {
	return map[string]any{"message_id": m.ID, "user_id": m.UserID, "staff_id": m.StaffID, "content": m.Content,
		"content_html": strings.ReplaceAll(m.Content, "\n", "<br>\n"), "note": m.Note, "created_at": m.CreatedAt.Format(time.RFC1123Z)}
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) {
	from, limit, ok := page(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.caseFor(w, r)
	if !ok {
		return
	}
	all := make([]map[string]any, 0, len(c.msgs))
	for _, m := range c.msgs {
		all = append(all, messageJSON(m))
	}
	writeList(w, "message", pageOf(all, from, limit), len(all))
}

func (s *Server) addMessage(w http.ResponseWriter, r *http.Request) { s.add(w, r, "message", false) }
func (s *Server) addNote(w http.ResponseWriter, r *http.Request)    { s.add(w, r, "note", true) }

func (s *Server) add(w http.ResponseWriter, r *http.Request, key string, note bool) {
	in, ok := decodeBody(w, r, key)
	if !ok {
		return
	}
	content, _ := in["content"].(string)
	if strings.TrimSpace(content) == "" {
		apiError(w, http.StatusBadRequest, ErrIncorrectData)
		return
	}
	num := func(k string) int64 { f, _ := in[k].(float64); return int64(f) }
	userID, staffID := num("user_id"), num("staff_id")
	if !note && userID == 0 && staffID == 0 {
		// A message must name its author: the case's user or a staff member.
		apiError(w, http.StatusBadRequest, ErrAuthorMissing)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.caseFor(w, r)
	if !ok {
		return
	}
	s.nextID++
	m := Message{ID: s.nextID, Content: content, Note: note, UserID: userID, StaffID: staffID, CreatedAt: time.Now().UTC()}
	if note {
		m.UserID, m.StaffID = c.userID, StaffID // a note is written by the API's staff member
	}
	if m.StaffID != 0 {
		m.Staff = StaffName
	}
	c.msgs = append(c.msgs, m)
	c.updated = m.CreatedAt
	writeJSON(w, http.StatusOK, map[string]any{"message": messageJSON(m)})
}
