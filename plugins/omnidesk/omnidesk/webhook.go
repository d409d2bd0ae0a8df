package omnidesk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// StaffAnswer is a staff member's answer carried by a custom-channel webhook.
type StaffAnswer struct {
	CaseID       string
	MessageID    string
	UserCustomID string // the review id (the hub creates one custom-channel user per review)
	Text         string
	Staff        string
	SentAt       time.Time
}

// ErrNotAnswer: the webhook is valid but carries no staff answer (a note,
// a status change…).
var ErrNotAnswer = errors.New("not a staff answer")

// ParseWebhook reads the body Omnidesk posts to a custom channel's URL when
// a staff member answers. The public documentation does not give the exact
// body (README: GUESS), so the parser is tolerant: fields may sit at the top
// level or under "case", "message" or "data", in any order, ids may be
// numbers or strings, and unknown fields are ignored.
func ParseWebhook(body []byte) (StaffAnswer, error) {
	var a StaffAnswer
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return a, fmt.Errorf("the body is not a JSON object: %w", err)
	}
	if dec.More() {
		return a, errors.New("the body has data after the JSON object")
	}
	scopes := []map[string]any{root}
	for _, k := range []string{"data", "case", "message"} {
		if m, ok := root[k].(map[string]any); ok {
			scopes = append(scopes, m)
			for _, kk := range []string{"case", "message"} {
				if mm, ok := m[kk].(map[string]any); ok {
					scopes = append(scopes, mm)
				}
			}
		}
	}
	get := func(keys ...string) (string, error) {
		for _, s := range scopes {
			for _, k := range keys {
				v, ok := s[k]
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
					return "", fmt.Errorf("field %s is %T, want a string or a number", k, v)
				}
			}
		}
		return "", nil
	}
	var err error
	if a.CaseID, err = get("case_id"); err != nil {
		return a, err
	}
	if a.CaseID == "" {
		if a.CaseID, err = get("case_number"); err != nil {
			return a, err
		}
	}
	if a.MessageID, err = get("message_id"); err != nil {
		return a, err
	}
	if a.Text, err = get("content", "content_text", "text"); err != nil {
		return a, err
	}
	if a.UserCustomID, err = get("user_custom_id"); err != nil {
		return a, err
	}
	if a.Staff, err = get("staff_full_name", "staff_email", "staff_id"); err != nil {
		return a, err
	}
	note, err := get("note")
	if err != nil {
		return a, err
	}
	if sent, _ := get("created_at", "sent_at"); sent != "" {
		for _, layout := range []string{time.RFC3339, time.RFC1123Z, "2006-01-02 15:04:05", "Mon, 02 Jan 2006 15:04:05 -0700"} {
			if t, err := time.Parse(layout, sent); err == nil {
				a.SentAt = t.UTC()
				break
			}
		}
	}
	if note == "true" || strings.TrimSpace(a.Text) == "" {
		return a, ErrNotAnswer
	}
	switch {
	case a.CaseID == "":
		return a, errors.New("no case_id")
	case a.MessageID == "":
		return a, errors.New("no message_id")
	}
	return a, nil
}
