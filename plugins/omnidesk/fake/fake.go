// Package fake is a fake Omnidesk written from its public API documentation
// (see ../README.md): the same paths under /api, HTTP basic auth with a
// staff e-mail and API key, JSON bodies wrapped in "case" / "message" /
// "label", paged lists with "total_count", 400/401/404 error bodies, 429 with
// Retry-After, and custom-channel webhooks sent when a test "answers" a case.
package fake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest/faults"
)

// Options of the fake account.
type Options struct{ Subdomain, StaffEmail, APIKey string }

// Message of a case as the fake stores it (notes included).
type Message struct {
	ID        int64
	Content   string
	Staff     string // set for staff answers
	Note      bool
	CreatedAt time.Time
}

// Case as the fake stores it.
type Case struct {
	ID           string
	Number       string
	Subject      string
	UserCustomID string
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
	userName     string
	channel      string
	labels       []int64
	fields       map[string]any
	msgs         []Message
}

// Channel and field the fake account has.
const (
	ChannelID   = 101
	ChannelCode = "cch101"
	FieldID     = 6001
	FieldKey    = "cf_6001"
	StaffName   = "Sam Support"
)

// Server is the fake. Safe for concurrent use.
type Server struct {
	opts Options

	mu         sync.Mutex
	cases      map[int64]*caseRec
	order      []int64
	byUser     map[string][]int64
	byField    map[string]int64 // review id in the case field → case
	labels     []labelRec
	nextID     int64
	webhookURL string
	hc         *http.Client
	faults.Faults
}

type labelRec struct {
	id    int64
	title string
}

// New returns an empty fake account with one custom channel and one case field.
func New(opts Options) *Server {
	return &Server{opts: opts, cases: map[int64]*caseRec{}, byUser: map[string][]int64{}, byField: map[string]int64{},
		nextID: 1000, hc: &http.Client{Timeout: 30 * time.Second}}
}

// Settings are working plugin settings for this fake served at baseURL.
func (s *Server) Settings(baseURL, webhookSecret string) sdk.Settings {
	return sdk.Settings{"subdomain": s.opts.Subdomain, "staff_email": s.opts.StaffEmail, "api_key": s.opts.APIKey,
		"channel": ChannelCode, "case_field": FieldKey, "webhook_secret": webhookSecret, "base_url": baseURL}
}

// SetWebhookURL sets the custom channel's webhook URL.
func (s *Server) SetWebhookURL(u string) {
	s.mu.Lock()
	s.webhookURL = u
	s.mu.Unlock()
}

// DeleteLabels deletes every label (as an administrator may).
func (s *Server) DeleteLabels() {
	s.mu.Lock()
	s.labels = nil
	s.mu.Unlock()
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
	id, ok := s.byField[reviewID]
	if !ok {
		return Case{}, false
	}
	return s.snapshot(s.cases[id]), true
}

func (s *Server) snapshot(c *caseRec) Case {
	out := Case{ID: strconv.FormatInt(c.id, 10), Number: caseNumber(c.id), Subject: c.subject, UserCustomID: c.userCustomID,
		UserName: c.userName, Channel: c.channel, CustomFields: map[string]any{}}
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
	return strconv.FormatInt(id, 10)
}

func caseNumber(id int64) string { return fmt.Sprintf("%03d-%06d", id%1000, id) }

// Answer is a staff member answering case caseID in Omnidesk: the answer is
// recorded and the custom channel's webhook is called. It returns the
// message id once the webhook call returned 2xx.
func (s *Server) Answer(ctx context.Context, caseID, text string) (string, error) {
	id, _ := strconv.ParseInt(caseID, 10, 64)
	s.mu.Lock()
	c, ok := s.cases[id]
	if !ok {
		s.mu.Unlock()
		return "", fmt.Errorf("fake omnidesk: no case %s", caseID)
	}
	s.nextID++
	m := Message{ID: s.nextID, Content: text, Staff: StaffName, CreatedAt: time.Now().UTC()}
	c.msgs = append(c.msgs, m)
	hook := s.webhookURL
	body, _ := json.Marshal(map[string]any{
		"event": "new_staff_message", "case_id": c.id, "case_number": caseNumber(c.id), "channel": c.channel,
		"user_custom_id": c.userCustomID,
		"message": map[string]any{"message_id": m.ID, "content": text, "staff_id": 1, "staff_full_name": StaffName,
			"created_at": m.CreatedAt.Format(time.RFC3339)},
	})
	s.mu.Unlock()
	if hook == "" {
		return "", fmt.Errorf("fake omnidesk: the custom channel has no webhook URL")
	}
	return strconv.FormatInt(m.ID, 10), s.PostWebhook(ctx, hook, body)
}

// PostWebhook posts body to url as the custom channel does.
func (s *Server) PostWebhook(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return fmt.Errorf("fake omnidesk: webhook: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("fake omnidesk: webhook answered %d", resp.StatusCode)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "description": desc})
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.Next(); ok {
		if f.RateLimited {
			w.Header().Set("Retry-After", strconv.Itoa(int(f.RetryAfter.Seconds())))
			apiError(w, http.StatusTooManyRequests, "too_many_requests", "API rate limit exceeded")
			return
		}
		apiError(w, f.Status, "server_error", "temporary failure")
		return
	}
	user, key, ok := r.BasicAuth()
	if !ok || !strings.EqualFold(user, s.opts.StaffEmail) || key != s.opts.APIKey {
		apiError(w, http.StatusUnauthorized, "wrong_api_key", "Invalid staff email or API key")
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/staff.json", s.staff)
	mux.HandleFunc("GET /api/custom_channels.json", s.channels)
	mux.HandleFunc("GET /api/custom_fields.json", s.fields)
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
		apiError(w, http.StatusNotFound, "not_found", "Unknown API method "+r.Method+" "+r.URL.Path)
	})
	mux.ServeHTTP(w, r)
}

// page reads page/limit as Omnidesk does (page 1–500, limit 1–100).
func page(w http.ResponseWriter, r *http.Request) (from, limit int, ok bool) {
	p, limit := 1, 100
	if v := r.URL.Query().Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			apiError(w, http.StatusBadRequest, "incorrect_page", "page must be 1..500")
			return 0, 0, false
		}
		p = n
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			apiError(w, http.StatusBadRequest, "incorrect_limit", "limit must be 1..100")
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

func (s *Server) staff(w http.ResponseWriter, r *http.Request) {
	from, limit, ok := page(w, r)
	if !ok {
		return
	}
	all := []map[string]any{
		{"staff_id": 1, "staff_email": s.opts.StaffEmail, "staff_full_name": StaffName, "active": true},
		{"staff_id": 2, "staff_email": "former@" + s.opts.Subdomain + ".example", "staff_full_name": "Former Staff", "active": false},
	}
	writeList(w, "staff", pageOf(all, from, limit), len(all))
}

func (s *Server) channels(w http.ResponseWriter, r *http.Request) {
	all := []map[string]any{{"channel_id": ChannelID, "title": "App reviews", "channel_code": ChannelCode, "active": true}}
	writeList(w, "custom_channel", pageOf(all, 0, 100), len(all))
}

func (s *Server) fields(w http.ResponseWriter, r *http.Request) {
	all := []map[string]any{
		{"field_id": FieldID, "title": "App reviews", "field_type": "text", "field_level": "case", "active": true},
		{"field_id": 6002, "title": "Customer tier", "field_type": "select", "field_level": "user", "active": true},
	}
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
		apiError(w, http.StatusBadRequest, "incorrect_json", "the request body is not JSON: "+err.Error())
		return nil, false
	}
	var inner map[string]any
	if err := json.Unmarshal(body[key], &inner); err != nil || inner == nil {
		apiError(w, http.StatusBadRequest, "incorrect_data", "the body must wrap the data in \""+key+"\"")
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
		apiError(w, http.StatusBadRequest, "label_title_missing", "label_title is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.labels {
		if strings.EqualFold(l.title, title) {
			apiError(w, http.StatusBadRequest, "label_exists", "a label with this title exists")
			return
		}
	}
	s.nextID++
	s.labels = append(s.labels, labelRec{s.nextID, title})
	writeJSON(w, http.StatusCreated, map[string]any{"label": map[string]any{"label_id": s.nextID, "label_title": title}})
}

func (s *Server) caseJSON(c *caseRec) map[string]any {
	labels := c.labels
	if labels == nil {
		labels = []int64{}
	}
	return map[string]any{"case_id": c.id, "case_number": caseNumber(c.id), "subject": c.subject, "user_id": c.id + 500000,
		"channel": c.channel, "status": "open", "labels": labels, "custom_fields": c.fields}
}

func queryList(r *http.Request, key string) []string {
	q := r.URL.Query()
	return append(q[key], q[key+"[]"]...)
}

func (s *Server) listCases(w http.ResponseWriter, r *http.Request) {
	from, limit, ok := page(w, r)
	if !ok {
		return
	}
	users, channels := queryList(r, "user_custom_id"), queryList(r, "channel")
	s.mu.Lock()
	var ids []int64
	if len(users) > 0 {
		for _, u := range users {
			ids = append(ids, s.byUser[u]...)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	} else {
		ids = s.order
	}
	var all []map[string]any
	for _, id := range ids {
		c := s.cases[id]
		if len(channels) > 0 && !contains(channels, c.channel) {
			continue
		}
		all = append(all, s.caseJSON(c))
	}
	s.mu.Unlock()
	writeList(w, "case", pageOf(all, from, limit), len(all))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
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

func (s *Server) createCase(w http.ResponseWriter, r *http.Request) {
	in, ok := decodeBody(w, r, "case")
	if !ok {
		return
	}
	str := func(k string) string { v, _ := in[k].(string); return v }
	for _, k := range []string{"subject", "content", "channel"} {
		if strings.TrimSpace(str(k)) == "" {
			apiError(w, http.StatusBadRequest, k+"_missing", k+" is required")
			return
		}
	}
	if str("user_custom_id") == "" && str("user_email") == "" && str("user_phone") == "" {
		apiError(w, http.StatusBadRequest, "user_missing", "one of user_email, user_phone or user_custom_id is required")
		return
	}
	if str("user_custom_id") != "" && str("channel") != ChannelCode {
		apiError(w, http.StatusBadRequest, "incorrect_channel", "custom channel "+str("channel")+" does not exist")
		return
	}
	labels, ok := int64s(in["labels"])
	if !ok {
		apiError(w, http.StatusBadRequest, "incorrect_labels", "labels must be an array of label ids")
		return
	}
	fields := map[string]any{}
	if cf, ok := in["custom_fields"].(map[string]any); ok {
		for k, v := range cf {
			if k != FieldKey {
				apiError(w, http.StatusBadRequest, "incorrect_custom_field", "custom field "+k+" does not exist or is not a case field")
				return
			}
			fields[k] = v
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range labels {
		if s.labelTitle(l) == strconv.FormatInt(l, 10) {
			apiError(w, http.StatusBadRequest, "incorrect_labels", fmt.Sprintf("label %d does not exist", l))
			return
		}
	}
	s.nextID++
	c := &caseRec{id: s.nextID, subject: str("subject"), userCustomID: str("user_custom_id"), userName: str("user_full_name"),
		channel: str("channel"), labels: labels, fields: fields}
	s.nextID++
	c.msgs = []Message{{ID: s.nextID, Content: str("content"), CreatedAt: time.Now().UTC()}}
	s.cases[c.id] = c
	s.order = append(s.order, c.id)
	s.byUser[c.userCustomID] = append(s.byUser[c.userCustomID], c.id)
	if v, ok := fields[FieldKey]; ok {
		s.byField[fmt.Sprint(v)] = c.id
	}
	writeJSON(w, http.StatusCreated, map[string]any{"case": s.caseJSON(c)})
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
	apiError(w, http.StatusNotFound, "case_not_found", "Case "+raw+" not found")
	return nil, false
}

func (s *Server) getCase(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.caseFor(w, r); ok {
		writeJSON(w, http.StatusOK, map[string]any{"case": s.caseJSON(c)})
	}
}

func (s *Server) updateCase(w http.ResponseWriter, r *http.Request) {
	in, ok := decodeBody(w, r, "case")
	if !ok {
		return
	}
	labels, ok := int64s(in["labels"])
	if !ok {
		apiError(w, http.StatusBadRequest, "incorrect_labels", "labels must be an array of label ids")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.caseFor(w, r)
	if !ok {
		return
	}
	if _, set := in["labels"]; set {
		c.labels = labels
	}
	if subj, ok := in["subject"].(string); ok && subj != "" {
		c.subject = subj
	}
	writeJSON(w, http.StatusOK, map[string]any{"case": s.caseJSON(c)})
}

func messageJSON(m Message) map[string]any {
	out := map[string]any{"message_id": m.ID, "content": m.Content, "note": m.Note, "created_at": m.CreatedAt.Format(time.RFC1123Z)}
	if m.Staff != "" {
		out["staff_id"] = 1
	} else {
		out["user_id"] = 1
	}
	return out
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
		apiError(w, http.StatusBadRequest, "content_missing", "content is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.caseFor(w, r)
	if !ok {
		return
	}
	s.nextID++
	m := Message{ID: s.nextID, Content: content, Note: note, CreatedAt: time.Now().UTC()}
	c.msgs = append(c.msgs, m)
	writeJSON(w, http.StatusCreated, map[string]any{"message": messageJSON(m)})
}
