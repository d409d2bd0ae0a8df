// Package fake is a fake Telegram Bot API written from its documentation
// (https://core.telegram.org/bots/api; the sources of each answer are in
// ../README.md and ../testdata/vendor): methods under /bot<token>/METHOD
// taking JSON or form arguments, answers {"ok": true, "result": …} or
// {"ok": false, "error_code": N, "description": "…"} with
// "parameters": {"retry_after": N} on 429, sendMessage's MarkdownV2 parsed
// as the documentation describes it (a reserved character not escaped is
// refused) and its 4,096-character limit after parsing, and replies.
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
	"time"
	"unicode/utf16"

	"github.com/reviewhub/reviewhub/sdk"
	"github.com/reviewhub/reviewhub/sdk/sdktest/faults"
)

// MaxTextLength is sendMessage's limit after entities parsing; the fake
// counts UTF-16 units (GUESS: the documentation says "characters").
const MaxTextLength = 4096

// Chat is the chat the bot posts to.
const Chat = "-1001234567890"

// Message is a message the fake holds.
type Message struct {
	ID      int64
	ChatID  string
	Text    string // as parsed: what people see
	Source  string // as sent
	ReplyTo int64
}

// Server is the fake. Use New.
type Server struct {
	faults.Faults
	mu     sync.Mutex
	token  string
	member string // the bot's status in Chat
	msgs   []Message
	next   int64
}

// New makes a bot (its token Token()) that is a member of Chat.
func New() *Server {
	return &Server{token: "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11", member: "member", next: 100}
}

// Token is the bot's token.
func (s *Server) Token() string { return s.token }

// Settings are the plugin's settings of the bot on the fake at base.
func (s *Server) Settings(base string) sdk.Settings {
	return sdk.Settings{"bot_token": s.token, "chat_id": Chat, "base_url": base}
}

// SetMember sets the bot's status in Chat ("member", "left", "kicked").
func (s *Server) SetMember(status string) { s.mu.Lock(); s.member = status; s.mu.Unlock() }

// Messages are every message sent, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

func answer(w http.ResponseWriter, status int, v map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, desc string) {
	answer(w, code, map[string]any{"ok": false, "error_code": code, "description": desc})
}

func ok(w http.ResponseWriter, result any) {
	answer(w, 200, map[string]any{"ok": true, "result": result})
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f, isFault := s.Next(); isFault {
		if f.RateLimited {
			sec := int(f.RetryAfter.Seconds())
			answer(w, http.StatusTooManyRequests, map[string]any{"ok": false, "error_code": 429,
				"description": fmt.Sprintf("Too Many Requests: retry after %d", sec), "parameters": map[string]any{"retry_after": sec}})
			return
		}
		fail(w, f.Status, "Injected fault")
		return
	}
	rest, found := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, _ := strings.Cut(rest, "/")
	if !found || token != s.token {
		// The Bot API answers an unknown token 401 Unauthorized.
		fail(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	args, err := readArgs(r)
	if err != nil {
		fail(w, http.StatusBadRequest, "Bad Request: "+err.Error())
		return
	}
	switch method {
	case "sendMessage":
		s.sendMessage(w, args)
	case "getMe":
		ok(w, s.me())
	case "getChatMember":
		s.getChatMember(w, args)
	default:
		fail(w, http.StatusNotFound, "Not Found")
	}
}

// bot is the bot as a User; getMe's answer adds the fields "returned only
// in getMe" (https://core.telegram.org/bots/api#user).
func (s *Server) bot() map[string]any {
	return map[string]any{"id": 123456, "is_bot": true, "first_name": "Reviewhub", "username": "reviewhub_bot"}
}

func (s *Server) me() map[string]any {
	u := s.bot()
	u["can_join_groups"], u["can_read_all_group_messages"], u["supports_inline_queries"] = true, false, false
	u["can_connect_to_business"], u["has_main_web_app"] = false, false
	return u
}

// Seed puts a message into Chat as if the bot had sent it, and returns its id.
func (s *Server) Seed(text string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	s.msgs = append(s.msgs, Message{ID: s.next, ChatID: Chat, Text: text, Source: text})
	return s.next
}

// readArgs reads the parameters: "application/json", form-urlencoded or a
// query string (https://core.telegram.org/bots/api#making-requests).
func readArgs(r *http.Request) (map[string]any, error) {
	args := map[string]any{}
	for k, v := range r.URL.Query() {
		args[k] = v[0]
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if len(body) == 0 {
		return args, nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		if err := json.Unmarshal(body, &args); err != nil {
			return nil, fmt.Errorf("can't parse JSON")
		}
	case "application/x-www-form-urlencoded":
		f, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("can't parse form")
		}
		for k, v := range f {
			args[k] = v[0]
		}
	}
	return args, nil
}

// str reads a parameter that may be a string or a number ("Integer or String").
func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatInt(int64(x), 10)
	}
	return ""
}

func (s *Server) sendMessage(w http.ResponseWriter, args map[string]any) {
	chat := str(args["chat_id"])
	source, _ := args["text"].(string)
	if chat == "" {
		fail(w, 400, "Bad Request: chat_id is empty")
		return
	}
	if chat != Chat {
		fail(w, 400, "Bad Request: chat not found")
		return
	}
	if source == "" {
		fail(w, 400, "Bad Request: message text is empty")
		return
	}
	text := source
	switch mode, _ := args["parse_mode"].(string); mode {
	case "":
	case "MarkdownV2":
		var err error
		if text, err = ParseMarkdownV2(source); err != nil {
			fail(w, 400, "Bad Request: can't parse entities: "+err.Error())
			return
		}
	default:
		fail(w, 400, "Bad Request: unsupported parse_mode") // the fake knows MarkdownV2 only
		return
	}
	if len(utf16.Encode([]rune(text))) > MaxTextLength {
		fail(w, 400, "Bad Request: message is too long")
		return
	}
	var replyTo int64
	allowWithout := false
	if rp, isMap := args["reply_parameters"].(map[string]any); isMap {
		id, _ := strconv.ParseInt(str(rp["message_id"]), 10, 64)
		replyTo = id
		allowWithout, _ = rp["allow_sending_without_reply"].(bool)
	} else if id := str(args["reply_to_message_id"]); id != "" {
		replyTo, _ = strconv.ParseInt(id, 10, 64)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.member != "member" && s.member != "administrator" {
		fail(w, 403, "Forbidden: bot was kicked from the supergroup chat")
		return
	}
	if replyTo != 0 {
		found := false
		for _, m := range s.msgs {
			found = found || m.ID == replyTo
		}
		if !found && !allowWithout {
			fail(w, 400, "Bad Request: message to be replied not found")
			return
		}
		if !found {
			replyTo = 0
		}
	}
	s.next++
	m := Message{ID: s.next, ChatID: chat, Text: text, Source: source, ReplyTo: replyTo}
	s.msgs = append(s.msgs, m)
	result := map[string]any{"message_id": m.ID, "from": s.bot(), "date": time.Now().Unix(), "text": text,
		"chat": map[string]any{"id": -1001234567890, "title": "Reviews", "type": "supergroup"}}
	if replyTo != 0 {
		result["reply_to_message"] = map[string]any{"message_id": replyTo, "date": time.Now().Unix(),
			"chat": map[string]any{"id": -1001234567890, "title": "Reviews", "type": "supergroup"}}
	}
	ok(w, result)
}

func (s *Server) getChatMember(w http.ResponseWriter, args map[string]any) {
	if str(args["chat_id"]) != Chat {
		fail(w, 400, "Bad Request: chat not found")
		return
	}
	s.mu.Lock()
	status := s.member
	s.mu.Unlock()
	ok(w, map[string]any{"status": status, "user": s.bot()})
}

// ParseMarkdownV2 is the text a MarkdownV2 source shows, or the reason
// Telegram refuses it, following https://core.telegram.org/bots/api#markdownv2-style:
// entities *bold*, _italic_, __underline__, ~strikethrough~, ||spoiler||,
// `code`, ```pre```, [text](url) and > quotes at a line's start; "any
// character with code between 1 and 126 inclusively can be escaped
// anywhere with a preceding '\'"; inside code and pre only '`' and '\'
// are escaped, inside a link's (...) only ')' and '\'; everywhere else
// the reserved characters must be escaped. (GUESS: the refusal's wording
// beyond "Character 'X' is reserved and must be escaped with the
// preceding '\'", which Telegram's answers show.)
func ParseMarkdownV2(src string) (string, error) {
	rs := []rune(src)
	var out strings.Builder
	open := map[string]bool{}
	inLink := false
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == '\\':
			if i+1 >= len(rs) || rs[i+1] < 1 || rs[i+1] > 126 {
				return "", parseErrorf("Character '\\' is reserved and must be escaped with the preceding '\\'")
			}
			i++
			out.WriteRune(rs[i])
		case c == '`':
			fence := i+2 < len(rs) && rs[i+1] == '`' && rs[i+2] == '`'
			if fence {
				i += 2
			}
			closed := false
			for i++; i < len(rs); i++ {
				if rs[i] == '\\' && i+1 < len(rs) && (rs[i+1] == '`' || rs[i+1] == '\\') {
					i++
					out.WriteRune(rs[i])
					continue
				}
				if rs[i] == '`' {
					if fence && !(i+2 < len(rs) && rs[i+1] == '`' && rs[i+2] == '`') {
						out.WriteRune(rs[i])
						continue
					}
					if fence {
						i += 2
					}
					closed = true
					break
				}
				out.WriteRune(rs[i])
			}
			if !closed {
				return "", parseErrorf("Can't find end of the entity starting at byte offset %d", len(string(rs[:i])))
			}
		case c == '*' || c == '~':
			open[string(c)] = !open[string(c)]
		case c == '_':
			key := "_"
			if i+1 < len(rs) && rs[i+1] == '_' {
				key = "__"
				i++
			}
			open[key] = !open[key]
		case c == '|':
			if i+1 >= len(rs) || rs[i+1] != '|' {
				return "", parseErrorf("Character '|' is reserved and must be escaped with the preceding '\\'")
			}
			i++
			open["||"] = !open["||"]
		case c == '[':
			if inLink {
				return "", parseErrorf("Character '[' is reserved and must be escaped with the preceding '\\'")
			}
			inLink = true
		case c == ']' && inLink:
			inLink = false
			if i+1 >= len(rs) || rs[i+1] != '(' {
				return "", parseErrorf("Character ']' is reserved and must be escaped with the preceding '\\'")
			}
			closed := false
			for i += 2; i < len(rs); i++ {
				if rs[i] == '\\' && i+1 < len(rs) && (rs[i+1] == ')' || rs[i+1] == '\\') {
					i++
					continue
				}
				if rs[i] == ')' {
					closed = true
					break
				}
			}
			if !closed {
				return "", parseErrorf("Can't find end of a URL")
			}
		case c == '>' && (i == 0 || rs[i-1] == '\n'):
			// a quote's line
		case strings.ContainsRune("_*[]()~`>#+-=|{}.!", c):
			return "", parseErrorf("Character '%c' is reserved and must be escaped with the preceding '\\'", c)
		default:
			out.WriteRune(c)
		}
	}
	for k, v := range open {
		if v {
			return "", parseErrorf("Can't find end of %s entity", map[string]string{"*": "Bold", "_": "Italic", "__": "Underline",
				"~": "Strikethrough", "||": "Spoiler"}[k])
		}
	}
	if inLink {
		return "", parseErrorf("Can't find end of TextUrl entity")
	}
	return out.String(), nil
}

// parseError is a refusal in Telegram's own words (capitalised as it
// writes them).
type parseError string

func (e parseError) Error() string { return string(e) }

func parseErrorf(format string, args ...any) error { return parseError(fmt.Sprintf(format, args...)) }
