// Package testbackend is a small in-memory "store + helpdesk" HTTP service
// that the e2e test plugins talk to. Tests seed reviews and read tickets and
// replies through its Go API; the plugins are real processes that reach it
// over HTTP, so killing a plugin or the hub loses nothing here.
package testbackend

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Review as the test store lists it.
type Review struct {
	ID        string    `json:"id"`
	App       string    `json:"app"`
	Author    string    `json:"author"`
	Rating    int       `json:"rating"`
	Text      string    `json:"text"`
	Country   string    `json:"country"`
	Language  string    `json:"language"`
	UpdatedAt time.Time `json:"updated_at"`
	Seq       int64     `json:"seq"`
	Reply     string    `json:"reply,omitempty"`
}

// Ticket in the test helpdesk.
type Ticket struct {
	ID       string   `json:"id"`
	ReviewID string   `json:"review_id"`
	Messages []string `json:"messages"`
	Notes    []string `json:"notes"`
	Tags     []string `json:"tags"`
	Keys     []string `json:"keys"`
}

// Backend is the service.
type Backend struct {
	mu          sync.Mutex
	seq         int64
	reviews     map[string]*Review
	tickets     map[string]*Ticket
	replyPosts  map[string]int // review id → times a reply was posted
	ticketPosts int
	failNext    int
	failTickets bool
	failReplies bool
	reject      string
	rateLimited map[string]time.Duration // app → Retry-After of its listing
	listCalls   map[string]int
	listTimes   map[string][]time.Time // app → when its listings arrived
	webhookURL  string                 // where the test helpdesk says it sends webhooks
	readOnly    map[string]bool        // apps whose store account cannot reply
	writes      int                    // calls that change something
	revoked     map[string]bool        // apps whose store credentials are refused (401)
	alerts      []Alert
}

// Alert is a health alert the test helpdesk posted.
type Alert struct {
	Key       string `json:"key"`
	App       string `json:"app"`
	Health    string `json:"health"`
	Recovered bool   `json:"recovered"`
	Title     string `json:"title"`
	Text      string `json:"text"`
}

// New returns an empty backend.
func New() *Backend {
	return &Backend{reviews: map[string]*Review{}, tickets: map[string]*Ticket{}, replyPosts: map[string]int{},
		rateLimited: map[string]time.Duration{}, listCalls: map[string]int{}, listTimes: map[string][]time.Time{}, readOnly: map[string]bool{},
		revoked: map[string]bool{}}
}

// PutReview adds or edits a review (it becomes newest in listing order).
func (b *Backend) PutReview(r Review) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	r.Seq = b.seq
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = time.Now().UTC()
	}
	if old, ok := b.reviews[r.ID]; ok && r.Reply == "" {
		r.Reply = old.Reply
	}
	b.reviews[r.ID] = &r
}

// FailNext makes the next n API calls answer 503.
func (b *Backend) FailNext(n int) {
	b.mu.Lock()
	b.failNext = n
	b.mu.Unlock()
}

// FailTickets makes every ticket call answer 503 while on (the helpdesk is down).
func (b *Backend) FailTickets(on bool) {
	b.mu.Lock()
	b.failTickets = on
	b.mu.Unlock()
}

// FailReplies makes every reply post answer 503 while on (the store
// fails replies, not listings).
func (b *Backend) FailReplies(on bool) {
	b.mu.Lock()
	b.failReplies = on
	b.mu.Unlock()
}

// Revoke makes every listing of app's reviews answer 401, as a store does
// for a revoked key (false restores it).
func (b *Backend) Revoke(app string, on bool) {
	b.mu.Lock()
	b.revoked[app] = on
	b.mu.Unlock()
}

// Alerts returns the health alerts posted, in order (one per key).
func (b *Backend) Alerts() []Alert {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Alert(nil), b.alerts...)
}

func (b *Backend) postAlert(w http.ResponseWriter, r *http.Request) {
	var a Alert
	if err := json.NewDecoder(r.Body).Decode(&a); err != nil || a.Key == "" {
		writeJSON(w, 400, map[string]string{"error": "an alert needs a key"})
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, old := range b.alerts {
		if old.Key == a.Key {
			writeJSON(w, 200, old) // already posted
			return
		}
	}
	b.alerts = append(b.alerts, a)
	writeJSON(w, 201, a)
}

// RateLimit makes listing app's reviews answer 429 with Retry-After (0 stops).
func (b *Backend) RateLimit(app string, retryAfter time.Duration) {
	b.mu.Lock()
	b.rateLimited[app] = retryAfter
	b.mu.Unlock()
}

// ListCalls is how many times app's reviews were listed (429s included).
func (b *Backend) ListCalls(app string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.listCalls[app]
}

// ListTimes returns when each listing of app's reviews arrived (its first
// pages, 429s included), by app.
func (b *Backend) ListTimes() map[string][]time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string][]time.Time, len(b.listTimes))
	for app, ts := range b.listTimes {
		out[app] = append([]time.Time(nil), ts...)
	}
	return out
}

// Reject makes ticket creation answer 400 for texts containing s ("" stops).
func (b *Backend) Reject(s string) {
	b.mu.Lock()
	b.reject = s
	b.mu.Unlock()
}

// Tickets returns copies of all tickets.
func (b *Backend) Tickets() []Ticket {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Ticket, 0, len(b.tickets))
	for _, t := range b.tickets {
		c := *t
		c.Messages = append([]string(nil), t.Messages...)
		c.Notes = append([]string(nil), t.Notes...)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// TicketCreates is how many tickets were created in all.
func (b *Backend) TicketCreates() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ticketPosts
}

// ReplyPosts returns how many times a reply was posted per review, and the
// current reply texts.
func (b *Backend) ReplyPosts() (map[string]int, map[string]string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	posts := map[string]int{}
	texts := map[string]string{}
	for id, n := range b.replyPosts {
		posts[id] = n
		texts[id] = b.reviews[id].Reply
	}
	return posts, texts
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ServeHTTP implements the API the test plugins call.
func (b *Backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	failReply := b.failReplies && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/reply")
	if b.failNext > 0 || (b.failTickets && strings.HasPrefix(r.URL.Path, "/tickets")) || failReply {
		if b.failNext > 0 {
			b.failNext--
		}
		b.mu.Unlock()
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	if r.Method != http.MethodGet {
		b.writes++
	}
	b.mu.Unlock()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /helpdesk/webhook", b.getWebhookURL)
	mux.HandleFunc("GET /account", b.getAccount)
	mux.HandleFunc("GET /reviews", b.listReviews)
	mux.HandleFunc("GET /reviews/{id}", b.getReview)
	mux.HandleFunc("POST /reviews/{id}/reply", b.postReply)
	mux.HandleFunc("GET /tickets", b.findTicket)
	mux.HandleFunc("POST /tickets", b.createTicket)
	mux.HandleFunc("POST /tickets/{id}/messages", b.addMessage)
	mux.HandleFunc("POST /tickets/{id}/notes", b.addNote)
	mux.HandleFunc("POST /alerts", b.postAlert)
	mux.ServeHTTP(w, r)
}

// listReviews lists reviews of ?app with seq > ?after, oldest first, ?limit per page.
func (b *Backend) listReviews(w http.ResponseWriter, r *http.Request) {
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 {
		limit = 50
	}
	app := r.URL.Query().Get("app")
	b.mu.Lock()
	b.listCalls[app]++
	if r.URL.Query().Get("next") == "" {
		b.listTimes[app] = append(b.listTimes[app], time.Now())
	}
	if b.revoked[app] {
		b.mu.Unlock()
		http.Error(w, "the key was revoked", http.StatusUnauthorized)
		return
	}
	if ra := b.rateLimited[app]; ra > 0 {
		b.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(int(ra.Seconds())))
		http.Error(w, "rate limited", http.StatusTooManyRequests)
		return
	}
	var out []Review
	for _, rv := range b.reviews {
		if rv.App == app && rv.Seq > after {
			out = append(out, *rv)
		}
	}
	b.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	writeJSON(w, 200, map[string]any{"reviews": out, "more": more})
}

func (b *Backend) getReview(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	rv, ok := b.reviews[r.PathValue("id")]
	if !ok {
		writeJSON(w, 404, map[string]string{"error": "no such review"})
		return
	}
	writeJSON(w, 200, rv)
}

func (b *Backend) postReply(w http.ResponseWriter, r *http.Request) {
	var body struct{ Text string }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeJSON(w, 400, map[string]string{"error": err.Error()})
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	rv, ok := b.reviews[r.PathValue("id")]
	if !ok {
		writeJSON(w, 404, map[string]string{"error": "no such review"})
		return
	}
	rv.Reply = body.Text
	b.replyPosts[rv.ID]++
	writeJSON(w, 200, map[string]any{"id": "reply-" + rv.ID, "text": rv.Reply})
}

func (b *Backend) findTicket(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range b.tickets {
		if t.ReviewID == r.URL.Query().Get("review_id") {
			writeJSON(w, 200, t)
			return
		}
	}
	writeJSON(w, 404, map[string]string{"error": "no ticket"})
}

func (b *Backend) createTicket(w http.ResponseWriter, r *http.Request) {
	var t Ticket
	if err := json.NewDecoder(r.Body).Decode(&t); err != nil {
		writeJSON(w, 400, map[string]string{"error": err.Error()})
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range t.Messages {
		if b.reject != "" && strings.Contains(m, b.reject) {
			writeJSON(w, 400, map[string]string{"error": "validation failed: the text contains " + b.reject})
			return
		}
	}
	b.ticketPosts++
	t.ID = fmt.Sprintf("T%d", b.ticketPosts)
	b.tickets[t.ID] = &t
	writeJSON(w, 201, t)
}

func (b *Backend) addMessage(w http.ResponseWriter, r *http.Request) {
	var body struct{ Text, Key string }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeJSON(w, 400, map[string]string{"error": err.Error()})
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.tickets[r.PathValue("id")]
	if !ok {
		writeJSON(w, 404, map[string]string{"error": "no ticket"})
		return
	}
	for _, k := range t.Keys {
		if k == body.Key {
			writeJSON(w, 200, t) // already added
			return
		}
	}
	t.Messages = append(t.Messages, body.Text)
	t.Keys = append(t.Keys, body.Key)
	writeJSON(w, 200, t)
}

func (b *Backend) addNote(w http.ResponseWriter, r *http.Request) {
	var body struct{ Text string }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeJSON(w, 400, map[string]string{"error": err.Error()})
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.tickets[r.PathValue("id")]
	if !ok {
		writeJSON(w, 404, map[string]string{"error": "no ticket"})
		return
	}
	t.Notes = append(t.Notes, body.Text)
	writeJSON(w, 200, t)
}

// SetWebhookURL sets where the test helpdesk says it sends webhooks ("": it does not say).
func (b *Backend) SetWebhookURL(u string) {
	b.mu.Lock()
	b.webhookURL = u
	b.mu.Unlock()
}

// SetReadOnly makes the store account of app unable to reply (as the test
// store reports it; replies are not refused by the backend).
func (b *Backend) SetReadOnly(app string, on bool) {
	b.mu.Lock()
	b.readOnly[app] = on
	b.mu.Unlock()
}

// Writes is how many calls that change something (any method but GET) the
// backend received.
func (b *Backend) Writes() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.writes
}

func (b *Backend) getWebhookURL(w http.ResponseWriter, _ *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	writeJSON(w, 200, map[string]string{"url": b.webhookURL})
}

// getAccount answers what the store account of ?app may do.
func (b *Backend) getAccount(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	writeJSON(w, 200, map[string]any{"read_only": b.readOnly[r.URL.Query().Get("app")], "quota_left": 1000})
}
