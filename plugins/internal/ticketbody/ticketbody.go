// Package ticketbody renders a review change as helpdesk ticket text, the
// same for every helpdesk plugin: the subject, the body (rating, text,
// details, history), the outcome note of a reply, and the marker line that
// makes each delivery recognisable in a ticket so a retry adds nothing twice.
package ticketbody

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/reviewhub/reviewhub/sdk"
)

// Stars renders a rating as ★★☆☆☆.
func Stars(rating int) string {
	rating = max(0, min(rating, 5))
	return strings.Repeat("★", rating) + strings.Repeat("☆", 5-rating)
}

// Marker is the line that makes a delivery recognisable in a ticket, so a
// retried delivery is not added twice.
func Marker(key string) string { return "[reviewhub:" + key + "]" }

// ownMarkerAtEnd is a marker followed by nothing but white space and tags.
var ownMarkerAtEnd = regexp.MustCompile(`\[reviewhub:[^\]\s<>]+\](?:\s|<[^>]*>|&nbsp;)*$`)

// IsOwn reports whether text ends with a Reviewhub marker (its last line,
// text or HTML): text Reviewhub wrote itself, never a staff answer. An
// answer quoting an earlier marker and then adding words is not.
func IsOwn(text string) bool { return ownMarkerAtEnd.MatchString(text) }

// Subject of the ticket for a review.
func Subject(c sdk.ReviewChange) string {
	r := c.Review
	author := r.Author
	if author == "" {
		author = "A user"
	}
	s := fmt.Sprintf("%s %s on %s", Stars(r.Rating), author, c.DisplayStore())
	if c.AppName != "" {
		s += " (" + c.AppName + ")"
	}
	if head := firstNonEmpty(r.Title, r.Text); head != "" {
		s += ": " + head
	}
	return truncate(strings.Join(strings.Fields(s), " "), 150)
}

// Content of the ticket (or of the comment for an edit), ending with the
// marker of key.
func Content(c sdk.ReviewChange, key string) string {
	r := c.Review
	var b strings.Builder
	if c.Kind != sdk.ChangeKindNew {
		fmt.Fprintf(&b, "The review was edited (%s)", c.Kind)
		if prev := c.PreviousRating(); prev != 0 && prev != r.Rating {
			fmt.Fprintf(&b, ": rating %d → %d", prev, r.Rating)
		}
		b.WriteString("\n\n")
	}
	fmt.Fprintf(&b, "%s %d/5\n", Stars(r.Rating), r.Rating)
	if r.Title != "" {
		b.WriteString(r.Title + "\n")
	}
	if r.Text != "" {
		b.WriteString(r.Text + "\n")
	}
	b.WriteString("\n")
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	line("Author", r.Author)
	line("Store", c.DisplayStore())
	line("App", c.AppName)
	line("App version", r.AppVersion)
	line("Country", r.Country)
	line("Language", r.Language)
	line("Device", r.Device)
	line("OS version", r.OSVersion)
	if !r.UpdatedAt.IsZero() {
		line("Date", r.UpdatedAt.UTC().Format("2006-01-02 15:04 UTC"))
	} else if !r.CreatedAt.IsZero() {
		line("Date", r.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	line("Link", r.URL)
	line("Review id", r.ID)
	if r.Reply != nil && r.Reply.Text != "" {
		line("Current developer reply", r.Reply.Text)
	}
	switch {
	case c.CanReply && c.ReplyMaxLength > 0:
		fmt.Fprintf(&b, "Answer here to publish it in the store (at most %d characters).\n", c.ReplyMaxLength)
	case c.CanReply:
		b.WriteString("Answer here to publish it in the store.\n")
	default:
		b.WriteString("Answers cannot be published: connect the store account to reply.\n")
	}
	if len(c.History) > 0 {
		b.WriteString("\nEarlier versions:\n")
		for _, h := range c.History {
			when := ""
			if !h.SeenAt.IsZero() {
				when = h.SeenAt.UTC().Format("2006-01-02") + " "
			}
			fmt.Fprintf(&b, "- %s%s %s", when, Stars(h.Rating), strings.TrimSpace(h.Title+" "+h.Text))
			if h.Reply != nil && h.Reply.Text != "" {
				fmt.Fprintf(&b, " (developer reply: %s)", h.Reply.Text)
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\n" + Marker(key))
	return b.String()
}

// ResultNote is the staff-visible note for a reply's outcome.
func ResultNote(r sdk.ReplyResult) string {
	var s string
	switch r.Outcome {
	case sdk.OutcomePublished:
		s = "Reviewhub: the answer was published in the store as the developer response."
		if r.Detail != "" {
			s += "\n" + r.Detail
		}
	case sdk.OutcomeRefused:
		s = "Reviewhub: the answer was NOT published: " + r.Detail
	case sdk.OutcomeFailed:
		s = "Reviewhub: publishing the answer failed: " + r.Detail
	default:
		// The hub's own notes (draft, outdated, deleted, held): ready to show.
		s = "Reviewhub: " + r.Detail
	}
	return s + "\n" + Marker("result:"+r.MessageID)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// AlertPrefix starts the name of an app's alert thread (AlertThread): a
// helpdesk plugin tells the hub's alert threads from review tickets by it.
const AlertPrefix = "reviewhub-alerts:"

// AlertThread names the one thread of an app's health alerts (a ticket's
// external id, a custom-channel user): the first alert opens it, later
// ones are added to it.
func AlertThread(a sdk.Alert) string { return AlertPrefix + a.IntegrationID + "/" + a.AppID }

// AlertSubject is the subject of an app's alert thread.
func AlertSubject(a sdk.Alert) string {
	return "Reviewhub: health of " + firstNonEmpty(a.AppName, a.AppID) + " (" + a.DisplayStore() + ")"
}

// AlertMarker makes an alert recognisable in its thread, so a repeated
// PostAlert adds it once.
func AlertMarker(a sdk.Alert) string { return Marker("alert:" + a.Key) }
