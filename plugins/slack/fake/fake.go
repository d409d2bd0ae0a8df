// Package fake is a fake Slack written from Slack's published API
// documentation (the sources are in ../README.md and each example in
// ../testdata/vendor): incoming webhooks under /services/… answering 200
// "ok" or an error status with a short error string, and the Web API under
// /api/ (chat.postMessage with thread_ts, auth.test, conversations.info)
// answering {"ok": true, …} or {"ok": false, "error": "code"} with status
// 200, a bearer token, Block Kit's limits, and 429 with Retry-After.
package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest/faults"
)

// Limits the fake enforces (Slack's documented ones).
const (
	SectionTextMax = 3000
	HeaderTextMax  = 150
	MaxBlocks      = 50
	TextMax        = 40000 // chat.postMessage's text: msg_too_long beyond (GUESS: Slack documents truncation at 40,000)
	ContextMax     = 10
)

// Message is a message the fake holds.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string
	Text     string
	Blocks   []Block
	ByHook   bool
}

// Block is a Block Kit block as the fake reads it.
type Block struct {
	Type     string    `json:"type"`
	Text     *TextObj  `json:"text,omitempty"`
	Elements []TextObj `json:"elements,omitempty"`
}

// TextObj is a text object.
type TextObj struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type channel struct {
	id, name         string
	archived, member bool
}

// Server is the fake. Its zero value is not usable: New.
type Server struct {
	faults.Faults
	mu       sync.Mutex
	token    string
	hookPath string
	hookChan string
	channels map[string]*channel
	msgs     []Message
	seq      int
}

// Channel is the id of the channel the bot and the webhook post to.
const Channel = "C0REVIEWS1"

// New makes a workspace with one channel (Channel, named "reviews", the bot
// a member), a bot token and an incoming webhook posting to it.
func New() *Server {
	return &Server{token: "xoxb-1234-5678-fake", hookPath: "/services/T0FAKE/B0FAKE/fakeSecret123",
		hookChan: Channel, channels: map[string]*channel{Channel: {id: Channel, name: "reviews", member: true}}}
}

// BotSettings are the plugin's settings of a bot-token account on the fake at base.
func (s *Server) BotSettings(base string) sdk.Settings {
	return sdk.Settings{"bot_token": s.token, "channel": Channel, "base_url": base + "/api"}
}

// WebhookSettings are the plugin's settings of an incoming webhook on the fake at base.
func (s *Server) WebhookSettings(base string) sdk.Settings {
	return sdk.Settings{"webhook_url": base + s.hookPath}
}

// Token is the bot token; HookPath the incoming webhook's path.
func (s *Server) Token() string    { return s.token }
func (s *Server) HookPath() string { return s.hookPath }

// AddChannel adds a channel with the bot a member.
func (s *Server) AddChannel(id, name string) {
	s.mu.Lock()
	s.channels[id] = &channel{id: id, name: name, member: true}
	s.mu.Unlock()
}

// Archive archives a channel; SetMember puts the bot in or out of it.
func (s *Server) Archive(id string) { s.mu.Lock(); s.channels[id].archived = true; s.mu.Unlock() }

// SetMember puts the bot in or out of channel id.
func (s *Server) SetMember(id string, member bool) {
	s.mu.Lock()
	s.channels[id].member = member
	s.mu.Unlock()
}

// Messages are every message posted, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.Next(); ok {
		if f.RateLimited {
			// https://docs.slack.dev/apis/web-api/rate-limits: 429 and Retry-After.
			w.Header().Set("Retry-After", strconv.Itoa(int(f.RetryAfter.Seconds())))
			if strings.HasPrefix(r.URL.Path, "/api/") {
				apiJSON(w, http.StatusTooManyRequests, map[string]any{"ok": false, "error": "ratelimited"})
			} else {
				http.Error(w, "rate_limited", http.StatusTooManyRequests)
			}
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			apiJSON(w, f.Status, map[string]any{"ok": false, "error": "injected_fault"})
		} else {
			http.Error(w, "injected_fault", f.Status)
		}
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method_not_allowed", http.StatusMethodNotAllowed)
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/services/"):
		s.webhook(w, r)
	case r.URL.Path == "/api/chat.postMessage":
		s.postMessage(w, r)
	case r.URL.Path == "/api/auth.test":
		if s.authed(w, r) {
			apiJSON(w, 200, map[string]any{"ok": true, "url": "https://fake-workspace.slack.com/", "team": "Fake Workspace",
				"user": "reviewhub", "team_id": "T0FAKE", "user_id": "U0FAKEBOT", "bot_id": "B0FAKEBOT"})
		}
	case r.URL.Path == "/api/conversations.info":
		s.conversationsInfo(w, r)
	case strings.HasPrefix(r.URL.Path, "/api/"):
		apiJSON(w, 200, map[string]any{"ok": false, "error": "unknown_method"})
	default:
		http.NotFound(w, r)
	}
}

func apiJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, code string) {
	apiJSON(w, 200, map[string]any{"ok": false, "error": code})
}

func (s *Server) authed(w http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	switch {
	case auth == "" || !ok:
		apiError(w, "not_authed")
		return false
	case tok != s.token:
		apiError(w, "invalid_auth")
		return false
	}
	return true
}

// webhook is an incoming webhook: 200 "ok", or a status with the error
// (https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks#handling_errors).
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != s.hookPath {
		http.Error(w, "no_service", http.StatusNotFound)
		return
	}
	var m struct {
		Text     string  `json:"text"`
		Blocks   []Block `json:"blocks"`
		Channel  string  `json:"channel"`
		ThreadTS string  `json:"thread_ts"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(body, &m); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	if m.Text == "" && len(m.Blocks) == 0 {
		http.Error(w, "no_text", http.StatusBadRequest)
		return
	}
	if problem := checkBlocks(m.Blocks); problem != "" {
		http.Error(w, "invalid_blocks", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[s.hookChan]
	if ch.archived {
		http.Error(w, "channel_is_archived", http.StatusGone)
		return
	}
	// A webhook posts to its own channel, never into a thread (GUESS: the
	// documentation names no thread_ts for webhooks; the fake ignores it).
	s.msgs = append(s.msgs, Message{Channel: ch.id, TS: s.nextTS(), Text: m.Text, Blocks: m.Blocks, ByHook: true})
	w.Header().Set("Content-Type", "text/html")
	_, _ = io.WriteString(w, "ok")
}

func (s *Server) nextTS() string {
	s.seq++
	return fmt.Sprintf("%d.%06d", 1765000000+s.seq, s.seq)
}

// checkBlocks applies Block Kit's limits; "" when the blocks are fine.
func checkBlocks(bs []Block) string {
	if len(bs) > MaxBlocks {
		return "more than 50 blocks"
	}
	for i, b := range bs {
		switch b.Type {
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" || b.Text.Text == "" || utf8.RuneCountInString(b.Text.Text) > HeaderTextMax {
				return fmt.Sprintf("block %d: a header's text is plain_text of 1 to 150 characters", i)
			}
		case "section":
			if b.Text == nil || (b.Text.Type != "plain_text" && b.Text.Type != "mrkdwn") || b.Text.Text == "" ||
				utf8.RuneCountInString(b.Text.Text) > SectionTextMax {
				return fmt.Sprintf("block %d: a section's text is 1 to 3000 characters", i)
			}
		case "context":
			if len(b.Elements) == 0 || len(b.Elements) > ContextMax {
				return fmt.Sprintf("block %d: a context holds 1 to 10 elements", i)
			}
			for _, e := range b.Elements {
				if (e.Type != "plain_text" && e.Type != "mrkdwn") || e.Text == "" {
					return fmt.Sprintf("block %d: a context element is a text object", i)
				}
			}
		case "divider", "actions", "image", "rich_text":
		default:
			return fmt.Sprintf("block %d: unknown type %q", i, b.Type)
		}
	}
	return ""
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	if !s.authed(w, r) {
		return
	}
	var m struct {
		Channel  string  `json:"channel"`
		Text     string  `json:"text"`
		Blocks   []Block `json:"blocks"`
		ThreadTS string  `json:"thread_ts"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		if err := json.Unmarshal(body, &m); err != nil {
			apiError(w, "invalid_json")
			return
		}
	case "application/x-www-form-urlencoded":
		f, err := url.ParseQuery(string(body))
		if err != nil {
			apiError(w, "invalid_form_data")
			return
		}
		m.Channel, m.Text, m.ThreadTS = f.Get("channel"), f.Get("text"), f.Get("thread_ts")
		if b := f.Get("blocks"); b != "" && json.Unmarshal([]byte(b), &m.Blocks) != nil {
			apiError(w, "invalid_blocks_format")
			return
		}
	default:
		apiError(w, "invalid_post_type")
		return
	}
	if m.Text == "" && len(m.Blocks) == 0 {
		apiError(w, "no_text")
		return
	}
	if utf8.RuneCountInString(m.Text) > TextMax {
		apiError(w, "msg_too_long")
		return
	}
	if checkBlocks(m.Blocks) != "" {
		apiError(w, "invalid_blocks")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[m.Channel]
	switch {
	case !ok:
		apiError(w, "channel_not_found")
		return
	case ch.archived:
		apiError(w, "is_archived")
		return
	case !ch.member:
		apiError(w, "not_in_channel")
		return
	}
	if m.ThreadTS != "" {
		found := false
		for _, old := range s.msgs {
			found = found || (old.Channel == ch.id && old.TS == m.ThreadTS && old.ThreadTS == "")
		}
		if !found {
			// GUESS: chat.postMessage's page lists no error for a
			// thread_ts of no message; the fake refuses it.
			apiError(w, "thread_not_found")
			return
		}
	}
	msg := Message{Channel: ch.id, TS: s.nextTS(), ThreadTS: m.ThreadTS, Text: m.Text, Blocks: m.Blocks}
	s.msgs = append(s.msgs, msg)
	echo := map[string]any{"text": m.Text, "username": "reviewhub", "bot_id": "B0FAKEBOT", "type": "message",
		"subtype": "bot_message", "ts": msg.TS}
	if len(m.Blocks) > 0 {
		echo["blocks"] = m.Blocks
	}
	if m.ThreadTS != "" {
		echo["thread_ts"] = m.ThreadTS
	}
	apiJSON(w, 200, map[string]any{"ok": true, "channel": ch.id, "ts": msg.TS, "message": echo})
}

func (s *Server) conversationsInfo(w http.ResponseWriter, r *http.Request) {
	if !s.authed(w, r) {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	f, _ := url.ParseQuery(string(body))
	id := f.Get("channel")
	if id == "" {
		id = r.URL.Query().Get("channel")
	}
	s.mu.Lock()
	ch, ok := s.channels[id]
	var c channel
	if ok {
		c = *ch
	}
	s.mu.Unlock()
	if !ok {
		apiError(w, "channel_not_found")
		return
	}
	apiJSON(w, 200, map[string]any{"ok": true, "channel": map[string]any{"id": c.id, "name": c.name, "is_channel": true,
		"is_archived": c.archived, "is_member": c.member, "is_private": false}})
}
