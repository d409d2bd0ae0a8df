// Package notify connects the hub's event stream (hub/events) to the chat
// destinations of notify.destinations: it reads an outbox event as the
// notifier plugins see it (sdk.Event, with the key of its review's
// thread) and decides, per destination, whether the event takes its
// route (event types, integration, the automation's conditions) and
// under which policy (hub/notifypolicy) it is posted.
package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/events"
	"github.com/reviewhub/reviewhub/hub/notifypolicy"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// DefaultEvents are the types a destination without events takes: every
// review and reply event (health changes are alerts of their own).
var DefaultEvents = []string{events.ReviewCreated, events.ReviewUpdated, events.ReplyPublished, events.ReplyRefused, events.ReplyFailed}

// Event is an outbox event as a notifier gets it.
type Event struct {
	sdk.Event
	// Change is a review event's change (new, updated, better, worse).
	Change string
	// ReviewID is the review the event is about ("": none).
	ReviewID string
	// ThreadKey is the same for every event of one review: its
	// integration, app and id ("" for an event of no review).
	ThreadKey string
}

// FromOutbox reads an outbox event (events.Envelope with its data). A
// reply event carries no review: fill Event.Review from the state before
// routing it when the route has review conditions.
func FromOutbox(e state.Event) (Event, error) {
	var env struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(e.Payload, &env); err != nil {
		return Event{}, fmt.Errorf("notify: event %s: %w", e.ID, err)
	}
	out := Event{Event: sdk.Event{ID: e.ID, Type: e.Type, At: e.OccurredAt, IntegrationID: e.IntegrationID}}
	switch e.Type {
	case events.ReviewCreated, events.ReviewUpdated:
		var d events.ReviewData
		if err := json.Unmarshal(env.Data, &d); err != nil {
			return Event{}, fmt.Errorf("notify: event %s (%s): %w", e.ID, e.Type, err)
		}
		r := d.Review
		out.Store, out.StoreName, out.AppID, out.AppName, out.Change, out.ReviewID = d.Store, d.StoreName, d.App, d.AppName, d.Change, r.ID
		out.Review = &sdk.Review{ID: r.ID, AppID: d.App, Author: r.Author, Rating: r.Rating, Title: r.Title, Text: r.Text,
			Language: r.Language, Country: r.Country, AppVersion: r.AppVersion, URL: r.URL, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
		if d.PreviousRating > 0 && d.PreviousRating != r.Rating {
			out.History = []sdk.ReviewVersion{{Rating: d.PreviousRating}}
		}
	case events.ReplyPublished, events.ReplyRefused, events.ReplyFailed:
		var d events.ReplyData
		if err := json.Unmarshal(env.Data, &d); err != nil {
			return Event{}, fmt.Errorf("notify: event %s (%s): %w", e.ID, e.Type, err)
		}
		out.AppID, out.ReviewID = d.App, d.ReviewID
		out.Reply = &sdk.EventReply{Text: d.Text, Staff: d.Staff, Detail: d.Detail}
	case events.AppHealthChanged:
		var d events.HealthData
		if err := json.Unmarshal(env.Data, &d); err != nil {
			return Event{}, fmt.Errorf("notify: event %s (%s): %w", e.ID, e.Type, err)
		}
		out.Store, out.AppID, out.AppName = d.Store, d.App, d.AppName
		out.Health = &sdk.EventHealth{Health: d.Health, Previous: d.Previous, Reason: d.Reason,
			Recovered: d.Health == sdk.HealthOK}
	default:
		return Event{}, fmt.Errorf("notify: event %s: unknown type %q", e.ID, e.Type)
	}
	if out.ReviewID != "" {
		out.ThreadKey = out.IntegrationID + "/" + out.AppID + "/" + out.ReviewID
	}
	return out, nil
}

// Destination is a destination of the configuration, compiled.
type Destination struct {
	Name     string
	Plugin   string
	Settings sdk.Settings
	Policy   notifypolicy.Policy
	types    []string
	integ    string
	when     *rules.Matcher
	hasWhen  bool
}

// Compile compiles the destination d of the configuration (checked by
// config.Validate already; an error here names the field).
func Compile(d config.NotifyDestination) (*Destination, error) {
	m, errs := rules.CompileConditions(d.When, "when")
	if len(errs) > 0 {
		var all []error
		for _, fe := range errs {
			all = append(all, fe)
		}
		return nil, fmt.Errorf("notify: destination %s: %w", d.Name, errors.Join(all...))
	}
	p := notifypolicy.Policy{MaxPerHour: d.MaxPerHour, Urgent: slices.Clone(d.Urgent)}
	if d.QuietHours != "" {
		q, err := notifypolicy.ParseQuietHours(d.QuietHours, d.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("notify: destination %s: %w", d.Name, err)
		}
		p.Quiet = q
	}
	types := d.Events
	if len(types) == 0 {
		types = DefaultEvents
	}
	w := d.When
	hasWhen := len(w.Apps)+len(w.Stores)+len(w.Ratings)+len(w.Languages)+len(w.Countries)+len(w.Keywords)+
		len(w.ExcludeKeywords)+len(w.Changes) > 0 || w.MinWords != nil || w.MaxWords != nil || (w.Text != "" && w.Text != rules.TextAny)
	return &Destination{Name: d.Name, Plugin: d.Plugin, Settings: sdk.Settings(d.Settings), Policy: p,
		types: slices.Clone(types), integ: d.Integration, when: m, hasWhen: hasWhen}, nil
}

// NeedsReview reports whether routing a reply event to d needs its review
// (the route has review conditions).
func (d *Destination) NeedsReview() bool { return d.hasWhen }

// Takes reports whether e takes d's route: its type, its integration, and
// the conditions on its review (an event of no review passes them; a
// reply event whose review is unknown passes only when there are none).
func (d *Destination) Takes(e Event) bool {
	if !slices.Contains(d.types, e.Type) || d.integ != "" && d.integ != e.IntegrationID {
		return false
	}
	if !d.hasWhen || e.Type == events.AppHealthChanged {
		return true
	}
	if e.Review == nil {
		return false
	}
	kind := e.Change
	if kind == "" {
		kind = sdk.ChangeKindUpdated // a reply's review: not new
	}
	return d.when.Match(rules.Input{AppID: e.AppID, AppName: e.AppName, Store: e.Store, StoreName: e.StoreName, Kind: kind, Review: *e.Review})
}
