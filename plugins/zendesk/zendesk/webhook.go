package zendesk

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/plugins/internal/ticketbody"
)

// The headers of a signed webhook request (developer.zendesk.com,
// "Verifying webhook authenticity").
const (
	SignatureHeader          = "X-Zendesk-Webhook-Signature"
	SignatureTimestampHeader = "X-Zendesk-Webhook-Signature-Timestamp"
)

// Sign is Zendesk's signature of a webhook request:
// base64(HMAC-SHA256(secret, timestamp + body)).
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// ParseTimestamp reads the signature timestamp: RFC 3339 (what Zendesk's
// examples show), or (GUESS) Unix seconds.
func ParseTimestamp(ts string) (time.Time, error) {
	ts = strings.TrimSpace(ts)
	if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseInt(ts, 10, 64); err == nil && n > 0 {
		return time.Unix(n, 0), nil
	}
	return time.Time{}, fmt.Errorf("signature timestamp %q is neither an RFC 3339 time nor Unix seconds", ts)
}

// Verify checks a webhook request's signature against secret, in constant
// time, and that its timestamp lies within tolerance of now (either way):
// a captured request cannot be played again later. The error says why a
// request is refused, without the secret or the expected signature.
func Verify(secret, signature, timestamp string, body []byte, now time.Time, tolerance time.Duration) error {
	switch {
	case secret == "":
		return errors.New("webhook_secret is not configured for this integration")
	case signature == "":
		return errors.New("no " + SignatureHeader + " header: the request is not signed")
	case timestamp == "":
		return errors.New("no " + SignatureTimestampHeader + " header")
	}
	want := Sign(secret, timestamp, body)
	if !hmac.Equal([]byte(strings.TrimSpace(signature)), []byte(want)) {
		return errors.New("wrong signature: the signing secret differs, or the body or timestamp changed on the way")
	}
	t, err := ParseTimestamp(timestamp)
	if err != nil {
		return err
	}
	if age := now.Sub(t); age > tolerance || age < -tolerance {
		return fmt.Errorf("stale signature: timestamp %s is %s from now, more than the %s allowed (a replayed request, or a clock far off)",
			timestamp, age.Round(time.Second), tolerance)
	}
	return nil
}

// CommentAddedEvent is the event type of a ticket comment (Zendesk's
// webhook event types, ticket events).
const CommentAddedEvent = "zen:event-type:ticket.comment_added"

// StaffAnswer is a staff member's public comment carried by a webhook.
type StaffAnswer struct {
	TicketID   string
	CommentID  string
	ExternalID string // the ticket's external_id (the review, for Reviewhub's tickets)
	Text       string
	Staff      string
	SentAt     time.Time
}

// WebhookError is a webhook body that carries no answer, with the reason.
type WebhookError struct {
	Reason string
	// NotAnswer: a known event that is not an answer (a note, an end user's
	// comment, another event type, Reviewhub's own comment): nothing to keep.
	NotAnswer bool
	// Malformed: not JSON at all.
	Malformed bool
	// EventID is Zendesk's id of the event, when it could be read.
	EventID string
}

func (e *WebhookError) Error() string { return e.Reason }

// event is the envelope of Zendesk's event webhooks. Ids come as strings in
// the documented examples; numbers are read too.
type event struct {
	Type    string          `json:"type"`
	ID      json.RawMessage `json:"id"`
	Time    string          `json:"time"`
	Subject string          `json:"subject"`
	Detail  *struct {
		ID         json.RawMessage `json:"id"`
		ExternalID json.RawMessage `json:"external_id"`
	} `json:"detail"`
	Event *struct {
		Comment *struct {
			ID       json.RawMessage `json:"id"`
			Body     *string         `json:"body"`
			IsPublic *bool           `json:"is_public"`
			Author   *struct {
				ID      json.RawMessage `json:"id"`
				IsStaff *bool           `json:"is_staff"`
				Name    string          `json:"name"`
			} `json:"author"`
		} `json:"comment"`
	} `json:"event"`
}

// ParseWebhook reads a webhook body. It returns the staff answer of a
// public comment written by staff; otherwise a *WebhookError: NotAnswer for
// events that carry no answer for a known reason, else the reason the body
// could not be read.
func ParseWebhook(body []byte) (StaffAnswer, error) {
	body = bytes.TrimSpace(body)
	var ev event
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&ev); err != nil {
		return StaffAnswer{}, &WebhookError{Reason: "the body is not a JSON object: " + err.Error(), Malformed: true}
	}
	id := flexString(ev.ID)
	fail := func(format string, args ...any) (StaffAnswer, error) {
		return StaffAnswer{}, &WebhookError{Reason: fmt.Sprintf(format, args...), EventID: id}
	}
	quiet := func(reason string) (StaffAnswer, error) {
		return StaffAnswer{}, &WebhookError{Reason: reason, NotAnswer: true, EventID: id}
	}
	switch {
	case ev.Type == "":
		return fail("no event type: not a Zendesk event webhook (subscribe the webhook to %s)", CommentAddedEvent)
	case ev.Type != CommentAddedEvent:
		if strings.HasPrefix(ev.Type, "zen:event-type:") {
			return quiet("event " + ev.Type + " carries no comment")
		}
		return fail("unknown event type %q", ev.Type)
	case ev.Event == nil || ev.Event.Comment == nil:
		return fail("a %s event without event.comment", CommentAddedEvent)
	case ev.Detail == nil:
		return fail("a %s event without detail (the ticket)", CommentAddedEvent)
	}
	c := ev.Event.Comment
	a := StaffAnswer{TicketID: flexString(ev.Detail.ID), CommentID: flexString(c.ID), ExternalID: flexString(ev.Detail.ExternalID)}
	if a.TicketID == "" {
		if rest, ok := strings.CutPrefix(ev.Subject, "zen:ticket:"); ok {
			a.TicketID = rest
		}
	}
	switch {
	case a.TicketID == "" || !isDigits(a.TicketID):
		return fail("no ticket id (detail.id %s)", string(ev.Detail.ID))
	case a.CommentID == "" || !isDigits(a.CommentID):
		return fail("no comment id (event.comment.id %s)", string(c.ID))
	case c.IsPublic == nil:
		return fail("event.comment.is_public is missing")
	case !*c.IsPublic:
		return quiet("an internal note")
	case c.Author == nil || c.Author.IsStaff == nil:
		return fail("event.comment.author.is_staff is missing")
	case !*c.Author.IsStaff:
		return quiet("a comment of an end user, not of staff")
	case c.Body == nil:
		return fail("event.comment.body is missing")
	}
	a.Text = strings.TrimSpace(*c.Body)
	switch {
	case a.Text == "":
		return fail("an empty comment")
	case ticketbody.IsOwn(a.Text):
		return quiet("a comment Reviewhub wrote itself (it ends with a [reviewhub:…] marker)")
	}
	a.Staff = strings.TrimSpace(c.Author.Name)
	if a.Staff == "" {
		a.Staff = "Zendesk agent #" + flexString(c.Author.ID)
	}
	if t, err := time.Parse(time.RFC3339Nano, ev.Time); err == nil {
		a.SentAt = t.UTC()
	}
	return a, nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// IsNotAnswer reports whether err is a WebhookError for an event that
// carries no answer for a known reason.
func IsNotAnswer(err error) bool {
	var we *WebhookError
	return errors.As(err, &we) && we.NotAnswer
}
