package demo

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/reviewhub/reviewhub/hub/internal/stack"
	odfake "github.com/reviewhub/reviewhub/plugins/omnidesk/fake"
	zdfake "github.com/reviewhub/reviewhub/plugins/zendesk/fake"
)

// The helpdesks the demo runs with.
const (
	Omnidesk = "omnidesk"
	Zendesk  = "zendesk"
)

// Helpdesks are the names Options.Helpdesk takes.
var Helpdesks = []string{Omnidesk, Zendesk}

// Ticket is the page's view of a ticket of the fake helpdesk (an Omnidesk
// case or a Zendesk ticket).
type Ticket struct {
	ID, Subject string
	Labels      []string
	// Messages are the review, its edits and the staff's answers, oldest
	// first; Notes the internal notes (the hub's outcome notes).
	Messages, Notes []Message
	// Store and ReviewID name the review the ticket is for (the plugin's
	// review id; empty for a ticket of another kind).
	Store, ReviewID string
}

// Message of a ticket; Staff is the staff member's name, empty for the
// review's own messages.
type Message struct{ Staff, Content string }

// desk is the demo's side of a fake helpdesk: the tickets the page shows
// and a staff member answering one.
type desk interface {
	// connect points the helpdesk's webhook at the hub.
	connect(webhookURL, secret string)
	tickets() []Ticket
	// ticketOf is the ticket of a review by its store and the plugin's id.
	ticketOf(store, reviewID string) (Ticket, bool)
	// answer is a staff member's public answer in ticket id; the fake
	// calls the hub's webhook with it.
	answer(ctx context.Context, id, text string) error
	// title names the helpdesk; noun what it calls a ticket; api where its
	// fake API is and how it signs in.
	title() string
	noun() string
	api() string
}

func newDesk(name string, f *stack.Fakes) (desk, error) {
	switch name {
	case Omnidesk:
		return omnideskDesk{f.Omnidesk, f.URL[Omnidesk]}, nil
	case Zendesk:
		return zendeskDesk{f.Zendesk, f.URL[Zendesk]}, nil
	}
	return nil, fmt.Errorf("helpdesk %q: the demo runs with %s", name, strings.Join(Helpdesks, " or "))
}

type omnideskDesk struct {
	f   *odfake.Server
	url string
}

func (o omnideskDesk) connect(webhookURL, secret string) {
	o.f.SetWebhookURL(webhookURL + "?secret=" + secret)
}

func (o omnideskDesk) tickets() []Ticket {
	cases := o.f.Cases()
	out := make([]Ticket, 0, len(cases))
	for _, c := range cases {
		out = append(out, caseTicket(c))
	}
	return out
}

// ticketOf finds the case by its case field, which holds the review id.
func (o omnideskDesk) ticketOf(_, reviewID string) (Ticket, bool) {
	c, ok := o.f.CaseByReviewID(reviewID)
	return caseTicket(c), ok
}

func (o omnideskDesk) answer(ctx context.Context, id, text string) error {
	_, err := o.f.Answer(ctx, id, text)
	return err
}

func (omnideskDesk) title() string { return "Omnidesk" }
func (omnideskDesk) noun() string  { return "case" }
func (o omnideskDesk) api() string {
	return fmt.Sprintf("%s/api/cases.json  (basic auth %s / %s)", o.url, stack.OmnideskStaff, stack.OmnideskAPIKey)
}

func caseTicket(c odfake.Case) Ticket {
	t := Ticket{ID: c.ID, Subject: c.Subject, Labels: c.Labels}
	// The plugin's custom-channel user is STORE:REVIEW_ID.
	if store, id, ok := strings.Cut(c.UserCustomID, ":"); ok {
		t.Store, t.ReviewID = store, id
	}
	for _, m := range c.Messages {
		t.Messages = append(t.Messages, Message{Staff: m.Staff, Content: m.Content})
	}
	for _, m := range c.Notes {
		t.Notes = append(t.Notes, Message{Staff: m.Staff, Content: m.Content})
	}
	return t
}

type zendeskDesk struct {
	f   *zdfake.Server
	url string
}

func (z zendeskDesk) connect(webhookURL, secret string) { z.f.SetWebhook(webhookURL, secret) }

func (z zendeskDesk) tickets() []Ticket {
	ts := z.f.Tickets()
	out := make([]Ticket, 0, len(ts))
	for _, t := range ts {
		out = append(out, zendeskTicket(t))
	}
	return out
}

func (z zendeskDesk) ticketOf(store, reviewID string) (Ticket, bool) {
	t, ok := z.f.TicketByReview(store, reviewID)
	return zendeskTicket(t), ok
}

func (z zendeskDesk) answer(ctx context.Context, id, text string) error {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return fmt.Errorf("ticket id %q is not a Zendesk ticket id", id)
	}
	_, err = z.f.Answer(ctx, n, text)
	return err
}

func (zendeskDesk) title() string { return "Zendesk" }
func (zendeskDesk) noun() string  { return "ticket" }
func (z zendeskDesk) api() string {
	return fmt.Sprintf("%s/api/v2/tickets.json  (basic auth %s/token / %s)", z.url, stack.ZendeskEmail, stack.ZendeskToken)
}

func zendeskTicket(t zdfake.Ticket) Ticket {
	out := Ticket{ID: strconv.FormatInt(t.ID, 10), Subject: t.Subject, Labels: t.Tags}
	// The plugin's external_id is reviewhub:STORE:REVIEW_ID.
	if rest, ok := strings.CutPrefix(t.ExternalID, "reviewhub:"); ok {
		out.Store, out.ReviewID, _ = strings.Cut(rest, ":")
	}
	for _, c := range t.Public() {
		m := Message{Content: c.Body}
		if c.AuthorID == zdfake.StaffID {
			m.Staff = zdfake.StaffName
		}
		out.Messages = append(out.Messages, m)
	}
	for _, c := range t.Notes() {
		out.Notes = append(out.Notes, Message{Content: c.Body})
	}
	return out
}
