package omnidesk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/plugins/internal/ticketbody"
	"github.com/reviewhub/reviewhub/sdk"
)

// StaffAnswer is a staff member's answer carried by a custom-channel webhook.
type StaffAnswer struct {
	CaseID       string
	MessageID    string
	UserCustomID string // the custom-channel user ("STORE:REVIEW_ID": one user per review)
	Text         string
	Staff        string
	SentAt       time.Time
}

// ErrNotAnswer: the webhook was read, and it carries no staff answer for a
// known reason (a note, a message sent by an automation rule, a message of
// the user, a message Reviewhub wrote itself).
var ErrNotAnswer = errors.New("not a staff answer")

// ErrUnreadable: the webhook could not be read as a new-message event (an
// unknown shape or event type, no content, no author, no ids).
var ErrUnreadable = errors.New("unreadable custom channel webhook")

// WebhookError says why a webhook carries no answer. errors.Is(err,
// ErrNotAnswer) or errors.Is(err, ErrUnreadable) tells the two kinds apart.
type WebhookError struct {
	Kind      error  // ErrNotAnswer or ErrUnreadable
	Reason    string // what was seen, without values from the body
	MessageID string // the message id, when the body has one
	// Malformed: the body is neither a JSON object nor a form.
	Malformed bool
}

func (e *WebhookError) Error() string { return e.Kind.Error() + ": " + e.Reason }
func (e *WebhookError) Unwrap() error { return e.Kind }

// EventMessageNew is the only event type the plugin reads.
const EventMessageNew = "message_new"

// ownMarker starts every marker line Reviewhub writes into a case (see Marker).
const ownMarker = "[reviewhub:"

// IsOwn reports whether content was written by Reviewhub: every case body,
// edit message and outcome note it writes carries a marker line.
//
// The marker must end the content (its last line, in text or HTML), as the
// plugin writes it: a staff answer that quotes an earlier hub message, with
// the marker somewhere inside, is still an answer.
func IsOwn(content string) bool { return ticketbody.IsOwn(content) }

// ParseWebhook reads the body Omnidesk posts to a custom channel's webhook
// URL. The one public consumer that documents it (README: palachX
// laravel-omnidesk) shows {"type":"message_new","object":{message_id,
// case_id, staff_id, user_id, custom_user_id, content, note,
// sent_via_rule}}; the one production bot found (GoEdgar/omnidesk_bot)
// reads the same fields form-encoded as object[content]. Both encodings are
// read. Omnidesk itself publishes no format (GUESS), so the older guessed
// shapes stay accepted: fields at the top level or under "data", "case" or
// "message"; ids may be numbers or strings; booleans may be true/false, 1/0
// or "1"/"0".
//
// It returns the answer, or a *WebhookError: ErrNotAnswer for notes,
// rule-sent messages, user messages and Reviewhub's own messages;
// ErrUnreadable for anything it cannot read.
func ParseWebhook(body []byte) (StaffAnswer, error) {
	root, err := decodeWebhook(body)
	if err != nil {
		return StaffAnswer{}, &WebhookError{Kind: ErrUnreadable, Reason: err.Error(), Malformed: true}
	}
	scopes, err := webhookScopesOf(root)
	if err != nil {
		return StaffAnswer{}, &WebhookError{Kind: ErrUnreadable, Reason: err.Error()}
	}
	m, err := readWebhookMessage(scopes)
	if err != nil {
		return m.StaffAnswer, &WebhookError{Kind: ErrUnreadable, Reason: err.Error(), MessageID: m.MessageID}
	}
	if err := m.refusal(); err != nil {
		return m.StaffAnswer, err
	}
	a := m.StaffAnswer
	a.Staff = m.staff()
	return a, nil
}

// webhookScopes are the objects of a webhook body its fields are looked
// for in, in order: the first that has a field gives its value.
type webhookScopes []map[string]any

// webhookScopesOf finds the scopes of a body: a documented message_new
// event's object (and its message), or, in the older guessed shapes, the
// top level and the objects under "object", "data", "case" and "message"
// (and their own "case" and "message").
func webhookScopesOf(root map[string]any) (webhookScopes, error) {
	var scopes webhookScopes
	if typ, typed := root["type"]; typed {
		t, ok := typ.(string)
		if !ok || t != EventMessageNew {
			return nil, fmt.Errorf("event type %s is not %s", eventName(typ), EventMessageNew)
		}
		obj, ok := root["object"].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("a %s event without an object", EventMessageNew)
		}
		scopes = append(scopes, obj)
		if m, ok := obj["message"].(map[string]any); ok {
			scopes = append(scopes, m)
		}
		return scopes, nil
	}
	// Older guessed shapes (no public source; kept for tolerance).
	scopes = append(scopes, root)
	for _, k := range []string{"object", "data", "case", "message"} {
		if m, ok := root[k].(map[string]any); ok {
			scopes = append(scopes, m)
			for _, kk := range []string{"case", "message"} {
				if mm, ok := m[kk].(map[string]any); ok {
					scopes = append(scopes, mm)
				}
			}
		}
	}
	return scopes, nil
}

// get returns the first of keys found in the scopes as a string (a number
// or a boolean written out), "" when none is there. A field of another type
// (an object, an array) is an error naming it.
func (s webhookScopes) get(keys ...string) (string, error) {
	for _, scope := range s {
		for _, k := range keys {
			v, ok := scope[k]
			if !ok || v == nil {
				continue
			}
			switch x := v.(type) {
			case string:
				return x, nil
			case json.Number:
				return x.String(), nil
			case bool:
				return fmt.Sprint(x), nil
			default:
				return "", fmt.Errorf("field %s is %s, want a string or a number", k, describe(v))
			}
		}
	}
	return "", nil
}

// flag reads a boolean field written true/false, 1/0 or "1"/"0"; a missing
// one is false.
func (s webhookScopes) flag(k string) (bool, error) {
	v, err := s.get(k)
	if err != nil {
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, fmt.Errorf("field %s is neither true nor false", k)
}

// webhookMessage is what a webhook says about a new message: the answer's
// fields (all but Staff) and what decides whether it is a staff answer.
type webhookMessage struct {
	StaffAnswer
	note, rule bool // a note; sent by an automation rule
	staffID    string
	staffName  string // staff_full_name, else staff_email
	userID     string
}

// readWebhookMessage reads the message's fields from the scopes, stopping
// at the first that cannot be read; the fields read until then are set
// (the message id first).
func readWebhookMessage(s webhookScopes) (webhookMessage, error) {
	var m webhookMessage
	var err error
	text := func(dst *string, keys ...string) {
		if err == nil {
			*dst, err = s.get(keys...)
		}
	}
	flag := func(dst *bool, k string) {
		if err == nil {
			*dst, err = s.flag(k)
		}
	}
	text(&m.MessageID, "message_id")
	text(&m.CaseID, "case_id", "case_number")
	text(&m.Text, "content", "content_text", "text")
	text(&m.UserCustomID, "custom_user_id", "user_custom_id")
	flag(&m.note, "note")
	flag(&m.rule, "sent_via_rule")
	text(&m.staffID, "staff_id")
	text(&m.staffName, "staff_full_name", "staff_email")
	text(&m.userID, "user_id")
	if err != nil {
		return m, err
	}
	if sent, _ := s.get("created_at", "sent_at"); sent != "" {
		m.SentAt = parseSentAt(sent)
	}
	return m, nil
}

// parseSentAt reads a message's time in the layouts seen or guessed (zero
// when none fits).
func parseSentAt(sent string) time.Time {
	for _, layout := range []string{time.RFC3339, time.RFC1123Z, "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, sent); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func (m webhookMessage) fromStaff() bool {
	return (m.staffID != "" && m.staffID != "0") || m.staffName != ""
}

// refusal says why the message is not a staff answer (a *WebhookError:
// ErrNotAnswer for a known reason, ErrUnreadable when something is
// missing), or nil when it is one.
func (m webhookMessage) refusal() error {
	notAnswer := func(reason string) error {
		return &WebhookError{Kind: ErrNotAnswer, Reason: reason, MessageID: m.MessageID}
	}
	unreadable := func(reason string) error {
		return &WebhookError{Kind: ErrUnreadable, Reason: reason, MessageID: m.MessageID}
	}
	switch {
	case m.note:
		return notAnswer("a note (visible to staff only)")
	case m.rule:
		return notAnswer("a message sent by an automation rule")
	case IsOwn(m.Text):
		return notAnswer("a message Reviewhub wrote itself (it carries a " + ownMarker + "…] marker)")
	case !m.fromStaff() && m.userID != "" && m.userID != "0":
		return notAnswer("a message of the user, not of staff")
	case strings.TrimSpace(m.Text) == "":
		return unreadable("no content")
	case !m.fromStaff():
		return unreadable("no author: neither staff_id nor user_id")
	case m.CaseID == "":
		return unreadable("no case_id")
	case m.MessageID == "":
		return unreadable("no message_id")
	}
	return nil
}

// staff names the answer's author: the staff member's name (or e-mail),
// else their id.
func (m webhookMessage) staff() string {
	if m.staffName != "" {
		return m.staffName
	}
	return "Omnidesk staff #" + m.staffID
}

// WebhookShape is the structure of a webhook body without its values (safe
// to log): sdk.ShapeOf for JSON, and for a form the shape of the object it
// stands for.
func WebhookShape(body []byte) string {
	if isJSON(body) {
		return sdk.ShapeOf(body)
	}
	root, err := decodeWebhook(body)
	if err != nil {
		return sdk.ShapeOf(body)
	}
	b, err := json.Marshal(root)
	if err != nil {
		return sdk.ShapeOf(body)
	}
	return "form " + sdk.ShapeOf(b)
}

func isJSON(body []byte) bool {
	t := bytes.TrimSpace(body)
	return len(t) > 0 && (t[0] == '{' || t[0] == '[' || t[0] == '"')
}

// decodeWebhook reads a JSON object or a form (application/x-www-form-
// urlencoded with PHP-style keys such as object[content]) into a map.
func decodeWebhook(body []byte) (map[string]any, error) {
	if isJSON(body) {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var root map[string]any
		if err := dec.Decode(&root); err != nil {
			return nil, fmt.Errorf("the body is not a JSON object: %v", err)
		}
		if dec.More() {
			return nil, errors.New("the body has data after the JSON object")
		}
		if root == nil {
			return nil, errors.New("the body is JSON null")
		}
		return root, nil
	}
	t := strings.TrimSpace(string(body))
	if t == "" {
		return nil, errors.New("the body is empty")
	}
	form, err := url.ParseQuery(t)
	if err != nil {
		return nil, fmt.Errorf("the body is neither JSON nor a form: %v", err)
	}
	root := map[string]any{}
	for k, vs := range form {
		if len(vs) == 0 || !validFormKey(k) {
			return nil, errors.New("the body is neither JSON nor a form")
		}
		path := formPath(k)
		m := root
		for i, p := range path {
			if i == len(path)-1 {
				if _, taken := m[p].(map[string]any); !taken {
					m[p] = vs[len(vs)-1]
				}
				break
			}
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
	}
	return root, nil
}

// validFormKey accepts name or name[a][b], names of letters, digits, _ and -.
func validFormKey(k string) bool {
	if k == "" {
		return false
	}
	depth := 0
	for _, r := range k {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case r == '_' || r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
		default:
			return false
		}
		if depth < 0 || depth > 1 {
			return false
		}
	}
	return depth == 0
}

// formPath splits object[message][content] into object, message, content.
func formPath(k string) []string {
	name, rest, _ := strings.Cut(k, "[")
	path := []string{name}
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, "]")
		rest = strings.TrimPrefix(rest, "[")
		path = append(path, part)
	}
	return path
}

// eventName quotes an event type when it looks like one (short, lower-case
// letters and underscores), and describes it otherwise.
func eventName(v any) string {
	if s, ok := v.(string); ok && len(s) > 0 && len(s) <= 40 && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz_") == "" {
		return fmt.Sprintf("%q", s)
	}
	return describe(v)
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("a string of %d characters", len(x))
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}
