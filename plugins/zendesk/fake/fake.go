// Package fake is a fake Zendesk Support account written from Zendesk's
// API reference and the recorded answers named in ../README.md: the paths
// under /api/v2 the plugin uses, basic auth "EMAIL/token:TOKEN", tickets
// with external_id, comments added through ticket updates (public or
// internal), tags, custom fields, safe updates (409), closed tickets that
// refuse updates (422) and their follow-ups, offset pagination of ticket
// lists and cursor pagination of comments, errors {"error", "description"},
// 429 with Retry-After, and event webhooks signed as Zendesk signs them,
// sent when a test has an agent comment on a ticket.
//
// It is stricter than Zendesk where that catches a client's mistake:
// unknown request fields, a tag with white space, an unknown custom field,
// a page size over 100 are refused.
package fake

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/reviewhub/reviewhub/plugins/internal/fakehook"
	"github.com/reviewhub/reviewhub/plugins/zendesk/zendesk"
	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest/faults"
)

// Options of the fake account.
type Options struct{ Subdomain, Email, Token string }

// The fake account's users and fields.
const (
	AccountID = 22129848
	// AgentID is the agent the API token acts as (Options.Email).
	AgentID = 1001
	// StaffID and StaffName: the agent who answers in tests.
	StaffID   = 1002
	StaffName = "Sam Support"
	// EndUserID: an end user commenting on a ticket.
	EndUserID = 2001
	// Ticket fields: a text field for the review id, one for the rating,
	// and an inactive one.
	FieldReviewID = 360000000001
	FieldRating   = 360000000002
	FieldInactive = 360000000003
	// MaxComments a ticket takes (Zendesk: 5000, then 422).
	MaxComments = 5000
	// RatePerMinute is the limit the fake reports in X-Rate-Limit.
	RatePerMinute = 700
	// ClosedRefusal is the detail of the 422 RecordInvalid that refuses a
	// comment, a field or a status for a closed ticket (GUESS: the text;
	// testdata/vendor/error_closed_ticket.json).
	ClosedRefusal = "Status: closed prevents ticket update"
)

// Comment as the fake stores it.
type Comment struct {
	ID        int64
	Body      string
	Public    bool
	AuthorID  int64
	CreatedAt time.Time
}

// Party is a sender or recipient of an e-mail ticket.
type Party struct{ Name, Address string }

// Via is how a ticket came in: "api" (no source), or "email" with its
// sender and recipient.
type Via struct {
	Channel  string
	From, To *Party
}

// Ticket as the fake stores it.
type Ticket struct {
	ID           int64
	ExternalID   string
	Subject      string
	Status       string
	RequesterID  int64
	AssigneeID   int64 // 0: unassigned
	Recipient    string
	Via          Via // zero: api
	Tags         []string
	CustomFields map[int64]any
	FollowupOf   int64
	Comments     []Comment
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Public returns the ticket's public comments; Notes its internal ones.
func (t Ticket) Public() []Comment { return t.filter(true) }

// Notes returns the ticket's internal notes (private comments).
func (t Ticket) Notes() []Comment { return t.filter(false) }

func (t Ticket) filter(public bool) []Comment {
	var out []Comment
	for _, c := range t.Comments {
		if c.Public == public {
			out = append(out, c)
		}
	}
	return out
}

type field struct {
	id     int64
	typ    string
	title  string
	active bool
}

// Server is the fake. Safe for concurrent use.
type Server struct {
	opts Options

	mu          sync.Mutex
	tickets     map[int64]*Ticket
	order       []int64
	fields      []field
	nextTicket  int64
	nextComment int64
	pageSize    int // tickets and comments a page (0: 100)
	hookURL     string
	hookSecret  string
	clockSkew   time.Duration
	lastHook    *hook
	conflicts   int // safe updates still to answer 409
	writes      int
	routes      map[string]int
	faults.Faults
}

// New returns an empty fake account.
func New(opts Options) *Server {
	return &Server{opts: opts, tickets: map[int64]*Ticket{}, routes: map[string]int{}, nextTicket: 100, nextComment: 5000,
		fields: []field{{FieldReviewID, "text", "Review id", true}, {FieldRating, "integer", "Rating", true}, {FieldInactive, "text", "Old field", false}}}
}

// Settings are working plugin settings for this fake served at baseURL.
func (s *Server) Settings(baseURL, webhookSecret string) sdk.Settings {
	return sdk.Settings{"subdomain": s.opts.Subdomain, "email": s.opts.Email, "api_token": s.opts.Token,
		"webhook_secret": webhookSecret, "base_url": baseURL,
		"custom_fields": fmt.Sprintf("review_id=%d, rating=%d", FieldReviewID, FieldRating)}
}

// SetWebhook sets where the account's comment-event webhook posts and the
// secret it signs with.
func (s *Server) SetWebhook(url, secret string) {
	s.mu.Lock()
	s.hookURL, s.hookSecret = url, secret
	s.mu.Unlock()
}

// SetClockSkew shifts the signature timestamps the webhook sends.
func (s *Server) SetClockSkew(d time.Duration) {
	s.mu.Lock()
	s.clockSkew = d
	s.mu.Unlock()
}

// SetPageSize sets how many tickets or comments a page holds (0: 100),
// so tests can see pagination with few items.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	s.pageSize = n
	s.mu.Unlock()
}

// AddTicketField adds a ticket field with a given id (to match a
// documented example).
func (s *Server) AddTicketField(id int64, typ, title string) {
	s.mu.Lock()
	s.fields = append(s.fields, field{id, typ, title, true})
	s.mu.Unlock()
}

// SetStatus sets a ticket's status (as agents and automations do: solved,
// closed).
func (s *Server) SetStatus(id int64, status string) {
	s.mu.Lock()
	if t, ok := s.tickets[id]; ok {
		t.Status, t.UpdatedAt = status, s.tick(t.UpdatedAt)
	}
	s.mu.Unlock()
}

// ConflictNext makes the next n safe updates answer 409, as if an agent
// changed the ticket between the client's read and its update.
func (s *Server) ConflictNext(n int) {
	s.mu.Lock()
	s.conflicts = n
	s.mu.Unlock()
}

// AddTicket stores a ticket as given (an e-mail ticket of a documented
// example, say) and returns its id (a new one when t.ID is 0).
func (s *Server) AddTicket(t Ticket) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.ID == 0 {
		s.nextTicket++
		t.ID = s.nextTicket
	}
	now := time.Now().UTC().Truncate(time.Second)
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = t.CreatedAt
	}
	if t.CustomFields == nil {
		t.CustomFields = map[int64]any{}
	}
	for i := range t.Comments {
		if t.Comments[i].ID == 0 {
			s.nextComment++
			t.Comments[i].ID = s.nextComment
		}
	}
	s.tickets[t.ID] = &t
	s.order = append(s.order, t.ID)
	return t.ID
}

// Touch changes a ticket as an agent would in the meantime (its
// updated_at moves on), so a safe update read before conflicts.
func (s *Server) Touch(id int64) {
	s.mu.Lock()
	if t, ok := s.tickets[id]; ok {
		t.UpdatedAt = s.tick(t.UpdatedAt)
	}
	s.mu.Unlock()
}

// tick is a time after prev, at a whole second (updated_at has seconds).
func (s *Server) tick(prev time.Time) time.Time {
	now := time.Now().UTC().Truncate(time.Second)
	if !now.After(prev) {
		now = prev.Add(time.Second)
	}
	return now
}

// Writes is the number of authenticated API calls other than GET.
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// Routes is how many calls each route answered, by "METHOD pattern"
// ("POST /api/v2/tickets", "GET /api/v2/tickets/{id}/comments").
func (s *Server) Routes() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.routes)
}

// Tickets returns a snapshot of every ticket, oldest first.
func (s *Server) Tickets() []Ticket {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Ticket, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.snapshot(s.tickets[id]))
	}
	return out
}

// TicketByID is a snapshot of ticket id.
func (s *Server) TicketByID(id int64) (Ticket, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tickets[id]
	if !ok {
		return Ticket{}, false
	}
	return s.snapshot(t), true
}

// AddTag tags ticket id as an agent would (the tag is kept once).
func (s *Server) AddTag(id int64, tag string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tickets[id]
	if !ok {
		return fmt.Errorf("fake zendesk: no ticket %d", id)
	}
	t.Tags, t.UpdatedAt = dedupe(append(t.Tags, tag)), s.tick(t.UpdatedAt)
	return nil
}

// TicketCount is the number of tickets.
func (s *Server) TicketCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.order)
}

// TicketByReview finds the newest ticket of a review (external_id
// "reviewhub:STORE:ID", the plugin's).
func (s *Server) TicketByReview(store, reviewID string) (Ticket, bool) {
	return s.TicketByExternalID("reviewhub:" + store + ":" + reviewID)
}

// TicketByExternalID finds the newest ticket with that external_id.
func (s *Server) TicketByExternalID(ext string) (Ticket, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.order) - 1; i >= 0; i-- {
		if t := s.tickets[s.order[i]]; t.ExternalID == ext {
			return s.snapshot(t), true
		}
	}
	return Ticket{}, false
}

func (s *Server) snapshot(t *Ticket) Ticket {
	out := *t
	out.Tags = append([]string(nil), t.Tags...)
	out.Comments = append([]Comment(nil), t.Comments...)
	out.CustomFields = map[int64]any{}
	for k, v := range t.CustomFields {
		out.CustomFields[k] = v
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError answers Zendesk's error envelope.
func apiError(w http.ResponseWriter, status int, code, description string) {
	body := map[string]any{"error": code}
	if description != "" {
		body["description"] = description
	}
	writeJSON(w, status, body)
}

// invalid answers 422 RecordInvalid with details for one field.
func invalid(w http.ResponseWriter, fieldName, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "RecordInvalid", "description": "Record validation errors",
		"details": map[string]any{fieldName: []map[string]string{{"description": msg}}}})
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.Next(); ok {
		if f.RateLimited {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("X-Rate-Limit", strconv.Itoa(RatePerMinute))
			w.Header().Set("X-Rate-Limit-Remaining", "0")
			if f.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
			}
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte("Number of allowed API requests per minute exceeded"))
			return
		}
		apiError(w, f.Status, http.StatusText(f.Status), "")
		return
	}
	user, token, ok := r.BasicAuth()
	if !ok || user != s.opts.Email+"/token" || token != s.opts.Token {
		apiError(w, http.StatusUnauthorized, "Couldn't authenticate you", "")
		return
	}
	w.Header().Set("X-Rate-Limit", strconv.Itoa(RatePerMinute))
	if r.Method != http.MethodGet {
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			apiError(w, http.StatusUnsupportedMediaType, "InvalidMediaType", "send JSON with Content-Type: application/json")
			return
		}
		s.mu.Lock()
		s.writes++
		s.mu.Unlock()
	}
	route, handle := s.route(r)
	if handle == nil {
		apiError(w, http.StatusNotFound, "InvalidEndpoint", "Not found")
		return
	}
	s.mu.Lock()
	s.routes[r.Method+" "+route]++
	s.mu.Unlock()
	handle(w, r)
}

func (s *Server) route(r *http.Request) (string, http.HandlerFunc) {
	// Zendesk serves every path with and without ".json" (its next_page
	// URLs carry it).
	p := strings.TrimSuffix(strings.TrimSuffix(r.URL.Path, "/"), ".json")
	parts := strings.Split(strings.TrimPrefix(p, "/api/v2/"), "/")
	if !strings.HasPrefix(p, "/api/v2/") {
		return "", nil
	}
	id := func(i int) (int64, bool) {
		if len(parts) <= i {
			return 0, false
		}
		n, err := strconv.ParseInt(parts[i], 10, 64)
		return n, err == nil && n > 0
	}
	switch {
	case r.Method == http.MethodGet && p == "/api/v2/users/me":
		return "/api/v2/users/me", s.me
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "ticket_fields":
		if n, ok := id(1); ok {
			return "/api/v2/ticket_fields/{id}", func(w http.ResponseWriter, r *http.Request) { s.ticketField(w, n) }
		}
	case p == "/api/v2/tickets" && r.Method == http.MethodGet:
		return "/api/v2/tickets", s.listTickets
	case p == "/api/v2/tickets" && r.Method == http.MethodPost:
		return "/api/v2/tickets", s.createTicket
	case len(parts) == 2 && parts[0] == "tickets":
		n, ok := id(1)
		if !ok {
			return "", nil
		}
		switch r.Method {
		case http.MethodGet:
			return "/api/v2/tickets/{id}", func(w http.ResponseWriter, r *http.Request) { s.showTicket(w, n) }
		case http.MethodPut:
			return "/api/v2/tickets/{id}", func(w http.ResponseWriter, r *http.Request) { s.updateTicket(w, r, n) }
		}
	case len(parts) == 3 && parts[0] == "tickets" && parts[2] == "comments" && r.Method == http.MethodGet:
		if n, ok := id(1); ok {
			return "/api/v2/tickets/{id}/comments", func(w http.ResponseWriter, r *http.Request) { s.listComments(w, r, n) }
		}
	}
	return "", nil
}

// decodeTicket reads {"ticket": {...}} into dst, refusing unknown fields.
func decodeTicket(w http.ResponseWriter, r *http.Request, dst any) bool {
	var env struct {
		Ticket json.RawMessage `json:"ticket"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil || len(env.Ticket) == 0 {
		apiError(w, http.StatusBadRequest, "InvalidJSON", fmt.Sprintf("the body must be {\"ticket\": {...}}: %v", err))
		return false
	}
	dec = json.NewDecoder(bytes.NewReader(env.Ticket))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		apiError(w, http.StatusBadRequest, "InvalidJSON", "ticket: "+err.Error())
		return false
	}
	return true
}

type commentIn struct {
	Body     *string `json:"body"`
	Public   *bool   `json:"public"`
	AuthorID int64   `json:"author_id"`
}

type fieldIn struct {
	ID    int64 `json:"id"`
	Value any   `json:"value"`
}

// checkTags and checkFields refuse what the fake does not take (locked).
func (s *Server) checkTags(w http.ResponseWriter, tags []string) bool {
	for _, t := range tags {
		if t == "" || strings.IndexFunc(t, unicode.IsSpace) >= 0 {
			invalid(w, "tags", fmt.Sprintf("tag %q: a tag is one word without white space (the fake refuses it)", t))
			return false
		}
	}
	return true
}

func (s *Server) checkFields(w http.ResponseWriter, fs []fieldIn) bool {
	for _, f := range fs {
		found := false
		for _, known := range s.fields {
			found = found || known.id == f.ID
		}
		if !found {
			invalid(w, "custom_fields", fmt.Sprintf("ticket field %d does not exist", f.ID))
			return false
		}
		switch f.Value.(type) {
		case string, float64, bool, nil:
		default:
			invalid(w, "custom_fields", fmt.Sprintf("ticket field %d: value of an unexpected type", f.ID))
			return false
		}
	}
	return true
}

func (s *Server) createTicket(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Subject      string    `json:"subject"`
		Comment      commentIn `json:"comment"`
		ExternalID   string    `json:"external_id"`
		Tags         []string  `json:"tags"`
		CustomFields []fieldIn `json:"custom_fields"`
		FollowupOf   int64     `json:"via_followup_source_id"`
	}
	if !decodeTicket(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case in.Comment.Body == nil || strings.TrimSpace(*in.Comment.Body) == "":
		invalid(w, "description", "Description: cannot be blank")
		return
	case !s.checkTags(w, in.Tags) || !s.checkFields(w, in.CustomFields):
		return
	}
	if in.FollowupOf != 0 {
		src, ok := s.tickets[in.FollowupOf]
		if !ok || src.Status != "closed" {
			invalid(w, "via_followup_source_id", "a follow-up needs a closed ticket")
			return
		}
	}
	tags := in.Tags
	if in.FollowupOf != 0 && in.Tags == nil {
		tags = s.tickets[in.FollowupOf].Tags // a follow-up inherits its source's tags unless given its own
	}
	now := time.Now().UTC().Truncate(time.Second)
	s.nextTicket++
	t := &Ticket{ID: s.nextTicket, ExternalID: in.ExternalID, Subject: in.Subject, Status: "new", RequesterID: AgentID,
		Tags: dedupe(tags), CustomFields: map[int64]any{}, FollowupOf: in.FollowupOf, CreatedAt: now, UpdatedAt: now}
	for _, f := range in.CustomFields {
		t.CustomFields[f.ID] = f.Value
	}
	c := s.addComment(t, *in.Comment.Body, in.Comment.Public == nil || *in.Comment.Public, AgentID, now)
	s.tickets[t.ID] = t
	s.order = append(s.order, t.ID)
	w.Header().Set("Location", s.baseURL(r)+"/api/v2/tickets/"+strconv.FormatInt(t.ID, 10)+".json")
	writeJSON(w, http.StatusCreated, map[string]any{"ticket": s.ticketJSON(r, t), "audit": s.auditJSON(t, c)})
}

func (s *Server) addComment(t *Ticket, body string, public bool, author int64, at time.Time) Comment {
	s.nextComment++
	c := Comment{ID: s.nextComment, Body: body, Public: public, AuthorID: author, CreatedAt: at}
	t.Comments = append(t.Comments, c)
	return c
}

func dedupe(tags []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range tags {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

func (s *Server) updateTicket(w http.ResponseWriter, r *http.Request, id int64) {
	var in struct {
		Comment      *commentIn `json:"comment"`
		Tags         *[]string  `json:"tags"`
		CustomFields []fieldIn  `json:"custom_fields"`
		SafeUpdate   bool       `json:"safe_update"`
		UpdatedStamp string     `json:"updated_stamp"`
		Status       string     `json:"status"`
	}
	if !decodeTicket(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tickets[id]
	switch {
	case !ok:
		apiError(w, http.StatusNotFound, "RecordNotFound", "Not found")
		return
	case t.Status == "closed" && (in.Comment != nil || len(in.CustomFields) > 0 || in.Status != ""):
		// Zendesk: a closed ticket "can't be updated in most cases" (its
		// tags, subject and priority may still be edited), nor reopened;
		// a comment goes to a follow-up (via_followup_source_id).
		invalid(w, "status", ClosedRefusal)
		return
	case in.SafeUpdate && (s.conflicts > 0 || in.UpdatedStamp != t.UpdatedAt.Format(time.RFC3339)):
		if s.conflicts > 0 {
			s.conflicts--
			t.UpdatedAt = s.tick(t.UpdatedAt)
		}
		apiError(w, http.StatusConflict, "UpdateConflict", "the ticket was updated after updated_stamp")
		return
	case in.Comment != nil && (in.Comment.Body == nil || strings.TrimSpace(*in.Comment.Body) == ""):
		invalid(w, "comment", "Comment: body cannot be blank")
		return
	case in.Comment != nil && len(t.Comments) >= MaxComments:
		invalid(w, "comment", fmt.Sprintf("a ticket takes at most %d comments", MaxComments))
		return
	case in.Tags != nil && !s.checkTags(w, *in.Tags), !s.checkFields(w, in.CustomFields):
		return
	}
	now := s.tick(t.UpdatedAt)
	if in.Comment != nil {
		s.addComment(t, *in.Comment.Body, in.Comment.Public == nil || *in.Comment.Public, AgentID, now)
		if t.Status == "new" {
			t.Status = "open"
		}
	}
	if in.Tags != nil {
		t.Tags = dedupe(*in.Tags)
	}
	for _, f := range in.CustomFields {
		t.CustomFields[f.ID] = f.Value
	}
	if in.Status != "" {
		t.Status = in.Status
	}
	t.UpdatedAt = now
	writeJSON(w, http.StatusOK, map[string]any{"ticket": s.ticketJSON(r, t)})
}

func (s *Server) showTicket(w http.ResponseWriter, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tickets[id]
	if !ok {
		apiError(w, http.StatusNotFound, "RecordNotFound", "Not found")
		return
	}
	out := s.ticketJSON(nil, t)
	// The recorded single-ticket answer is the newest recording and the
	// only one with custom_status_id (Zendesk's custom statuses came later).
	out["custom_status_id"] = 1
	writeJSON(w, http.StatusOK, map[string]any{"ticket": out})
}

func (s *Server) size(r *http.Request, param string) (int, error) {
	n := s.pageSize
	if n <= 0 {
		n = 100
	}
	if v := r.URL.Query().Get(param); v != "" {
		asked, err := strconv.Atoi(v)
		if err != nil || asked < 1 || asked > 100 {
			return 0, fmt.Errorf("%s=%q: a page holds 1 to 100 records", param, v)
		}
		n = min(n, asked)
	}
	return n, nil
}

// listTickets answers GET /api/v2/tickets (external_id filter) with offset
// pagination (page, per_page; next_page a URL or null).
func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) {
	per, err := s.size(r, "per_page")
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidPaginationParameter", err.Error())
		return
	}
	page := 1
	if v := r.URL.Query().Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			apiError(w, http.StatusBadRequest, "InvalidPaginationParameter", "page must be a positive number")
			return
		}
	}
	ext, filtered := r.URL.Query()["external_id"]
	s.mu.Lock()
	defer s.mu.Unlock()
	var match []*Ticket
	for _, id := range s.order {
		if t := s.tickets[id]; !filtered || t.ExternalID == ext[0] {
			match = append(match, t)
		}
	}
	from := min((page-1)*per, len(match))
	to := min(from+per, len(match))
	items := make([]any, 0, to-from)
	for _, t := range match[from:to] {
		items = append(items, s.ticketJSON(r, t))
	}
	var next, prev any
	if to < len(match) {
		q := url.Values{"page": {strconv.Itoa(page + 1)}, "per_page": {strconv.Itoa(per)}}
		if filtered {
			q.Set("external_id", ext[0])
		}
		next = s.baseURL(r) + "/api/v2/tickets.json?" + q.Encode()
	}
	if page > 1 {
		prev = s.baseURL(r) + "/api/v2/tickets.json?page=" + strconv.Itoa(page-1)
	}
	writeJSON(w, http.StatusOK, map[string]any{"tickets": items, "next_page": next, "previous_page": prev, "count": len(match)})
}

// listComments answers GET /api/v2/tickets/{id}/comments with cursor
// pagination (page[size], page[after]; meta.has_more, meta.after_cursor).
func (s *Server) listComments(w http.ResponseWriter, r *http.Request, id int64) {
	size, err := s.size(r, "page[size]")
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidPaginationParameter", err.Error())
		return
	}
	from := 0
	if c := r.URL.Query().Get("page[after]"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "c"))
		if err != nil || n < 0 || !strings.HasPrefix(c, "c") {
			apiError(w, http.StatusBadRequest, "InvalidPaginationParameter", "page[after] is not a cursor of this listing")
			return
		}
		from = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tickets[id]
	if !ok {
		apiError(w, http.StatusNotFound, "RecordNotFound", "Not found")
		return
	}
	from = min(from, len(t.Comments))
	to := min(from+size, len(t.Comments))
	items := make([]any, 0, to-from)
	for _, c := range t.Comments[from:to] {
		items = append(items, map[string]any{"id": c.ID, "type": "Comment", "body": c.Body, "html_body": "<p>" + htmlEscape(c.Body) + "</p>",
			"plain_body": c.Body, "public": c.Public, "author_id": c.AuthorID, "attachments": []any{}, "created_at": c.CreatedAt.Format(time.RFC3339)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"comments": items, "meta": map[string]any{
		"has_more": to < len(t.Comments), "after_cursor": "c" + strconv.Itoa(to), "before_cursor": "c" + strconv.Itoa(from)}})
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\n", "<br>").Replace(s)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	u := fromTemplate(userTemplate)
	u["id"], u["email"], u["name"], u["role"] = AgentID, s.opts.Email, "Reviewhub", "agent"
	u["url"] = s.baseURL(r) + "/api/v2/users/" + strconv.Itoa(AgentID) + ".json"
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
}

func (s *Server) ticketField(w http.ResponseWriter, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.fields {
		if f.id == id {
			out := fromTemplate(fieldTemplate)
			out["id"], out["type"], out["title"], out["raw_title"], out["active"] = f.id, f.typ, f.title, f.title, f.active
			writeJSON(w, http.StatusOK, map[string]any{"ticket_field": out})
			return
		}
	}
	apiError(w, http.StatusNotFound, "RecordNotFound", "Not found")
}

func (s *Server) baseURL(r *http.Request) string {
	if r == nil {
		return "https://" + s.opts.Subdomain + ".zendesk.com"
	}
	return "http://" + r.Host
}

func (s *Server) ticketJSON(r *http.Request, t *Ticket) map[string]any {
	out := fromTemplate(ticketTemplate)
	var ext any
	if t.ExternalID != "" {
		ext = t.ExternalID
	}
	fields := make([]any, 0, len(t.CustomFields))
	ids := make([]int64, 0, len(t.CustomFields))
	for id := range t.CustomFields {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		fields = append(fields, map[string]any{"id": id, "value": t.CustomFields[id]})
	}
	description := ""
	if len(t.Comments) > 0 {
		description = t.Comments[0].Body
	}
	if t.Via.Channel != "" {
		src := map[string]any{"from": map[string]any{}, "to": map[string]any{}, "rel": nil}
		for k, p := range map[string]*Party{"from": t.Via.From, "to": t.Via.To} {
			if p != nil {
				src[k] = map[string]any{"name": p.Name, "address": p.Address}
			}
		}
		out["via"] = map[string]any{"channel": t.Via.Channel, "source": src}
	}
	if t.AssigneeID != 0 {
		out["assignee_id"] = t.AssigneeID
	}
	if t.Recipient != "" {
		out["recipient"] = t.Recipient
	}
	for k, v := range map[string]any{
		"url": s.baseURL(r) + "/api/v2/tickets/" + strconv.FormatInt(t.ID, 10) + ".json", "id": t.ID, "external_id": ext,
		"created_at": t.CreatedAt.Format(time.RFC3339), "updated_at": t.UpdatedAt.Format(time.RFC3339),
		"subject": t.Subject, "raw_subject": t.Subject, "description": description, "status": t.Status,
		"requester_id": t.RequesterID, "submitter_id": AgentID, "tags": append([]string{}, t.Tags...), "custom_fields": fields,
		"fields": fields, "collaborator_ids": []int64{}, "follower_ids": []int64{},
	} {
		out[k] = v
	}
	return out
}

func (s *Server) auditJSON(t *Ticket, c Comment) map[string]any {
	a := fromTemplate(auditTemplate)
	a["id"], a["ticket_id"], a["author_id"], a["created_at"] = c.ID+1, t.ID, c.AuthorID, c.CreatedAt.Format(time.RFC3339)
	a["events"] = []any{map[string]any{"id": c.ID, "type": "Comment", "author_id": c.AuthorID, "body": c.Body,
		"html_body": "<p>" + htmlEscape(c.Body) + "</p>", "plain_body": c.Body, "public": c.Public, "attachments": []any{}, "audit_id": c.ID + 1}}
	return a
}

func fromTemplate(tmpl string) map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(tmpl), &m); err != nil {
		panic("fake zendesk: template: " + err.Error())
	}
	return m
}

// Event says what kind of comment Post writes: an agent's public comment
// by default.
type Event struct {
	Private bool // an internal note
	EndUser bool // written by an end user, not staff
}

// Answer is an agent answering ticket id publicly in Zendesk: the comment
// is recorded and the webhook is called with a signed
// zen:event-type:ticket.comment_added event. It returns the comment id
// once the webhook call returned 2xx.
func (s *Server) Answer(ctx context.Context, id int64, text string) (int64, error) {
	return s.Post(ctx, id, text, Event{})
}

// Post records a comment of kind ev on ticket id and sends its event.
func (s *Server) Post(ctx context.Context, id int64, text string, ev Event) (int64, error) {
	s.mu.Lock()
	t, ok := s.tickets[id]
	if !ok {
		s.mu.Unlock()
		return 0, fmt.Errorf("fake zendesk: no ticket %d", id)
	}
	author, name := int64(StaffID), StaffName
	if ev.EndUser {
		author, name = EndUserID, "A customer"
	}
	now := s.tick(t.UpdatedAt)
	c := s.addComment(t, text, !ev.Private, author, now)
	t.UpdatedAt = now
	body := s.eventBody(t, c, name, !ev.EndUser)
	s.mu.Unlock()
	return c.ID, s.send(ctx, body)
}

// eventBody is the event as Zendesk's webhook event types document it
// (ids as strings).
func (s *Server) eventBody(t *Ticket, c Comment, author string, staff bool) []byte {
	idText := func(n int64) string { return strconv.FormatInt(n, 10) }
	var eventID [16]byte
	_, _ = rand.Read(eventID[:])
	var ext any
	if t.ExternalID != "" {
		ext = t.ExternalID
	}
	ev := map[string]any{
		"type": zendesk.CommentAddedEvent, "account_id": AccountID, "id": hex.EncodeToString(eventID[:]),
		"time": c.CreatedAt.Format(time.RFC3339Nano), "zendesk_event_version": "2022-11-06", "subject": "zen:ticket:" + idText(t.ID),
		"detail": map[string]any{"actor_id": idText(c.AuthorID), "assignee_id": idText(StaffID), "brand_id": "1", "created_at": t.CreatedAt.Format(time.RFC3339),
			"custom_status": "1", "description": t.Comments[0].Body, "external_id": ext, "form_id": "1", "group_id": "1", "id": idText(t.ID),
			"is_public": true, "organization_id": nil, "priority": "NORMAL", "requester_id": idText(t.RequesterID), "status": strings.ToUpper(t.Status),
			"subject": t.Subject, "submitter_id": idText(AgentID), "tags": append([]string{}, t.Tags...), "type": "QUESTION",
			"updated_at": t.UpdatedAt.Format(time.RFC3339), "via": map[string]any{"channel": "web"}},
		"event": map[string]any{"comment": map[string]any{"id": idText(c.ID), "body": c.Body, "is_public": c.Public,
			"author": map[string]any{"id": idText(c.AuthorID), "is_staff": staff, "name": author}}},
	}
	b, _ := json.Marshal(ev)
	return b
}

type hook struct {
	body          []byte
	ts, signature string
}

// send posts a body to the webhook, signed now (with the clock skew).
func (s *Server) send(ctx context.Context, body []byte) error {
	s.mu.Lock()
	ts := time.Now().Add(s.clockSkew).UTC().Format(time.RFC3339)
	h := &hook{body: body, ts: ts, signature: zendesk.Sign(s.hookSecret, ts, body)}
	s.lastHook = h
	s.mu.Unlock()
	return s.deliver(ctx, h)
}

// Replay sends the last webhook request again, byte for byte (its
// original timestamp and signature), as a retry or a replay would.
func (s *Server) Replay(ctx context.Context) error {
	s.mu.Lock()
	h := s.lastHook
	s.mu.Unlock()
	if h == nil {
		return fmt.Errorf("fake zendesk: no webhook was sent yet")
	}
	return s.deliver(ctx, h)
}

// SendSigned posts body to the webhook signed with the webhook's secret
// now, as Zendesk would send any event.
func (s *Server) SendSigned(ctx context.Context, body []byte) error { return s.send(ctx, body) }

func (s *Server) deliver(ctx context.Context, h *hook) error {
	s.mu.Lock()
	u := s.hookURL
	s.mu.Unlock()
	if u == "" {
		return fmt.Errorf("fake zendesk: no webhook is set up")
	}
	return fakehook.Post(ctx, "fake zendesk", u, http.Header{"Content-Type": {"application/json"},
		zendesk.SignatureHeader: {h.signature}, zendesk.SignatureTimestampHeader: {h.ts}}, h.body)
}
